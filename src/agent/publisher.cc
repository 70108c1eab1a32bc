#include "agent/publisher.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include <thread>

namespace sp {

Publisher::Publisher(PublisherOptions options) : options_(std::move(options)) {
  static const int init = mosquitto_lib_init();
  (void)init;
  // clean_session = false: the broker keeps the device's session across reconnects.
  mosq_ = mosquitto_new(options_.client_id.c_str(), false, this);
}

Publisher::~Publisher() {
  if (mosq_) {
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
}

void Publisher::OnConnect(mosquitto*, void* self, int rc) {
  auto* p = static_cast<Publisher*>(self);
  if (rc == 0) {
    p->connected_ = true;
    spdlog::info("agent: connected to {}:{} as {}", p->options_.host, p->options_.port, p->options_.client_id);
  } else {
    spdlog::error("agent: the broker refused the connection: {}", mosquitto_connack_string(rc));
  }
}

void Publisher::OnDisconnect(mosquitto*, void* self, int rc) {
  auto* p = static_cast<Publisher*>(self);
  if (p->connected_.exchange(false) && rc != 0) spdlog::warn("agent: connection lost; reconnecting");
}

void Publisher::OnPublish(mosquitto*, void* self, int) { ++static_cast<Publisher*>(self)->acknowledged_; }

Status Publisher::Start() {
  if (!mosq_) return Status::Unavailable("mosquitto_new failed");
  mosquitto_connect_callback_set(mosq_, OnConnect);
  mosquitto_disconnect_callback_set(mosq_, OnDisconnect);
  mosquitto_publish_callback_set(mosq_, OnPublish);
  // Before connect: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms to each message.
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  if (!options_.username.empty()) {
    mosquitto_username_pw_set(mosq_, options_.username.c_str(), options_.password.c_str());
  }
  if (options_.tls) {
    auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    int rc = mosquitto_tls_set(mosq_, opt(options_.ca_file), options_.ca_file.empty() ? "/etc/ssl/certs" : nullptr,
                               opt(options_.cert_file), opt(options_.key_file), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return Status::InvalidArgument(std::string("TLS: ") + mosquitto_strerror(rc));
  }
  mosquitto_reconnect_delay_set(mosq_, 1, 30, true);
  int rc = mosquitto_connect_async(mosq_, options_.host.c_str(), options_.port, options_.keepalive_s);
  if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO) {
    return Status::Unavailable(std::string("connect: ") + mosquitto_strerror(rc));
  }
  // The loop thread retries a failed first connect too.
  rc = mosquitto_loop_start(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) return Status::Unavailable(std::string("loop_start: ") + mosquitto_strerror(rc));
  return Status::OK();
}

Status Publisher::Publish(const std::string& topic, const std::string& payload) {
  if (!connected_) return Status::Unavailable("not connected to the broker");
  int mid = 0;
  int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
  if (rc != MOSQ_ERR_SUCCESS) return Status::Unavailable(std::string("publish: ") + mosquitto_strerror(rc));
  ++published_;
  return Status::OK();
}

void Publisher::Stop(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (acknowledged_ < published_ && connected_ && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
}

}  // namespace sp
