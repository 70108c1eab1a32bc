// The agent's TOML file: `[agent] device, interval_s, topic` and the `[mqtt]` table shared with
// the daemon's config (url, client_id, username, password, keepalive_s, ca_file, cert_file,
// key_file). Unknown keys and bad
// values stop start-up with file:line; a missing file means the defaults.
#pragma once

#include <string>

#include "common/config.h"

namespace sp {

struct AgentConfig {
  std::string device;           // empty: the host name
  double interval_s = 1.0;      // seconds between readings
  std::string topic = "sensor/{device}/data";  // "{device}" is replaced by the device id
  MqttConfig mqtt;
};

Result<AgentConfig> LoadAgentConfig(const std::string& path);
Result<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& path);

}  // namespace sp
