// The agent stage, in place of the Pi's publish script: `sensorpipe-agent` reads a SenseHAT (or
// the simulator), formats the seed's message and publishes it over MQTT at QoS 1. Sensors is the
// seam between the two sources: the SenseHAT's drivers over i2c-dev and the simulator.
#pragma once

#include <cstdint>
#include <optional>

#include "common/status.h"

namespace sp {

//! One sample of every sensor, in the SenseHAT's units. A sensor that is switched off (or absent)
//! leaves its fields empty, and the message then omits them.
struct Reading {
  std::optional<double> temperature;  // °C
  std::optional<double> humidity;     // % relative
  std::optional<double> pressure;     // hPa
  std::optional<double> pitch, roll, yaw;  // degrees, 0-360
};

class Sensors {
 public:
  virtual ~Sensors() = default;
  //! Samples every sensor; now_us is the wall clock (UTC µs), which a simulator may follow.
  virtual Result<Reading> Read(int64_t now_us) = 0;
};

}  // namespace sp
