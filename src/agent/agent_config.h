// The agent's TOML file: `[agent] device, interval_s, topic, spool_dir, spool_bytes, spool_sync,
// backlog_per_s, metrics_listen`, `[sensors] i2c_device, climate, pressure, orientation, mag_offset, mag_scale`,
// and the `[mqtt]` table shared with the daemon's config (url, client_id, username, password,
// protocol, keepalive_s, ca_file, cert_file, key_file). Unknown keys and bad values stop start-up
// with file:line; a missing file means the defaults.
#pragma once

#include <string>
#include <vector>

#include "agent/spool.h"
#include "common/config.h"

namespace sp {

struct AgentConfig {
  std::string device;                          // empty: the host name
  double interval_s = 1.0;                     // seconds between readings
  std::string topic = "sensor/{device}/data";  // "{device}" is replaced by the device id
  std::string spool_dir = "spool";             // relative to the config file's folder
  int64_t spool_bytes = 64 << 20;
  SpoolSync spool_sync;        // default interval:10000 (spool.h)
  double backlog_per_s = 50;   // readings of a backlog sent per second, beside live ones
  std::string metrics_listen;  // host:port for /metrics, /healthz, /readyz; empty: off

  struct Sensors {
    std::string i2c_device = "/dev/i2c-1";
    bool climate = true;                         // HTS221: humidity and temperature
    bool pressure = true;                        // LPS25H
    bool orientation = true;                     // LSM9DS1: pitch, roll, yaw
    std::vector<double> mag_offset = {0, 0, 0};  // hard-iron offset, µT (from --calibrate)
    std::vector<double> mag_scale = {1, 1, 1};   // soft-iron scale per axis (from --calibrate)
  } sensors;

  MqttConfig mqtt;
};

Result<AgentConfig> LoadAgentConfig(const std::string& path);
Result<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& path);

}  // namespace sp
