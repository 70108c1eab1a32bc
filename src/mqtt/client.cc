#include "mqtt/client.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <random>

namespace sp {

namespace {
constexpr int64_t kSendTimeoutUs = 10'000'000;
// Each read asks the reader for room for at least this much, and takes all the room there is:
// at a burst, one read (one system call) brings hundreds of packets.
constexpr size_t kMinRead = 128 * 1024;
}  // namespace

MqttSubscriber::MqttSubscriber(MqttClientOptions options, Clock* clock, Metrics* metrics)
    : options_(std::move(options)),
      clock_(clock),
      client_id_(options_.client_id),
      keepalive_s_(options_.keepalive_s),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      reader_(options_.max_payload_bytes),  // StartConnect sets the version of each connection
      attempt_version_(options_.protocol == MqttProtocol::kV311 ? mqtt::Version::kV311 : mqtt::Version::kV5),
      version_flag_(attempt_version_),
      backoff_(options_.reconnect_min),
      connected_(metrics->GetGauge("sensorpipe_mqtt_connected", "1 while connected and subscribed to the broker.")),
      protocol_level_(metrics->GetGauge("sensorpipe_mqtt_protocol_level",
                                        "MQTT protocol level of the broker connection: 4 = 3.1.1, 5 = MQTT 5, "
                                        "0 while down.")),
      reconnects_(metrics->GetCounter("sensorpipe_mqtt_reconnects_total",
                                      "Connections established to the broker after the first.")),
      protocol_errors_(metrics->GetCounter("sensorpipe_mqtt_protocol_errors_total",
                                           "Malformed or unexpected packets from the broker.")),
      bytes_received_(metrics->GetCounter("sensorpipe_mqtt_bytes_received_total", "Bytes read from the broker.")),
      subscribe_failures_(metrics->GetCounter("sensorpipe_mqtt_subscribe_failures_total",
                                              "Topic filters the broker refused in a SUBACK.")) {}

MqttSubscriber::~MqttSubscriber() {
  transport_.reset();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void MqttSubscriber::Wakeup() {
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void MqttSubscriber::SetConnected(bool up) {
  connected_flag_.store(up, std::memory_order_relaxed);
  connected_->Set(up ? 1 : 0);
  protocol_level_->Set(up ? static_cast<int>(attempt_version_) : 0);
}

mqtt::Version MqttSubscriber::NextVersion() const {
  switch (options_.protocol) {
    case MqttProtocol::kV311:
      return mqtt::Version::kV311;
    case MqttProtocol::kV5:
      return mqtt::Version::kV5;
    case MqttProtocol::kAuto:
      break;
  }
  return v311_only_ || try_v311_ ? mqtt::Version::kV311 : mqtt::Version::kV5;
}

void MqttSubscriber::DropTransport() {
  transport_.reset();
  reader_.Reset(attempt_version_);  // frees the buffer; StartConnect sets the next version
  phase_ = Phase::kDown;
  SetConnected(false);
}

std::chrono::milliseconds MqttSubscriber::Jittered(std::chrono::milliseconds base) {
  // "Equal jitter": half fixed, half random, so many daemons do not reconnect in step.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t half = std::max<int64_t>(base.count() / 2, 1);
  return std::chrono::milliseconds(half + std::uniform_int_distribution<int64_t>(0, half)(rng));
}

Status MqttSubscriber::StartConnect() {
  attempt_version_ = NextVersion();
  version_flag_.store(attempt_version_, std::memory_order_relaxed);
  version_refused_ = false;
  if (options_.tls) {
    SP_ASSIGN_OR_RETURN(transport_, ConnectTls(options_.host, options_.port, options_.tls_options,
                                               options_.connect_timeout, wake_fd_, clock_));
  } else {
    SP_ASSIGN_OR_RETURN(transport_,
                        ConnectTcp(options_.host, options_.port, options_.connect_timeout, wake_fd_, clock_));
  }
  reader_.Reset(attempt_version_);
  ++session_;  // before any PUBLISH of this connection is decoded
  ping_outstanding_ = false;
  stray_logged_ = false;
  keepalive_s_ = std::clamp(options_.keepalive_s, 0, 65535);  // until a CONNACK says otherwise
  last_received_us_ = clock_->MonotonicMicros();
  std::string out;
  mqtt::ConnectOptions co;
  co.version = attempt_version_;
  co.client_id = client_id_;
  co.username = options_.username;
  co.password = options_.password;
  co.keepalive_s = static_cast<uint16_t>(keepalive_s_);
  co.clean_session = options_.clean_session;
  if (attempt_version_ == mqtt::Version::kV5) {
    // Without a Session Expiry Interval an MQTT 5 session ends with the connection, clean start
    // or not: the persistence this client relies on must be asked for.
    if (!options_.clean_session && options_.session_expiry_s > 0) {
      co.properties.session_expiry_s = options_.session_expiry_s;
    }
    co.properties.receive_maximum = std::max<uint16_t>(options_.receive_maximum, 1);
    // No Maximum Packet Size, on purpose. A broker must not send a client a packet larger than
    // the client's Maximum Packet Size: it drops the message for that client, silently (MQTT 5
    // 3.1.2.11.4). An oversize message must instead reach us, so that ingest writes it to the
    // error output as "oversize" instead of losing it without a trace; the PacketReader already
    // keeps memory bounded by truncating it. Likewise no Topic Alias Maximum: 0, no aliases.
  }
  mqtt::EncodeConnect(co, &out);
  phase_ = Phase::kAwaitConnack;
  phase_deadline_us_ = clock_->MonotonicMicros() + ConnectTimeoutUs();
  return Send(out);
}

void MqttSubscriber::ConnectFailed(const Status& why) {
  const bool not_v5 = std::exchange(version_refused_, false) && attempt_version_ == mqtt::Version::kV5;
  DropTransport();
  const int64_t now = clock_->MonotonicMicros();
  if (options_.protocol == MqttProtocol::kAuto && not_v5) {
    // Fall back to 3.1.1 at once and without a log line yet: if 3.1.1 is accepted, that logs
    // the fallback once (HandlePacket); if it fails too, that failure is logged as any other.
    try_v311_ = true;
    v5_refusal_ = std::string(why.message());
    next_attempt_us_ = now;
    return;
  }
  if (attempt_version_ == mqtt::Version::kV311) try_v311_ = false;  // see MqttProtocol::kAuto
  if (!outage_logged_) {
    spdlog::warn("mqtt: cannot connect to {}:{}: {} (retrying every {}-{} ms)", options_.host, options_.port,
                 why.ToString(), options_.reconnect_min.count(), options_.reconnect_max.count());
    outage_logged_ = true;
    outage_since_us_ = now;
    failed_attempts_ = 0;
  }
  ++failed_attempts_;
  next_attempt_us_ = now + Jittered(backoff_).count() * 1000;
  backoff_ = std::min(options_.reconnect_max, backoff_ * 2);
}

void MqttSubscriber::Close(const Status& why) {
  if (phase_ != Phase::kUp && phase_ != Phase::kAwaitSuback) {
    ConnectFailed(why);  // lost during the handshake: part of the same outage
    return;
  }
  spdlog::warn("mqtt: connection to {}:{} lost: {}", options_.host, options_.port, why.ToString());
  const int64_t now = clock_->MonotonicMicros();
  // A connection that lived a while earns a quick reconnect; one dropped right after it came up
  // (a broker kicking a duplicate client id, say) keeps backing off, so flapping stays slow.
  if (now - up_since_us_ >= options_.reconnect_max.count() * 1000) backoff_ = options_.reconnect_min;
  DropTransport();
  outage_logged_ = true;  // the loss was logged; failed retries after it need no more lines
  outage_since_us_ = now;
  failed_attempts_ = 0;
  next_attempt_us_ = now + Jittered(backoff_).count() * 1000;
  backoff_ = std::min(options_.reconnect_max, backoff_ * 2);
}

Status MqttSubscriber::Send(const std::string& bytes) {
  if (!transport_) return Status::Unavailable("not connected");
  std::string_view rest = bytes;
  const int64_t deadline = clock_->MonotonicMicros() + kSendTimeoutUs;
  while (!rest.empty()) {
    auto n = transport_->Write(rest);
    if (!n.ok()) return n.status();
    rest.remove_prefix(*n);
    if (rest.empty()) break;
    // The socket buffer is full: the broker is slow to read. Wait for room, but not forever.
    // (Wakeup is not honoured here: these are a few bytes, and a half-sent packet cannot be left.)
    if (WaitFd(transport_->fd(), POLLOUT, -1, deadline, clock_) == WaitResult::kTimeout) {
      return Status::Unavailable("send to the broker timed out");
    }
  }
  last_sent_us_ = clock_->MonotonicMicros();
  return Status::OK();
}

Status MqttSubscriber::CheckTimers(int64_t* next_timer_us) {
  const int64_t now = clock_->MonotonicMicros();
  *next_timer_us = INT64_MAX;
  if (phase_ == Phase::kAwaitConnack || phase_ == Phase::kAwaitSuback) {
    // A broker resuming our session sends the messages it queued before it reads the SUBSCRIBE,
    // so a large backlog can hold the SUBACK back for longer than the timeout. While packets keep
    // coming the broker is working, so the SUBACK's wait counts from the last bytes received:
    // giving up would cost a reconnect and the redelivery of everything not yet acknowledged.
    const int64_t deadline = phase_ == Phase::kAwaitConnack
                                 ? phase_deadline_us_
                                 : std::max(phase_deadline_us_, last_received_us_ + ConnectTimeoutUs());
    if (now >= deadline) {
      return Status::Unavailable(phase_ == Phase::kAwaitConnack ? "no CONNACK from the broker in time"
                                                                : "no SUBACK from the broker in time");
    }
    *next_timer_us = deadline;
  }
  if (keepalive_s_ <= 0) return Status::OK();
  // Ping when nothing was sent for half the keepalive (the broker counts what it receives);
  // give up on a broker silent for 1.5 keepalives, as the broker itself would on a client.
  const int64_t keepalive_us = int64_t{keepalive_s_} * 1'000'000;
  const int64_t dead_at = last_received_us_ + keepalive_us * 3 / 2;
  if (now >= dead_at) return Status::Unavailable("no packet from the broker for 1.5 keepalive periods");
  *next_timer_us = std::min(*next_timer_us, dead_at);
  if (phase_ == Phase::kAwaitConnack) return Status::OK();  // nothing but CONNECT may go first
  const int64_t ping_at = last_sent_us_ + keepalive_us / 2;
  if (!ping_outstanding_ && now >= ping_at) {
    std::string ping;
    mqtt::EncodePingreq(&ping);
    SP_RETURN_IF_ERROR(Send(ping));
    ping_outstanding_ = true;
  } else if (!ping_outstanding_) {
    *next_timer_us = std::min(*next_timer_us, ping_at);
  }
  return Status::OK();
}

Result<std::vector<MqttMessage>> MqttSubscriber::Poll(std::chrono::milliseconds wait, size_t max_messages) {
  std::vector<MqttMessage> out;
  max_messages = std::max<size_t>(max_messages, 1);
  const int64_t deadline = clock_->MonotonicMicros() + wait.count() * 1000;
  while (true) {
    if (!transport_) {
      if (clock_->MonotonicMicros() >= next_attempt_us_) {
        Status s = StartConnect();
        if (s.IsAborted()) return out;  // Wakeup during connect()
        if (!s.ok()) ConnectFailed(s);
      }
      if (!transport_) {
        // Sleep until the next attempt or the deadline, whichever is first; Wakeup ends it.
        const WaitResult w = WaitFd(-1, 0, wake_fd_, std::min(next_attempt_us_, deadline), clock_);
        if (w == WaitResult::kWoken || clock_->MonotonicMicros() >= deadline) return out;
        continue;
      }
    }
    // Decoded packets first, then the socket: bytes left from an earlier Poll that stopped at
    // max_messages must not wait for new bytes to arrive.
    Status s = Drain(&out, max_messages);
    if (s.ok() && out.size() < max_messages) {
      const std::span<char> room = reader_.Space(kMinRead);
      auto n = transport_->Read(room.data(), room.size());
      if (!n.ok()) {
        s = n.status();
        // A server that does not know MQTT 5 may close on the CONNECT instead of answering it.
        if (phase_ == Phase::kAwaitConnack) version_refused_ = true;
      } else if (*n > 0) {
        bytes_received_->Inc(*n);
        last_received_us_ = clock_->MonotonicMicros();
        reader_.Commit(*n);
        continue;  // decode them, and read again while the socket has more
      }
    }
    int64_t next_timer = INT64_MAX;
    if (s.ok()) s = CheckTimers(&next_timer);
    if (!s.ok()) {
      if (s.IsCorruption()) protocol_errors_->Inc();
      Close(s);
      if (!out.empty()) return out;
      continue;
    }
    if (!out.empty() || clock_->MonotonicMicros() >= deadline) return out;
    if (transport_->HasPending()) continue;
    const WaitResult w =
        WaitFd(transport_->fd(), transport_->ReadEvents(), wake_fd_, std::min(deadline, next_timer), clock_);
    if (w == WaitResult::kWoken) return out;
  }
}

Status MqttSubscriber::Drain(std::vector<MqttMessage>* out, size_t max_messages) {
  while (out->size() < max_messages && transport_) {
    SP_ASSIGN_OR_RETURN(const mqtt::Packet* p, reader_.Next());
    if (p == nullptr) return Status::OK();
    SP_RETURN_IF_ERROR(HandlePacket(*p, out));
  }
  return Status::OK();
}

Status MqttSubscriber::HandlePacket(const mqtt::Packet& p, std::vector<MqttMessage>* out) {
  using mqtt::PacketType;
  if (phase_ == Phase::kAwaitConnack && p.type != PacketType::kConnack) {
    return Status::Corruption(std::string(mqtt::PacketTypeName(p.type)) + " before CONNACK");
  }
  switch (p.type) {
    case PacketType::kConnack: {
      if (phase_ != Phase::kAwaitConnack) return Status::Corruption("a second CONNACK");
      const mqtt::Connack& c = p.connack;
      if (c.v311_form) {  // to our MQTT 5 CONNECT (the decoder sets it for MQTT 5 only)
        version_refused_ = true;
        if (c.return_code == 0) return Status::Unavailable("the broker answered an MQTT 5 CONNECT in MQTT 3.1.1");
        return Status::Unavailable(
            fmt::format("the broker refused MQTT 5: {} ({})", mqtt::ConnackReason(c.return_code), c.return_code));
      }
      if (c.return_code != 0) {
        if (attempt_version_ == mqtt::Version::kV5 && c.return_code == 0x84) version_refused_ = true;
        return Status::Unavailable(fmt::format(
            "the broker refused the connection: {} ({}){}", mqtt::ConnackReason(c.return_code, attempt_version_),
            c.return_code, p.props.reason_string ? ": " + std::string(*p.props.reason_string) : ""));
      }
      if (attempt_version_ == mqtt::Version::kV5) ApplyConnackProperties(p.props);
      if (options_.protocol == MqttProtocol::kAuto && attempt_version_ == mqtt::Version::kV311 && !v311_only_) {
        v311_only_ = true;
        spdlog::warn("mqtt: {}:{} does not speak MQTT 5 ({}); using MQTT 3.1.1 with it from now on", options_.host,
                     options_.port, v5_refusal_);
      }
      ++established_;
      if (established_ > 1) reconnects_->Inc();
      up_since_us_ = clock_->MonotonicMicros();
      const char* version = mqtt::VersionName(attempt_version_);
      if (outage_logged_) {
        spdlog::info(
            "mqtt: reconnected to {}:{} (MQTT {}) as {} after {:.1f} s down ({} failed attempts), session present: {}",
            options_.host, options_.port, version, client_id_, (up_since_us_ - outage_since_us_) / 1e6,
            failed_attempts_, c.session_present);
      } else {
        spdlog::info("mqtt: connected to {}:{} (MQTT {}) as {}, session present: {}", options_.host, options_.port,
                     version, client_id_, c.session_present);
      }
      if (established_ > 1 && !c.session_present && !options_.clean_session) {
        // The broker lost our session (restarted without persistence, or it expired): whatever
        // it had queued for us is gone. Nothing to do but resubscribe, which happens anyway.
        spdlog::warn("mqtt: the broker had no session for {}: messages queued for it meanwhile are lost", client_id_);
      }
      outage_logged_ = false;
      if (options_.topics.empty()) {  // an empty SUBSCRIBE is a protocol error: do not send one
        phase_ = Phase::kUp;
        SetConnected(true);
        return Status::OK();
      }
      // Subscribe on every connection, session present or not: it is idempotent, and covers a
      // broker that lost the session or a topic list changed in the config.
      std::string sub;
      subscribe_id_ = next_packet_id_++;
      if (next_packet_id_ == 0) next_packet_id_ = 1;
      mqtt::EncodeSubscribe(attempt_version_, subscribe_id_, options_.topics, 1, &sub);
      phase_ = Phase::kAwaitSuback;
      phase_deadline_us_ = clock_->MonotonicMicros() + ConnectTimeoutUs();
      return Send(sub);
    }
    case PacketType::kPublish: {
      if (p.publish.qos == 2) return Status::Corruption("QoS 2 PUBLISH on a QoS 1 subscription");
      // We announce no Topic Alias Maximum, so 0: the broker may not use aliases (MQTT 5 3.3.2.3.4).
      if (p.props.topic_alias)
        return Status::Corruption("PUBLISH with a Topic Alias, which this client does not allow");
      // No copy: the message points into the reader's buffer, and holds it.
      MqttMessage& m = out->emplace_back();
      m.topic = p.publish.topic;
      m.payload = p.publish.payload;
      m.bytes = reader_.buffer();
      m.qos = p.publish.qos;
      m.dup = p.publish.dup;
      m.retain = p.publish.retain;
      m.packet_id = p.publish.packet_id;
      m.session = session_;
      m.payload_size = p.publish.payload_size;
      m.truncated = p.publish.truncated;
      return Status::OK();
    }
    case PacketType::kSuback: {
      if (phase_ != Phase::kAwaitSuback || p.suback.packet_id != subscribe_id_) break;  // stray: ignored below
      if (p.suback.return_codes.size() != options_.topics.size()) {
        return Status::Corruption(fmt::format("SUBACK with {} return codes for {} filters",
                                              p.suback.return_codes.size(), options_.topics.size()));
      }
      size_t granted = 0;
      for (size_t i = 0; i < p.suback.return_codes.size(); ++i) {
        const uint8_t code = p.suback.return_codes[i];
        if (code >= 0x80) {  // 3.1.1: 0x80 only; MQTT 5: a reason code saying why
          subscribe_failures_->Inc();
          if (attempt_version_ == mqtt::Version::kV5) {
            spdlog::error("mqtt: the broker refused the subscription to '{}': {} (0x{:02x}){}", options_.topics[i],
                          mqtt::ReasonCodeName(code), code,
                          p.props.reason_string ? ": " + std::string(*p.props.reason_string) : "");
          } else {
            spdlog::error("mqtt: the broker refused the subscription to '{}'", options_.topics[i]);
          }
          continue;
        }
        ++granted;
        if (code == 0) {
          spdlog::warn("mqtt: the broker granted only QoS 0 for '{}': its messages are not redelivered if lost",
                       options_.topics[i]);
        }
      }
      phase_ = Phase::kUp;
      SetConnected(granted > 0);
      if (granted == 0) spdlog::error("mqtt: no subscription granted; receiving nothing until the next connection");
      return Status::OK();
    }
    case PacketType::kPingresp:
      ping_outstanding_ = false;
      return Status::OK();
    case PacketType::kDisconnect:  // MQTT 5 only (the decoder refuses it in 3.1.1)
      // The broker ends the connection and says why (session taken over, shutting down, ...):
      // logged by Close with the reason; the reconnect follows with the usual backoff.
      return Status::Unavailable(fmt::format("the broker disconnected us: {} (0x{:02x}){}",
                                             mqtt::ReasonCodeName(p.reason_code), p.reason_code,
                                             p.props.reason_string ? ": " + std::string(*p.props.reason_string) : ""));
    case PacketType::kAuth:
      // Only part of an extended authentication this client never asks for.
      return Status::Corruption("AUTH from the broker, though no extended authentication was asked for");
    case PacketType::kPubrel: {
      // QoS 2's release. We never take QoS 2 (see the header), but the spec asks for a PUBCOMP
      // for any PUBREL, known id or not, and answering keeps a confused broker from retrying.
      std::string comp;
      mqtt::EncodePubcomp(p.packet_id, &comp);
      protocol_errors_->Inc();
      return Send(comp);
    }
    default:
      break;  // PUBACK, PUBREC, PUBCOMP, UNSUBACK: acknowledgements of packets we never sent
  }
  protocol_errors_->Inc();
  if (!stray_logged_) {
    spdlog::warn("mqtt: ignoring {} for unknown packet id {} (logged once per connection)",
                 mqtt::PacketTypeName(p.type), p.packet_id);
    stray_logged_ = true;
  }
  return Status::OK();
}

void MqttSubscriber::ApplyConnackProperties(const mqtt::Properties& props) {
  // What the broker says about itself for a publishing client (its Receive Maximum, Topic Alias
  // Maximum, Maximum Packet Size, Maximum QoS for PUBLISH) does not matter: we publish nothing.
  if (props.server_keepalive_s && *props.server_keepalive_s != keepalive_s_) {
    // MQTT 5 3.2.2.3.14: the client must use the server's value instead of its own.
    spdlog::info("mqtt: the broker set the keepalive to {} s (asked for {} s)", *props.server_keepalive_s,
                 keepalive_s_);
    keepalive_s_ = *props.server_keepalive_s;
  }
  if (props.assigned_client_id && client_id_.empty()) {
    // Kept for every later CONNECT: with an empty id each connection would get a new id, and so
    // a new session, losing what the broker queued for the old one.
    client_id_.assign(*props.assigned_client_id);
    spdlog::info("mqtt: the broker assigned the client id {}; reconnects reuse it", client_id_);
  }
  if (props.session_expiry_s && !options_.clean_session && *props.session_expiry_s < options_.session_expiry_s) {
    spdlog::warn("mqtt: the broker keeps our session only {} s after a disconnect (asked for {} s)",
                 *props.session_expiry_s, options_.session_expiry_s);
  }
  for (const std::string& t : options_.topics) {
    // The SUBACK refuses such filters anyway; this says why before it does.
    if (props.shared_subscription_available == false && t.starts_with("$share/")) {
      spdlog::warn("mqtt: the broker does not support shared subscriptions, needed for '{}'", t);
    }
    if (props.wildcard_subscription_available == false && t.find_first_of("+#") != std::string::npos) {
      spdlog::warn("mqtt: the broker does not support wildcard subscriptions, needed for '{}'", t);
    }
  }
}

Status MqttSubscriber::KeepAlive() {
  if (!transport_ || phase_ == Phase::kAwaitConnack || keepalive_s_ <= 0) return Status::OK();
  // Not CheckTimers: that would also judge the broker silent, but the broker's answers are
  // unread in the socket on purpose, and a PINGREQ is due every half keepalive whether or not
  // the last one was answered yet (they are only read later).
  const int64_t keepalive_us = int64_t{keepalive_s_} * 1'000'000;
  if (clock_->MonotonicMicros() < last_sent_us_ + keepalive_us / 2) return Status::OK();
  std::string ping;
  mqtt::EncodePingreq(&ping);
  if (Status s = Send(ping); !s.ok()) {
    Close(s);
    return Status::OK();
  }
  ping_outstanding_ = true;
  return Status::OK();
}

Status MqttSubscriber::Ack(std::span<const MqttMessage> messages) {
  if (!transport_ || phase_ == Phase::kAwaitConnack) return Status::OK();  // redelivered next time
  std::string out;
  for (const MqttMessage& m : messages) {
    if (m.qos == 1 && m.session == session_) mqtt::EncodePuback(m.packet_id, &out);
  }
  if (out.empty()) return Status::OK();
  // PUBACKs can be a batch of thousands (4 bytes each): one write, not one per message.
  if (Status s = Send(out); !s.ok()) Close(s);
  return Status::OK();
}

Status MqttSubscriber::Disconnect() {
  if (!transport_) return Status::OK();
  Status s;
  if (phase_ != Phase::kAwaitConnack) {
    // MQTT 5: reason 0, normal disconnection. The session stays for session_expiry_s.
    std::string out;
    mqtt::EncodeDisconnect(&out, attempt_version_, 0);
    s = Send(out);
  }
  spdlog::info("mqtt: disconnected from {}:{}", options_.host, options_.port);
  DropTransport();
  backoff_ = options_.reconnect_min;
  next_attempt_us_ = 0;  // a later Poll connects at once
  return s;
}

}  // namespace sp
