// Publishing over MQTT with libmosquitto, which is fine on this side: its on_publish callback
// fires when the broker's PUBACK arrives, so "acknowledged" means the broker has the message.
// The session is persistent and the client id is the device id. Thread-safe: libmosquitto runs
// its network loop in its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "common/status.h"

struct mosquitto;

namespace sp {

struct PublisherOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;
  std::string username, password;
  int keepalive_s = 30;
  bool tls = false;       // mqtts://
  std::string ca_file;    // empty: the system's trust store
  std::string cert_file;  // client certificate (one per device), with key_file
  std::string key_file;
};

class Publisher {
 public:
  explicit Publisher(PublisherOptions options);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  //! Starts connecting in the background; reconnects by itself with backoff.
  Status Start();
  //! Queues one QoS 1 message. Unavailable while disconnected (the device issue adds the
  //! on-disk spool that keeps such readings).
  Status Publish(const std::string& topic, const std::string& payload);
  //! Waits up to timeout for every published message's PUBACK, then disconnects.
  void Stop(std::chrono::milliseconds timeout);

  bool connected() const { return connected_; }
  uint64_t published() const { return published_; }
  uint64_t acknowledged() const { return acknowledged_; }

 private:
  static void OnConnect(mosquitto*, void* self, int rc);
  static void OnDisconnect(mosquitto*, void* self, int rc);
  static void OnPublish(mosquitto*, void* self, int mid);

  const PublisherOptions options_;
  mosquitto* mosq_ = nullptr;
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> published_{0}, acknowledged_{0};
};

}  // namespace sp
