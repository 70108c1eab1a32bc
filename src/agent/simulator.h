// A simulated SenseHAT: believable readings for demos and tests, deterministic for a given seed.
// Temperature follows a daily curve over the device's local time (coolest near 05:00, warmest near
// 17:00) with noise; humidity moves against it, as in the seed's data (r close to -0.97);
// pressure drifts slowly; the board lies nearly flat (pitch 0-3°, roll near 359°, yaw near 185°).
#pragma once

#include <random>

#include "agent/sensors.h"

namespace sp {

class SimulatedSenseHat final : public Sensors {
 public:
  //! utc_offset_s: the device's local time offset, which places the daily curve.
  SimulatedSenseHat(uint64_t seed, int64_t utc_offset_s) : rng_(seed), utc_offset_s_(utc_offset_s) {}
  Result<Reading> Read(int64_t now_us) override;

 private:
  double Noise(double sd) { return std::normal_distribution<double>(0, sd)(rng_); }
  std::mt19937_64 rng_;
  int64_t utc_offset_s_;
};

}  // namespace sp
