// The [mqtt] settings the daemon's and the agent's files share (url, client_id, username, password,
// protocol, keepalive_s, TLS files), and the broker URL's parser. Free of the client and of
// OpenSSL (the small library sp_mqtt_config), so the device agent can use it.
#pragma once

#include <string>
#include <vector>

#include "common/settings.h"
#include "common/status.h"

namespace sp {

//! An MQTT connection, as the daemon's [mqtt] and the agent's describe it.
struct MqttConfig {
  std::string url;                  // mqtt://host:port, or mqtts://host:port for TLS
  std::vector<std::string> topics;  // the daemon's subscriptions (the agent has no such key)
  std::string client_id;            // empty: "sensorpipe-<hostname>" for the daemon, the device id for the agent
  std::string username;
  std::string password;
  std::string protocol;  // auto | 3.1.1 | 5
  int keepalive_s = 0;
  // TLS (mqtts://): PEM files, relative to the config file's folder.
  std::string ca_file;    // empty: the system's trust store
  std::string cert_file;  // client certificate, for brokers that require one
  std::string key_file;
};

//! "mqtt://host:port" or "mqtts://host:port" split up; the port defaults to 1883, or 8883 with TLS.
struct MqttUrl {
  std::string host;
  int port = 1883;
  bool tls = false;
};
Result<MqttUrl> ParseMqttUrl(const std::string& url);

//! The [mqtt] keys both files have (all but the daemon's `topics`), with their defaults.
const Settings<MqttConfig>& MqttSettings();

}  // namespace sp
