// The Raspberry Pi SenseHAT behind the agent's Sensors seam: its HTS221 (humidity, temperature), LPS25H
// (pressure) and LSM9DS1 (orientation) over an I2cBus, each switchable off. A sensor switched off is never
// touched and leaves its Reading fields empty. Readings match the Sense HAT Python library's: temperature
// from the HTS221 as its get_temperature, pitch/roll/yaw in degrees 0-360 as its get_orientation
// (docs/sensehat.md). A SenseHat is used by one thread at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "agent/fusion.h"
#include "agent/hts221.h"
#include "agent/i2c.h"
#include "agent/lps25h.h"
#include "agent/lsm9ds1.h"
#include "agent/sensors.h"

namespace sp {

struct SenseHatOptions {
  bool climate = true;      // HTS221: humidity and temperature
  bool pressure = true;     // LPS25H: pressure, and the temperature when climate is off
  bool orientation = true;  // LSM9DS1: pitch, roll, yaw
  MagCalibration mag;       // from a calibration run (SenseHat::CalibrateMagnetometer); the default corrects nothing
  // IMU samples fused at each Read, at 119 Hz: 24 take 0.2 s and average the measurement noise down ~5x.
  int imu_samples = 24;
};

//! Where a magnetometer calibration run stands, reported about once a second.
struct MagCalibrationProgress {
  size_t samples = 0;
  std::chrono::milliseconds elapsed{0}, duration{0};
  Vec3 min, max;  // the raw field's extremes so far per axis, µT: each should swing through ± the field
};

class SenseHat final : public Sensors {
 public:
  //! Samples every sensor switched on. The orientation fuses a burst of imu_samples IMU samples taken now.
  Result<Reading> Read(int64_t now_us) override;
  //! Samples the raw magnetometer for `duration` while someone turns the board through every orientation,
  //! calls `progress` (may be empty) about once a second, and fits the calibration (FitMagCalibration).
  //! Needs the orientation sensor on.
  Result<MagCalibration> CalibrateMagnetometer(std::chrono::milliseconds duration,
                                               const std::function<void(const MagCalibrationProgress&)>& progress);

 private:
  friend Result<std::unique_ptr<SenseHat>> OpenSenseHat(I2cBus* bus, const SenseHatOptions& options);
  SenseHat(I2cBus* bus, const SenseHatOptions& options) : bus_(bus), options_(options) {}
  Result<Orientation> ReadOrientation();

  I2cBus* bus_;
  const SenseHatOptions options_;
  std::unique_ptr<Hts221> climate_;
  std::unique_ptr<Lps25h> pressure_;
  std::unique_ptr<Lsm9ds1> imu_;
  OrientationFilter filter_;
};

//! Finds the chips of the sensors switched on, on `bus` (not owned; it must outlive the SenseHat), and starts
//! them. When one is missing, NotFound says which chip did not answer at which address on which bus, and
//! that --simulate runs without a board.
Result<std::unique_ptr<SenseHat>> OpenSenseHat(I2cBus* bus, const SenseHatOptions& options);

}  // namespace sp
