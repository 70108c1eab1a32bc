// MqttSubscriber: sensorpipe's own MQTT 3.1.1 client for the ingest stage. It exists because the
// acknowledgement is the durability promise: a QoS 1 message is acknowledged (PUBACK) only when
// the application calls Ack, after the record is durable in the log. libmosquitto acknowledges
// before its callback runs, so it cannot keep that promise (FACTS.md).
//
// The session is persistent (clean session off) and subscriptions are QoS 1, so messages
// published while sensorpipe is down or reconnecting, and those received but not acknowledged
// before a crash, are delivered again by the broker. One thread uses the client; Wakeup() may be
// called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/metrics.h"
#include "common/status.h"

namespace sp {

struct MqttClientOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;
  std::string username, password;
  int keepalive_s = 30;
  bool clean_session = false;
  std::vector<std::string> topics;  // subscribed with QoS 1
  size_t max_payload_bytes = 131072;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds reconnect_min{100}, reconnect_max{10000};
};

struct MqttMessage {
  std::string topic;
  std::string payload;  // at most max_payload_bytes; see truncated
  uint8_t qos = 0;
  bool dup = false, retain = false;
  uint16_t packet_id = 0;
  uint64_t session = 0;      // connection it came on: an Ack for an older one is dropped
  size_t payload_size = 0;   // the size sent
  bool truncated = false;    // payload_size > max_payload_bytes: the rest was read and dropped
};

class MqttSubscriber {
 public:
  MqttSubscriber(MqttClientOptions options, Clock* clock, Metrics* metrics);
  ~MqttSubscriber();
  MqttSubscriber(const MqttSubscriber&) = delete;
  MqttSubscriber& operator=(const MqttSubscriber&) = delete;

  //! Connects (or reconnects, with exponential backoff and jitter) as needed, keeps the
  //! connection alive, and returns the messages that have arrived, at most max_messages,
  //! waiting up to `wait` for the first. Connection failures are logged and retried, not returned.
  Result<std::vector<MqttMessage>> Poll(std::chrono::milliseconds wait, size_t max_messages);
  //! Sends PUBACK for the QoS 1 messages of the current connection. Call only once the records
  //! they became are durable.
  Status Ack(std::span<const MqttMessage> messages);
  //! Makes a waiting Poll return at once.
  void Wakeup();
  //! Sends DISCONNECT and closes. Unacknowledged messages stay with the broker's session.
  Status Disconnect();
  bool connected() const { return fd_ >= 0 && subscribed_; }

 private:
  Status Connect();
  void Close(const std::string& why);
  Status Send(const std::string& bytes);
  //! Reads what the socket has and decodes complete packets into out.
  Status ReadPackets(std::vector<MqttMessage>* out, size_t max_messages);
  Status HandlePacket(uint8_t first_byte, std::string_view body, std::vector<MqttMessage>* out);
  enum class Wait { kReadable, kTimeout, kWoken };
  //! Waits until the socket is readable, the deadline (or a one-second slice) passes, or Wakeup.
  Wait WaitReadable(int64_t deadline_us);
  void KeepAlive();

  const MqttClientOptions options_;
  Clock* clock_;
  int fd_ = -1;
  int wake_fd_ = -1;  // eventfd
  bool subscribed_ = false;
  uint64_t session_ = 0;
  uint16_t next_packet_id_ = 1;
  std::string in_;  // bytes read, not yet decoded
  size_t skip_ = 0;  // bytes still to drop of an oversize PUBLISH already delivered truncated
  int64_t last_sent_us_ = 0, last_received_us_ = 0;
  bool ping_outstanding_ = false;
  int64_t next_attempt_us_ = 0;
  std::chrono::milliseconds backoff_;
  bool logged_down_ = false;

  Gauge* connected_;
  Counter* reconnects_;
  Counter* protocol_errors_;
  Counter* bytes_received_;
};

}  // namespace sp
