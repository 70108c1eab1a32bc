// Publishing over MQTT with libmosquitto, which is fine on this side: its on_publish callback
// fires when the broker's PUBACK arrives, so "acknowledged" means the broker has the message.
// The session is persistent (MQTT 5: clean start off and a session expiry of a week) and the
// client id is the device id. libmosquitto runs its network loop in its own thread, which calls
// the event handler; Publish may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "common/status.h"
#include "mqtt/config.h"

struct mosquitto;
struct mqtt5__property;

namespace sp {

struct PublisherOptions {
  MqttUrl broker;         // host, port, and TLS for mqtts://
  MqttConfig mqtt;        // client_id (required here), credentials, protocol, keepalive, TLS files (an
                          // empty ca_file means the system's trust store)
  int max_inflight = 20;  // QoS 1 messages awaiting PUBACK before libmosquitto queues
};

//! What the network thread reports: a PUBACK for message id `mid` (with MQTT 5, `reason` 0x80 or
//! above means the broker refused the message, e.g. 0x87 not authorized), or the connection going
//! up or down (mid 0).
struct PublisherEvent {
  enum class Kind { kAcked, kConnected, kDisconnected };
  Kind kind;
  int mid = 0;
  int reason = 0;
};

class Publisher {
 public:
  using EventFn = std::function<void(PublisherEvent)>;
  //! on_event runs on libmosquitto's thread: it must be quick and must not call back in.
  Publisher(PublisherOptions options, EventFn on_event);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  //! Starts connecting in the background; reconnects by itself with backoff.
  Status Start();
  //! Sends one QoS 1 message and returns its message id, which a kAcked event names once the
  //! broker has it. Unavailable while disconnected.
  Result<int> Publish(const std::string& topic, std::string_view payload);
  //! Disconnects and stops the network thread.
  void Stop();

  bool connected() const { return connected_; }

 private:
  static void OnConnect(mosquitto*, void* self, int rc);
  static void OnDisconnect(mosquitto*, void* self, int rc);
  static void OnPublish(mosquitto*, void* self, int mid, int reason, const ::mqtt5__property* props);

  const PublisherOptions options_;
  const EventFn on_event_;
  mosquitto* mosq_ = nullptr;
  std::atomic<bool> connected_{false};
  std::atomic<int> version_{5};
};

}  // namespace sp
