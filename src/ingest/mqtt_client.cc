#include "ingest/mqtt_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "ingest/mqtt_codec.h"

namespace sp {

namespace {
constexpr size_t kMaxTopicOverhead = 2 + 65535 + 2;  // topic length, topic, packet id
}

MqttSubscriber::MqttSubscriber(MqttClientOptions options, Clock* clock, Metrics* metrics)
    : options_(std::move(options)),
      clock_(clock),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      backoff_(options_.reconnect_min),
      connected_(metrics->GetGauge("sensorpipe_mqtt_connected", "1 while subscribed to the broker.")),
      reconnects_(metrics->GetCounter("sensorpipe_mqtt_reconnects_total", "Connections to the broker after the first.")),
      protocol_errors_(metrics->GetCounter("sensorpipe_mqtt_protocol_errors_total",
                                           "Malformed or unexpected packets from the broker (the connection is reset).")),
      bytes_received_(metrics->GetCounter("sensorpipe_mqtt_bytes_received_total", "Bytes read from the broker.")) {}

MqttSubscriber::~MqttSubscriber() {
  if (fd_ >= 0) ::close(fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void MqttSubscriber::Wakeup() {
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void MqttSubscriber::Close(const std::string& why) {
  if (fd_ >= 0) {
    spdlog::warn("mqtt: connection to {}:{} lost: {}", options_.host, options_.port, why);
    ::close(fd_);
  }
  fd_ = -1;
  subscribed_ = false;
  connected_->Set(0);
  in_.clear();
  skip_ = 0;
  next_attempt_us_ = clock_->MonotonicMicros() + backoff_.count() * 1000;
}

Status MqttSubscriber::Send(const std::string& bytes) {
  size_t done = 0;
  const int64_t deadline = clock_->MonotonicMicros() + 10'000'000;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return Status::FromErrno("send", errno);
    pollfd p{fd_, POLLOUT, 0};
    int64_t left_ms = (deadline - clock_->MonotonicMicros()) / 1000;
    if (left_ms <= 0) return Status::Unavailable("send timed out");
    ::poll(&p, 1, static_cast<int>(left_ms));
  }
  last_sent_us_ = clock_->MonotonicMicros();
  return Status::OK();
}

Status MqttSubscriber::Connect() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(options_.port);
  if (int rc = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Status::Unavailable("cannot resolve " + options_.host + ": " + gai_strerror(rc));
  }
  Status last = Status::Unavailable("no address for " + options_.host);
  for (addrinfo* ai = res; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    // Before connect: without it, Nagle and delayed ACKs put a 40 ms floor under latency.
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = Status::FromErrno("connect to " + options_.host + ":" + port, errno);
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, static_cast<int>(options_.connect_timeout.count())) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      last = err ? Status::FromErrno("connect to " + options_.host + ":" + port, err)
                 : Status::Unavailable("connect to " + options_.host + ":" + port + " timed out");
      ::close(fd);
      continue;
    }
    fd_ = fd;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) return last;

  std::string out;
  mqtt::ConnectOptions co{options_.client_id, options_.username, options_.password,
                          static_cast<uint16_t>(options_.keepalive_s), options_.clean_session};
  mqtt::EncodeConnect(co, &out);
  SP_RETURN_IF_ERROR(Send(out));

  // The CONNACK comes first; nothing else may precede it.
  const int64_t deadline = clock_->MonotonicMicros() + options_.connect_timeout.count() * 1000;
  while (true) {
    auto h = mqtt::DecodeFixedHeader(in_);
    if (h.ok() && in_.size() >= h->header_size + h->remaining_length) {
      if (h->type != mqtt::PacketType::kConnack) return Status::Corruption("expected CONNACK");
      SP_ASSIGN_OR_RETURN(mqtt::Connack ack, mqtt::DecodeConnack(std::string_view(in_).substr(h->header_size, h->remaining_length)));
      in_.erase(0, h->header_size + h->remaining_length);
      if (ack.return_code != 0) {
        return Status::Unavailable(std::string("broker refused the connection: ") + mqtt::ConnackReason(ack.return_code));
      }
      break;
    }
    if (!h.ok() && !h.status().IsNotFound()) return h.status();
    if (WaitReadable(deadline) != Wait::kReadable) return Status::Unavailable("no CONNACK from the broker");
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return Status::Unavailable("the broker closed the connection");
    if (n < 0 && errno != EAGAIN && errno != EINTR) return Status::FromErrno("recv", errno);
    if (n > 0) in_.append(buf, static_cast<size_t>(n));
  }
  // Subscribing again on every connection is harmless and covers a broker that lost the session.
  out.clear();
  mqtt::EncodeSubscribe(next_packet_id_++, options_.topics, 1, &out);
  if (next_packet_id_ == 0) next_packet_id_ = 1;
  SP_RETURN_IF_ERROR(Send(out));
  last_received_us_ = clock_->MonotonicMicros();
  ping_outstanding_ = false;
  ++session_;
  return Status::OK();
}

MqttSubscriber::Wait MqttSubscriber::WaitReadable(int64_t deadline_us) {
  pollfd p[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  // At most a second at a time, so the caller can keep the connection alive meanwhile.
  int64_t left_ms = std::max<int64_t>(0, (deadline_us - clock_->MonotonicMicros() + 999) / 1000);
  int n = ::poll(p, 2, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
  if (n > 0 && (p[1].revents & POLLIN)) {
    uint64_t v;
    (void)!::read(wake_fd_, &v, sizeof v);
    return Wait::kWoken;
  }
  return n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) ? Wait::kReadable : Wait::kTimeout;
}

void MqttSubscriber::KeepAlive() {
  // Ping when idle for half the keepalive; give up on a broker silent for 1.5 of it.
  const int64_t now = clock_->MonotonicMicros();
  const int64_t keepalive_us = int64_t{options_.keepalive_s} * 1'000'000;
  if (now - last_received_us_ > keepalive_us * 3 / 2) {
    Close("no answer from the broker within 1.5 keepalive periods");
    return;
  }
  if (!ping_outstanding_ && now - last_sent_us_ >= keepalive_us / 2) {
    std::string ping;
    mqtt::EncodePingreq(&ping);
    if (Status s = Send(ping); !s.ok()) {
      Close(s.ToString());
      return;
    }
    ping_outstanding_ = true;
  }
}

Result<std::vector<MqttMessage>> MqttSubscriber::Poll(std::chrono::milliseconds wait, size_t max_messages) {
  std::vector<MqttMessage> out;
  const int64_t deadline = clock_->MonotonicMicros() + wait.count() * 1000;
  while (true) {
    if (fd_ < 0) {
      if (clock_->MonotonicMicros() >= next_attempt_us_) {
        if (session_ > 0 || logged_down_) reconnects_->Inc();
        Status s = Connect();
        if (s.ok()) {
          spdlog::info("mqtt: connected to {}:{} as {}, subscribing to {} topic filter(s)", options_.host, options_.port,
                       options_.client_id, options_.topics.size());
          logged_down_ = false;
          backoff_ = options_.reconnect_min;
        } else {
          if (fd_ >= 0) ::close(fd_);
          fd_ = -1;
          in_.clear();
          if (!logged_down_) spdlog::warn("mqtt: cannot connect to {}:{}: {} (retrying)", options_.host, options_.port, s.ToString());
          logged_down_ = true;
          // Exponential backoff with jitter, so many daemons do not reconnect in step.
          static thread_local std::mt19937 rng{std::random_device{}()};
          backoff_ = std::min(options_.reconnect_max, backoff_ * 2);
          auto jitter = std::uniform_int_distribution<int64_t>(0, backoff_.count() / 2)(rng);
          next_attempt_us_ = clock_->MonotonicMicros() + (backoff_.count() / 2 + jitter) * 1000;
        }
      }
      if (fd_ < 0) {
        // Sleep until the next attempt or the deadline, whichever is first; Wakeup ends it.
        pollfd p{wake_fd_, POLLIN, 0};
        int64_t until = std::min(next_attempt_us_, deadline);
        int64_t ms = std::max<int64_t>(0, (until - clock_->MonotonicMicros()) / 1000);
        if (::poll(&p, 1, static_cast<int>(ms)) > 0) {
          uint64_t v;
          (void)!::read(wake_fd_, &v, sizeof v);
          return out;
        }
        if (clock_->MonotonicMicros() >= deadline) return out;
        continue;
      }
    }
    Status s = ReadPackets(&out, max_messages);
    if (!s.ok()) {
      if (s.IsCorruption()) protocol_errors_->Inc();
      Close(s.ToString());
      continue;
    }
    if (fd_ >= 0) KeepAlive();
    if (!out.empty() || clock_->MonotonicMicros() >= deadline) return out;
    if (fd_ >= 0 && WaitReadable(deadline) == Wait::kWoken) return out;
  }
}

Status MqttSubscriber::ReadPackets(std::vector<MqttMessage>* out, size_t max_messages) {
  char buf[65536];
  while (out->size() < max_messages) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return Status::Unavailable("the broker closed the connection");
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      return Status::FromErrno("recv", errno);
    }
    bytes_received_->Inc(static_cast<uint64_t>(n));
    last_received_us_ = clock_->MonotonicMicros();
    std::string_view data(buf, static_cast<size_t>(n));
    if (skip_ > 0) {  // the tail of an oversize message, already delivered truncated
      size_t drop = std::min(skip_, data.size());
      skip_ -= drop;
      data.remove_prefix(drop);
    }
    in_.append(data);
    // Decode every complete packet in the buffer.
    while (skip_ == 0) {
      auto h = mqtt::DecodeFixedHeader(in_);
      if (!h.ok()) {
        if (h.status().IsNotFound()) break;
        return h.status();
      }
      const size_t total = h->header_size + h->remaining_length;
      const size_t cap = options_.max_payload_bytes + kMaxTopicOverhead;
      if (h->type == mqtt::PacketType::kPublish && h->remaining_length > cap) {
        // Too big to hold: deliver what fits (flagged), drop the rest as it streams in, so
        // memory stays bounded whatever a publisher sends.
        if (in_.size() < h->header_size + cap) break;
        std::string_view body = std::string_view(in_).substr(h->header_size, cap);
        SP_ASSIGN_OR_RETURN(mqtt::Publish p, mqtt::DecodePublish(h->flags, body));
        MqttMessage m{std::string(p.topic), std::string(p.payload.substr(0, options_.max_payload_bytes)), p.qos, p.dup,
                      p.retain, p.packet_id, session_, 0, true};
        m.payload_size = h->remaining_length - (body.size() - p.payload.size());
        out->push_back(std::move(m));
        const size_t have = std::min(in_.size(), total);
        skip_ = total - have;
        in_.erase(0, have);
        continue;
      }
      if (in_.size() < total) break;
      SP_RETURN_IF_ERROR(HandlePacket(static_cast<uint8_t>(in_[0]), std::string_view(in_).substr(h->header_size, h->remaining_length), out));
      in_.erase(0, total);
    }
  }
  return Status::OK();
}

Status MqttSubscriber::HandlePacket(uint8_t first_byte, std::string_view body, std::vector<MqttMessage>* out) {
  switch (static_cast<mqtt::PacketType>(first_byte >> 4)) {
    case mqtt::PacketType::kPublish: {
      SP_ASSIGN_OR_RETURN(mqtt::Publish p, mqtt::DecodePublish(first_byte & 0x0f, body));
      if (p.qos == 2) {
        // Subscriptions ask for QoS 1, so the broker never sends QoS 2; one that does is broken.
        return Status::Corruption("QoS 2 PUBLISH on a QoS 1 subscription");
      }
      out->push_back(MqttMessage{std::string(p.topic), std::string(p.payload), p.qos, p.dup, p.retain, p.packet_id,
                                 session_, p.payload.size(), false});
      return Status::OK();
    }
    case mqtt::PacketType::kSuback: {
      SP_ASSIGN_OR_RETURN(mqtt::Suback s, mqtt::DecodeSuback(body));
      for (size_t i = 0; i < s.return_codes.size(); ++i) {
        if (s.return_codes[i] == 0x80) {
          spdlog::error("mqtt: the broker refused the subscription to '{}'",
                        i < options_.topics.size() ? options_.topics[i] : "?");
        }
      }
      subscribed_ = true;
      connected_->Set(1);
      return Status::OK();
    }
    case mqtt::PacketType::kPingresp:
      ping_outstanding_ = false;
      return Status::OK();
    default:
      return Status::Corruption("unexpected packet type " + std::to_string(first_byte >> 4));
  }
}

Status MqttSubscriber::Ack(std::span<const MqttMessage> messages) {
  if (fd_ < 0) return Status::OK();  // the broker will redeliver them on the next connection
  std::string out;
  for (const MqttMessage& m : messages) {
    if (m.qos == 1 && m.session == session_) mqtt::EncodePuback(m.packet_id, &out);
  }
  if (out.empty()) return Status::OK();
  Status s = Send(out);
  if (!s.ok()) Close(s.ToString());
  return Status::OK();
}

Status MqttSubscriber::Disconnect() {
  if (fd_ < 0) return Status::OK();
  std::string out;
  mqtt::EncodeDisconnect(&out);
  Status s = Send(out);
  ::close(fd_);
  fd_ = -1;
  subscribed_ = false;
  connected_->Set(0);
  return s;
}

}  // namespace sp
