// The agent stage, in place of the Pi's publish script: `sensorpipe-agent` reads a SenseHAT (or
// the simulator), formats the seed's message and publishes it over MQTT at QoS 1. Sensors is the
// seam between the two sources; the SenseHAT drivers over i2c-dev come with the device issue.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace sp {

//! One sample of every sensor, in the SenseHAT's units.
struct Reading {
  double temperature = 0;  // °C
  double humidity = 0;     // % relative
  double pressure = 0;     // hPa
  double pitch = 0, roll = 0, yaw = 0;  // degrees, 0-360
};

class Sensors {
 public:
  virtual ~Sensors() = default;
  //! Samples every sensor; now_us is the wall clock (UTC µs), which a simulator may follow.
  virtual Result<Reading> Read(int64_t now_us) = 0;
};

}  // namespace sp
