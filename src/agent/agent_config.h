// The agent's TOML file: `[agent]` (the device, its readings and its spool), `[sensors]` (the
// SenseHAT's chips and the magnetometer's calibration), and the `[mqtt]` table the daemon's file
// shares (mqtt/config.h), read through one table of settings (common/settings.h) that declares
// each key's default. Unknown keys and bad values stop start-up with file:line; a missing file
// means the defaults.
#pragma once

#include <string>
#include <vector>

#include "agent/spool.h"
#include "common/env.h"
#include "common/settings.h"
#include "mqtt/config.h"

namespace sp {

struct AgentConfig {
  std::string device;     // empty: the host name
  double interval_s = 0;  // seconds between readings
  std::string topic;      // "{device}" is replaced by the device id
  std::string spool_dir;  // resolved against the config file's folder
  int64_t spool_bytes = 0;
  SpoolSync spool_sync;
  double backlog_per_s = 0;    // readings of a backlog sent per second, beside live ones
  std::string metrics_listen;  // host:port for /metrics, /healthz, /readyz; empty: off

  struct Sensors {
    std::string i2c_device;
    bool climate = false;            // HTS221: humidity and temperature
    bool pressure = false;           // LPS25H
    bool orientation = false;        // LSM9DS1: pitch, roll, yaw
    std::vector<double> mag_offset;  // hard-iron offset, µT (from --calibrate)
    std::vector<double> mag_scale;   // soft-iron scale per axis (from --calibrate)
  } sensors;

  MqttConfig mqtt;
};

//! The agent's table of settings.
const Settings<AgentConfig>& AgentSettings();

Result<AgentConfig> LoadAgentConfig(Env* env, const std::string& path);
Result<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& path);

}  // namespace sp
