// MqttSubscriber: sensorpipe's own MQTT client (3.1.1 and 5) for the ingest stage. It exists
// because the acknowledgement is the durability promise: a QoS 1 message is acknowledged (PUBACK)
// only when the application calls Ack, after the record is durable in the log. libmosquitto
// 2.0.11 sends PUBACK before its message callback runs, so it cannot keep that promise (FACTS.md).
//
// The session is persistent (clean session off; in MQTT 5 clean start off plus a Session Expiry
// Interval, without which an MQTT 5 session ends with the connection) and subscriptions are QoS 1,
// so messages published while sensorpipe is down or reconnecting, and those received but not
// acknowledged before a crash or a lost connection, are delivered again by the broker (with DUP
// set). Duplicates are therefore possible (at least once); the log counts them, queries dedup.
//
// Version: MqttProtocol::kAuto (the default) speaks MQTT 5 and falls back to 3.1.1 for a broker
// that refuses it. Nothing the ingest does depends on the version; MQTT 5 brings reason codes and
// reason strings for refusals and server disconnects, server-assigned client ids and keepalives.
// The client allows no topic aliases (it announces no Topic Alias Maximum, so 0): a broker that
// sends one anyway breaks the protocol and the connection is closed.
//
// Layers: codec.h (bytes <-> packets, both versions), transport.h (TCP, or TLS in
// tls.h), and this state machine: connect -> CONNACK -> SUBSCRIBE -> SUBACK -> receiving.
//
// QoS 2: never requested (subscriptions ask for max QoS 1, and a broker must not send more than
// granted), so a QoS 2 PUBLISH is a protocol violation: the connection is closed and the error
// counted (MQTT 3.1.1 4.8, MQTT 5 4.13: on a protocol violation close the network connection). A PUBREL is
// answered with PUBCOMP as the spec asks, whatever its packet id. Acknowledgements for packet ids
// this client never used (PUBACK, PUBREC, PUBCOMP, UNSUBACK, a stray SUBACK) are counted and ignored.
//
// Threads: one thread calls Poll, Ack, KeepAlive and Disconnect; Wakeup, connected() and
// version() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/env.h"
#include "common/metrics.h"
#include "common/status.h"
#include "mqtt/codec.h"
#include "mqtt/tls.h"
#include "mqtt/transport.h"

namespace sp {

//! Which MQTT version to speak.
enum class MqttProtocol {
  // MQTT 5; when the broker refuses it (a 3.1.1 CONNACK "unacceptable protocol version", or the
  // connection closed after the CONNECT with no CONNACK), 3.1.1 at once. Once a 3.1.1 connection
  // is accepted that way, this subscriber speaks 3.1.1 to the broker until it is destroyed (a
  // restart probes MQTT 5 again); if 3.1.1 fails too, the version was not the problem and the
  // next attempt tries MQTT 5 again.
  kAuto,
  kV311,  // MQTT 3.1.1 only
  kV5,    // MQTT 5 only: a refusal is a connection failure, logged and retried with backoff
};

struct MqttClientOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  // Empty: an MQTT 5 broker assigns one, which is kept for every reconnect of this subscriber so
  // the persistent session is found again. (A 3.1.1 broker refuses an empty id without a clean
  // session.)
  std::string client_id;
  std::string username, password;
  int keepalive_s = 30;  // 0 turns keepalive off (no PINGREQ, no silence timeout)
  bool clean_session = false;
  std::vector<std::string> topics;  // subscribed with QoS 1
  size_t max_payload_bytes = 131072;
  std::chrono::milliseconds connect_timeout{5000};  // TCP connect, CONNACK, SUBACK (after the last packet)
  std::chrono::milliseconds reconnect_min{100}, reconnect_max{10000};
  bool tls = false;  // mqtts://
  TlsOptions tls_options;
  MqttProtocol protocol = MqttProtocol::kAuto;
  // MQTT 5: how long the broker keeps the session (subscriptions, queued and unacknowledged
  // messages) after the connection ends; sent as 0 with clean_session. 7 days rides out any
  // outage an operator would sit through (a long weekend and then some), yet a client id that
  // is retired for good does not make the broker queue messages for it forever, as 0xFFFFFFFF
  // (never expire) would, with no bound on the broker's memory and disk (our brokers run with
  // max_queued_messages 0). 3.1.1 has no such setting: its sessions never expire.
  uint32_t session_expiry_s = 604'800;
  // MQTT 5: Receive Maximum, how many QoS 1 messages the broker may have sent us unacknowledged
  // at once (mosquitto uses it instead of max_inflight_messages for MQTT 5 clients). Ack comes
  // only after the group commit, and ingest commits up to 4096 messages per group: a window
  // smaller than a batch would stall every batch on a round trip. Hence the largest (and 0 is
  // not allowed). With 3.1.1 the broker's max_inflight_messages sets the window instead.
  uint16_t receive_maximum = 65535;
};

//! A message as received. topic and payload point into `bytes`, the buffer the connection was
//! read into, which the message holds: they stay valid, and unchanged, for as long as the message
//! (or a copy of it) exists, across later Polls, and whatever thread drops it. (So a message kept
//! keeps its whole buffer, a few hundred KiB: hold messages for a batch, not for long.)
struct MqttMessage {
  std::string_view topic;
  std::string_view payload;  // at most max_payload_bytes; see truncated
  std::shared_ptr<const char[]> bytes;
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
  //! Sends a PINGREQ when one is due (nothing sent for half the keepalive), without reading from
  //! the socket and without judging the broker's silence: for a caller that holds received but
  //! unacknowledged messages and must not Poll for more (ingest retrying a failing disk append),
  //! so the broker does not drop the connection after 1.5 keepalives and redeliver them all. The
  //! PINGRESPs wait in the socket for the next Poll. Does nothing while down or connecting; a send
  //! failure closes the connection (the held messages are then redelivered), so this fails only on
  //! misuse.
  Status KeepAlive();
  //! Makes a waiting (or the next) Poll return at once. Any thread.
  void Wakeup();
  //! Sends DISCONNECT and closes. Unacknowledged messages stay with the broker's session. A later
  //! Poll connects again.
  Status Disconnect();
  //! True while connected and subscribed (at least one filter granted). Any thread.
  bool connected() const { return connected_flag_.load(std::memory_order_relaxed); }
  //! The MQTT version of the current connection (while down: of the last attempt). Any thread.
  mqtt::Version version() const { return version_flag_.load(std::memory_order_relaxed); }
  //! The client id in use: the configured one, or the one an MQTT 5 broker assigned.
  const std::string& client_id() const { return client_id_; }

 private:
  enum class Phase { kDown, kAwaitConnack, kAwaitSuback, kUp };

  //! Opens the transport and sends CONNECT; the rest of the handshake happens in Poll.
  Status StartConnect();
  //! The version the next connection attempt speaks (see MqttProtocol).
  mqtt::Version NextVersion() const;
  //! Takes what an MQTT 5 CONNACK says about this connection (keepalive, assigned id, ...).
  void ApplyConnackProperties(const mqtt::Properties& props);
  //! Forgets the connection (transport and decoder state); the caller updates phase and backoff.
  void DropTransport();
  //! connect_timeout in the clock's microseconds.
  int64_t ConnectTimeoutUs() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(options_.connect_timeout).count();
  }
  //! Handles a failed connection attempt (never got to kUp): log once per outage, back off.
  void ConnectFailed(const Status& why);
  //! Closes the connection. why is logged when it was established.
  void Close(const Status& why);
  //! Sends all of bytes (waiting for buffer space up to a bound); closes on failure.
  Status Send(const std::string& bytes);
  //! Decodes buffered packets until none is complete or out holds max_messages.
  Status Drain(std::vector<MqttMessage>* out, size_t max_messages);
  Status HandlePacket(const mqtt::Packet& p, std::vector<MqttMessage>* out);
  //! Sends PINGREQ when due; fails when the broker has been silent too long or a handshake step
  //! took too long. Returns the monotonic time of the next timer.
  Status CheckTimers(int64_t* next_timer_us);
  void SetConnected(bool up);
  std::chrono::milliseconds Jittered(std::chrono::milliseconds base);

  const MqttClientOptions options_;
  Clock* clock_;
  std::string client_id_;  // options_.client_id, or the id an MQTT 5 broker assigned
  int keepalive_s_;        // options_.keepalive_s, or the broker's Server Keep Alive (MQTT 5)
  int wake_fd_ = -1;       // eventfd written by Wakeup
  std::unique_ptr<MqttTransport> transport_;
  mqtt::PacketReader reader_;
  Phase phase_ = Phase::kDown;
  std::atomic<bool> connected_flag_{false};
  // Version bookkeeping (see MqttProtocol::kAuto).
  mqtt::Version attempt_version_;            // of the current connection or attempt
  std::atomic<mqtt::Version> version_flag_;  // the same, for version() on any thread
  bool v311_only_ = false;                   // kAuto: the broker refused MQTT 5 and accepted 3.1.1
  bool try_v311_ = false;                    // kAuto: MQTT 5 was just refused; the next attempt tries 3.1.1
  bool version_refused_ = false;             // the current attempt failed in a way that says "not MQTT 5"
  std::string v5_refusal_;                   // how, for the one line logged when falling back
  uint64_t session_ = 0;                     // connections opened so far; the current one's number
  uint64_t established_ = 0;                 // connections that reached CONNACK
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
  Gauge* protocol_level_;
  Counter* reconnects_;
  Counter* protocol_errors_;
  Counter* bytes_received_;
  Counter* subscribe_failures_;
};

}  // namespace sp
