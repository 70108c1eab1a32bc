#include "agent/simulator.h"

#include <algorithm>
#include <cmath>

namespace sp {

namespace {
constexpr double kPi = 3.14159265358979323846;
double Wrap360(double deg) { return std::fmod(std::fmod(deg, 360.0) + 360.0, 360.0); }
}  // namespace

Result<Reading> SimulatedSenseHat::Read(int64_t now_us) {
  const double seconds = static_cast<double>(now_us) / 1e6 + static_cast<double>(utc_offset_s_);
  const double hour_of_day = std::fmod(std::fmod(seconds / 3600.0, 24.0) + 24.0, 24.0);
  // A sinusoid with its minimum at 05:00 and maximum at 17:00 local time.
  const double daily = std::sin(2 * kPi * (hour_of_day - 11.0) / 24.0);
  Reading r;
  r.temperature = 26.0 + 6.0 * daily + Noise(0.3);
  r.humidity = std::clamp(57.0 - 3.2 * (*r.temperature - 26.0) + Noise(0.8), 5.0, 99.0);
  r.pressure = 1010.5 + 2.0 * std::sin(2 * kPi * seconds / (3 * 86400.0)) + Noise(0.15);
  r.pitch = std::clamp(1.5 + Noise(0.7), 0.0, 6.0);
  r.roll = Wrap360(359.0 + Noise(0.6));
  r.yaw = Wrap360(185.0 + Noise(2.0));
  return r;
}

}  // namespace sp
