#include "agent/publisher.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <spdlog/spdlog.h>

namespace sp {

namespace {

// How long the broker keeps the session of a device that went away (MQTT 5; 3.1.1 sessions
// without clean session are kept until the broker's own limit).
constexpr uint32_t kSessionExpiryS = 7 * 86400;

}  // namespace

Publisher::Publisher(PublisherOptions options, EventFn on_event)
    : options_(std::move(options)), on_event_(std::move(on_event)) {
  static const int init = mosquitto_lib_init();
  (void)init;
  // clean_session = false: the broker keeps the device's session across reconnects.
  mosq_ = mosquitto_new(options_.mqtt.client_id.c_str(), false, this);
}

Publisher::~Publisher() {
  if (mosq_) {
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
}

void Publisher::OnConnect(mosquitto* mosq, void* self, int rc) {
  auto* p = static_cast<Publisher*>(self);
  if (rc == 0) {
    p->connected_ = true;
    spdlog::info("agent: connected to {}:{} as {} (MQTT {})", p->options_.broker.host, p->options_.broker.port,
                 p->options_.mqtt.client_id, p->version_ == 5 ? "5" : "3.1.1");
    p->on_event_({PublisherEvent::Kind::kConnected});
    return;
  }
  // A broker that speaks only 3.1.1 answers a version-5 CONNECT with "unacceptable protocol
  // version"; under `auto` the next attempt (the network thread retries) speaks 3.1.1.
  if ((rc == CONNACK_REFUSED_PROTOCOL_VERSION || rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION) &&
      p->options_.mqtt.protocol == "auto" && p->version_ == 5) {
    p->version_ = 4;
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    spdlog::info("agent: the broker refused MQTT 5; trying 3.1.1");
    return;
  }
  spdlog::error("agent: the broker refused the connection: {}",
                p->version_ == 5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
}

void Publisher::OnDisconnect(mosquitto*, void* self, int rc) {
  auto* p = static_cast<Publisher*>(self);
  if (!p->connected_.exchange(false)) return;
  if (rc != 0) spdlog::warn("agent: connection lost; reconnecting");
  p->on_event_({PublisherEvent::Kind::kDisconnected});
}

void Publisher::OnPublish(mosquitto*, void* self, int mid, int reason, const mosquitto_property*) {
  static_cast<Publisher*>(self)->on_event_({PublisherEvent::Kind::kAcked, mid, reason});
}

Status Publisher::Start() {
  if (!mosq_) return Status::Unavailable("mosquitto_new failed");
  mosquitto_connect_callback_set(mosq_, OnConnect);
  mosquitto_disconnect_callback_set(mosq_, OnDisconnect);
  mosquitto_publish_v5_callback_set(mosq_, OnPublish);
  // Before connect: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms to each message.
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  version_ = options_.mqtt.protocol == "3.1.1" ? 4 : 5;
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, version_ == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  mosquitto_max_inflight_messages_set(mosq_, static_cast<unsigned>(options_.max_inflight));
  if (!options_.mqtt.username.empty()) {
    mosquitto_username_pw_set(mosq_, options_.mqtt.username.c_str(), options_.mqtt.password.c_str());
  }
  if (options_.broker.tls) {
    auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    int rc =
        mosquitto_tls_set(mosq_, opt(options_.mqtt.ca_file), options_.mqtt.ca_file.empty() ? "/etc/ssl/certs" : nullptr,
                          opt(options_.mqtt.cert_file), opt(options_.mqtt.key_file), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return Status::InvalidArgument(std::string("TLS: ") + mosquitto_strerror(rc));
  }
  // A device retries every few seconds at most: reconnecting is cheap, and a backlog waits meanwhile.
  mosquitto_reconnect_delay_set(mosq_, 1, 10, true);
  // libmosquitto keeps the CONNECT properties for every reconnect. The first connect blocks;
  // when it fails (no broker yet) the network thread keeps trying.
  mosquitto_property* props = nullptr;
  mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, kSessionExpiryS);
  int rc = mosquitto_connect_bind_v5(mosq_, options_.broker.host.c_str(), options_.broker.port,
                                     options_.mqtt.keepalive_s, nullptr, version_ == 5 ? props : nullptr);
  mosquitto_property_free_all(&props);
  if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO && rc != MOSQ_ERR_TLS) {
    return Status::Unavailable(std::string("connect: ") + mosquitto_strerror(rc));
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    spdlog::warn("agent: cannot reach the broker at {}:{} yet ({}{}); readings are spooled meanwhile",
                 options_.broker.host, options_.broker.port, rc == MOSQ_ERR_TLS ? "TLS handshake failed: " : "",
                 rc == MOSQ_ERR_TLS ? "check ca_file, cert_file and key_file" : mosquitto_strerror(rc));
  }
  rc = mosquitto_loop_start(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) return Status::Unavailable(std::string("loop_start: ") + mosquitto_strerror(rc));
  return Status::OK();
}

Result<int> Publisher::Publish(const std::string& topic, std::string_view payload) {
  if (!connected_) return Status::Unavailable("not connected to the broker");
  int mid = 0;
  int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
  if (rc != MOSQ_ERR_SUCCESS) return Status::Unavailable(std::string("publish: ") + mosquitto_strerror(rc));
  return mid;
}

void Publisher::Stop() {
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
}

}  // namespace sp
