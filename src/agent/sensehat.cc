#include "agent/sensehat.h"

namespace sp {

namespace {

constexpr double kDegToRad = 0.017453292519943295;

// The LSM9DS1's axes turned into RTIMULib's board frame, exactly as RTIMULib's RTIMULSM9DS1::IMURead
// does before its fusion (RTIMULib/IMUDrivers/RTIMULSM9DS1.cpp), so our angles are the Sense HAT
// library's. In the datasheet's Figure 1 the magnetometer's x axis points against the accelerometer's,
// which is why the three remaps differ; docs/sensehat.md has the geometry.
Vec3 BoardAccel(Vec3 chip) {
  return {-chip.x, -chip.y, chip.z};
}
Vec3 BoardGyro(Vec3 chip) {
  return {chip.x, chip.y, -chip.z};
}
Vec3 BoardMag(Vec3 chip) {
  return {-chip.x, chip.y, -chip.z};
}

}  // namespace

Result<std::unique_ptr<SenseHat>> OpenSenseHat(I2cBus* bus, const SenseHatOptions& options) {
  if (!options.climate && !options.pressure && !options.orientation) {
    return Status::InvalidArgument("SenseHAT: climate, pressure and orientation are all switched off");
  }
  if (options.imu_samples < 1) return Status::InvalidArgument("SenseHAT: imu_samples must be at least 1");
  auto absent = [&](const Status& s) {
    if (s.ok() || !s.IsNotFound()) return s;
    return Status::NotFound("no SenseHAT found: " + std::string(s.message()) +
                            ". Is the board seated on the Pi's header? --simulate runs the agent without a board");
  };
  std::unique_ptr<SenseHat> hat(new SenseHat(bus, options));
  if (options.climate) {
    auto chip = Hts221::Open(bus);
    if (!chip.ok()) return absent(chip.status());
    hat->climate_ = std::move(chip).value();
  }
  if (options.pressure) {
    auto chip = Lps25h::Open(bus);
    if (!chip.ok()) return absent(chip.status());
    hat->pressure_ = std::move(chip).value();
  }
  if (options.orientation) {
    auto chip = Lsm9ds1::Open(bus);
    if (!chip.ok()) return absent(chip.status());
    hat->imu_ = std::move(chip).value();
  }
  return hat;
}

Result<Reading> SenseHat::Read(int64_t /*now_us*/) {
  Reading r;
  if (climate_) {
    SP_ASSIGN_OR_RETURN(const Hts221::Sample s, climate_->Read());
    r.humidity = s.humidity;
    r.temperature = s.temperature;  // sense_hat's get_temperature is get_temperature_from_humidity
  }
  if (pressure_) {
    SP_ASSIGN_OR_RETURN(const Lps25h::Sample s, pressure_->Read());
    r.pressure = s.pressure;
    // With the HTS221 off, the LPS25H's own thermometer is the one left (sense_hat's
    // get_temperature_from_pressure).
    if (!climate_) r.temperature = s.temperature;
  }
  if (imu_) {
    SP_ASSIGN_OR_RETURN(const Orientation o, ReadOrientation());
    r.pitch = o.pitch;
    r.roll = o.roll;
    r.yaw = o.yaw;
  }
  return r;
}

Result<Orientation> SenseHat::ReadOrientation() {
  // A burst, not a thread: the agent reports every 1 to 60 s and needs the pose only then. A thread
  // sampling all the time would wake the CPU ~100 times a second to feed a filter read once. The chip's
  // FIFO holds 32 samples, 0.27 s at 119 Hz (2.1 s at its slowest 14.9 Hz), so it could not bridge the
  // interval either, and the datasheet does not say how burst reads pop it. Each Read fuses a fresh
  // 0.2 s run: the gyroscope carries the pose through it, accelerometer and magnetometer average out
  // their noise, and a shake during it is ridden out on the gyroscope.
  filter_.Restart();
  const double dt = 1 / Lsm9ds1::kImuRateHz;
  for (int i = 0; i < options_.imu_samples; ++i) {
    SP_ASSIGN_OR_RETURN(const ImuSample s, imu_->ReadImu());
    // The field right after each IMU sample; used when it is a new one (two IMU samples in three at 80 Hz),
    // and always for the first, which seeds the run.
    bool fresh = false;
    SP_ASSIGN_OR_RETURN(const Vec3 m, imu_->ReadMag(&fresh));
    std::optional<Vec3> mag;
    if (fresh || i == 0) mag = BoardMag(options_.mag.Apply(m));
    filter_.Update(BoardAccel(s.accel), kDegToRad * BoardGyro(s.gyro), mag, dt);
  }
  return ToOrientation(filter_.pose());
}

Result<MagCalibration> SenseHat::CalibrateMagnetometer(
    std::chrono::milliseconds duration, const std::function<void(const MagCalibrationProgress&)>& progress) {
  if (!imu_) {
    return Status::InvalidArgument("magnetometer calibration needs the orientation sensor (LSM9DS1) switched on");
  }
  // Time is counted in the sleeps between samples (the bus's clock), so a fake bus runs it instantly.
  const auto period = std::chrono::microseconds(static_cast<int64_t>(1e6 / Lsm9ds1::kMagRateHz));
  std::vector<Vec3> samples;
  MagCalibrationProgress p;
  p.duration = duration;
  std::chrono::microseconds elapsed{0};
  auto next_report = std::chrono::microseconds(std::chrono::seconds(1));
  while (elapsed < duration) {
    bool fresh = false;
    SP_ASSIGN_OR_RETURN(const Vec3 m, imu_->ReadMag(&fresh));
    if (fresh) {
      p.min = samples.empty() ? m : Min(p.min, m);
      p.max = samples.empty() ? m : Max(p.max, m);
      samples.push_back(m);
    }
    bus_->Sleep(period);
    elapsed += period;
    if (progress && elapsed >= next_report) {
      p.samples = samples.size();
      p.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed);
      progress(p);
      next_report += std::chrono::seconds(1);
    }
  }
  return FitMagCalibration(samples);
}

}  // namespace sp
