// MqttSubscriber: sensorpipe's own MQTT 3.1.1 client for the ingest stage. It exists because the
// acknowledgement is the durability promise: a QoS 1 message is acknowledged (PUBACK) only when
// the application calls Ack, after the record is durable in the log. libmosquitto 2.0.11 sends
// PUBACK before its message callback runs, so it cannot keep that promise (FACTS.md).
//
// The session is persistent (clean session off) and subscriptions are QoS 1, so messages
// published while sensorpipe is down or reconnecting, and those received but not acknowledged
// before a crash or a lost connection, are delivered again by the broker (with DUP set).
// Duplicates are therefore possible (at least once); the log counts them, queries dedup.
//
// Layers: mqtt_codec (bytes <-> packets, version-aware for MQTT 5), mqtt_transport (TCP; TLS
// later), and this state machine: connect -> CONNACK -> SUBSCRIBE -> SUBACK -> receiving.
//
// QoS 2: never requested (subscriptions ask for max QoS 1, and a broker must not send more than
// granted), so a QoS 2 PUBLISH is a protocol violation: the connection is closed and the error
// counted (MQTT 3.1.1 4.8: on a protocol violation close the network connection). A PUBREL is
// answered with PUBCOMP as the spec asks, whatever its packet id. Acknowledgements for packet ids
// this client never used (PUBACK, PUBREC, PUBCOMP, UNSUBACK, a stray SUBACK) are counted and ignored.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/metrics.h"
#include "common/status.h"
#include "ingest/mqtt_codec.h"
#include "ingest/mqtt_tls.h"
#include "ingest/mqtt_transport.h"

namespace sp {

struct MqttClientOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;
  std::string username, password;
  int keepalive_s = 30;  // 0 turns keepalive off (no PINGREQ, no silence timeout)
  bool clean_session = false;
  std::vector<std::string> topics;  // subscribed with QoS 1
  size_t max_payload_bytes = 131072;
  std::chrono::milliseconds connect_timeout{5000};  // TCP connect, and again for CONNACK
  std::chrono::milliseconds reconnect_min{100}, reconnect_max{10000};
  bool tls = false;  // mqtts://
  TlsOptions tls_options;
};

struct MqttMessage {
  std::string topic;
  std::string payload;  // at most max_payload_bytes; see truncated
  uint8_t qos = 0;
  bool dup = false, retain = false;
  uint16_t packet_id = 0;
  uint64_t session = 0;     // connection it came on: an Ack for an older one is dropped
  size_t payload_size = 0;  // the size sent
  bool truncated = false;   // payload_size > max_payload_bytes: the rest was read and dropped
};

class MqttSubscriber {
 public:
  MqttSubscriber(MqttClientOptions options, Clock* clock, Metrics* metrics);
  ~MqttSubscriber();
  MqttSubscriber(const MqttSubscriber&) = delete;
  MqttSubscriber& operator=(const MqttSubscriber&) = delete;

  //! Connects (or reconnects, with exponential backoff and jitter) as needed, keeps the
  //! connection alive, and returns the messages that have arrived, at most max_messages (the rest
  //! stay buffered or in the socket), waiting up to `wait` for the first. Returns early, maybe
  //! empty, on Wakeup. Connection failures are logged and retried, not returned.
  Result<std::vector<MqttMessage>> Poll(std::chrono::milliseconds wait, size_t max_messages);
  //! Sends PUBACK for the QoS 1 messages of the current connection, in the order given (MQTT
  //! requires acknowledgements in order of receipt). Call only once the records they became are
  //! durable. Messages of an older connection are skipped: the broker redelivers them. A send
  //! failure closes the connection (then also redelivery), so this fails only on misuse.
  Status Ack(std::span<const MqttMessage> messages);
  //! Makes a waiting (or the next) Poll return at once. Any thread.
  void Wakeup();
  //! Sends DISCONNECT and closes. Unacknowledged messages stay with the broker's session. A later
  //! Poll connects again.
  Status Disconnect();
  //! True while connected and subscribed (at least one filter granted). Any thread.
  bool connected() const { return connected_flag_.load(std::memory_order_relaxed); }

 private:
  enum class Phase { kDown, kAwaitConnack, kAwaitSuback, kUp };

  //! Opens the transport and sends CONNECT; the rest of the handshake happens in Poll.
  Status StartConnect();
  //! Handles a failed connection attempt (never got to kUp): log once per outage, back off.
  void ConnectFailed(const Status& why);
  //! Closes the connection. why is logged when it was established.
  void Close(const Status& why);
  //! Sends all of bytes (waiting for buffer space up to a bound); closes on failure.
  Status Send(const std::string& bytes);
  //! Decodes buffered packets until none is complete or out holds max_messages.
  Status Drain(std::vector<MqttMessage>* out, size_t max_messages);
  Status HandlePacket(mqtt::Packet& p, std::vector<MqttMessage>* out);
  //! Sends PINGREQ when due; fails when the broker has been silent too long or a handshake step
  //! took too long. Returns the monotonic time of the next timer.
  Status CheckTimers(int64_t* next_timer_us);
  void SetConnected(bool up);
  std::chrono::milliseconds Jittered(std::chrono::milliseconds base);

  const MqttClientOptions options_;
  Clock* clock_;
  int wake_fd_ = -1;  // eventfd written by Wakeup
  std::unique_ptr<MqttTransport> transport_;
  mqtt::PacketReader reader_;
  Phase phase_ = Phase::kDown;
  std::atomic<bool> connected_flag_{false};
  uint64_t session_ = 0;      // connections opened so far; the current one's number
  uint64_t established_ = 0;  // connections that reached CONNACK
  uint16_t next_packet_id_ = 1;
  uint16_t subscribe_id_ = 0;      // of the SUBSCRIBE awaiting its SUBACK
  int64_t phase_deadline_us_ = 0;  // CONNACK / SUBACK due by
  int64_t last_sent_us_ = 0, last_received_us_ = 0, up_since_us_ = 0;
  bool ping_outstanding_ = false;
  bool stray_logged_ = false;  // one warning per connection for ignored packets
  int64_t next_attempt_us_ = 0;
  std::chrono::milliseconds backoff_;
  // Outage bookkeeping, so a broker that is away logs one line, not one per retry.
  bool outage_logged_ = false;
  int64_t outage_since_us_ = 0;
  uint64_t failed_attempts_ = 0;

  Gauge* connected_;
  Counter* reconnects_;
  Counter* protocol_errors_;
  Counter* bytes_received_;
  Counter* subscribe_failures_;
};

}  // namespace sp
