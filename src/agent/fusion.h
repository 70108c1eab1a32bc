// Orientation for the SenseHAT agent: the board's pose from its accelerometer, gyroscope and
// magnetometer, reported as pitch, roll and yaw in degrees 0-360 the way the Sense HAT Python library
// (sense_hat.get_orientation over RTIMULib) reports them, so the agent's messages match the seed's.
// Also the magnetometer's hard- and soft-iron calibration. Pure math: no I/O, no clock.
//
// Frame (docs/sensehat.md): vectors here are in RTIMULib's board frame, which the LSM9DS1 driver's
// readings are remapped into (sensehat.cc). It is a right-handed, aircraft-style frame: a board lying
// flat reads accel (0, 0, +1 g), the direction of gravity; yaw is the heading from magnetic north,
// growing clockwise seen from above.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace sp {

struct Vec3 {
  double x = 0, y = 0, z = 0;
};
inline Vec3 operator+(Vec3 a, Vec3 b) {
  return {a.x + b.x, a.y + b.y, a.z + b.z};
}
inline Vec3 operator-(Vec3 a, Vec3 b) {
  return {a.x - b.x, a.y - b.y, a.z - b.z};
}
inline Vec3 operator*(double k, Vec3 a) {
  return {k * a.x, k * a.y, k * a.z};
}
inline double Dot(Vec3 a, Vec3 b) {
  return a.x * b.x + a.y * b.y + a.z * b.z;
}
inline Vec3 Cross(Vec3 a, Vec3 b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
double Norm(Vec3 a);
//! Per-axis minimum and maximum.
Vec3 Min(Vec3 a, Vec3 b);
Vec3 Max(Vec3 a, Vec3 b);

//! A rotation; as a pose, it turns board-frame vectors into world (north, east, down) vectors.
struct Quaternion {
  double w = 1, x = 0, y = 0, z = 0;
};
Quaternion operator*(const Quaternion& a, const Quaternion& b);
Quaternion Conjugate(const Quaternion& q);
Quaternion Normalized(const Quaternion& q);
//! q v q*: v turned by q.
Vec3 Rotate(const Quaternion& q, Vec3 v);
//! The rotation of angle |r| (radians) about r's direction.
Quaternion FromRotationVector(Vec3 r);

//! Aircraft angles in radians, RTIMULib's fusionPose: roll about x, then pitch about y, then yaw about z.
struct Euler {
  double roll = 0, pitch = 0, yaw = 0;
};
Quaternion FromEuler(const Euler& e);
Euler ToEuler(const Quaternion& q);

//! What a message carries: degrees in [0, 360), negative angles wrapped up by 360 as sense_hat does.
struct Orientation {
  double pitch = 0, roll = 0, yaw = 0;
};
Orientation ToOrientation(const Quaternion& pose);
//! deg wrapped into [0, 360).
double Wrap360(double deg);

//! The pose measured from gravity and the magnetic field alone (no gyroscope): roll and pitch from the
//! accelerometer, yaw from the magnetometer after turning it level (tilt compensation). accel: the
//! board's reading, any unit; mag: calibrated, any unit.
Quaternion MeasuredPose(Vec3 accel, Vec3 mag);

//! The magnetometer's correction for the board's own magnetism, in the magnetometer chip's axes:
//! corrected = (raw - offset) * scale, per axis. offset is the hard-iron bias (µT); scale undoes the
//! soft-iron stretch of each axis so the field traces a sphere as the board turns.
struct MagCalibration {
  Vec3 offset;
  Vec3 scale{1, 1, 1};
  //! The corrected field.
  Vec3 Apply(Vec3 raw) const;
};

//! Fits a MagCalibration to raw magnetometer samples (µT) taken while the board is turned through
//! every orientation: a least-squares, axis-aligned ellipsoid. Fails, naming the axis, when the samples
//! do not go round enough for the fit to be trusted.
Result<MagCalibration> FitMagCalibration(const std::vector<Vec3>& samples);

struct FusionOptions {
  //! Complementary gain (1/s): how fast accel and magnetometer pull the gyro-propagated pose once the
  //! run has lasted 1/kp seconds; before that the gain is 1/t, a running mean of the measurements.
  double kp = 0.5;
  //! The accelerometer corrects tilt only while |accel| is within this of 1 g: beyond, the board is
  //! being shaken and the gyroscope alone carries the pose.
  double accel_tolerance_g = 0.15;
  //! Gyro bias learning: a run counts as still when every rate is within still_spread of the run's mean and
  //! that mean is under still_rate on each axis (rad/s). Within one short run a steady slow turn looks just
  //! like a zero-rate offset; still_rate caps what it can teach (3 °/s: 0.3° over a 0.2 s run).
  double still_spread = 0.05;
  double still_rate = 0.05;
  //! Weight of a still run's mean rate in the bias estimate.
  double bias_rate = 0.2;
};

//! A complementary filter (Mahony's form, with a 1/t gain while a run settles) over runs of
//! consecutive samples: the gyroscope propagates the pose from sample to sample, the accelerometer
//! corrects tilt, the tilt-compensated magnetometer corrects yaw only. A run starts from
//! MeasuredPose. Not thread-safe.
class OrientationFilter {
 public:
  explicit OrientationFilter(FusionOptions options = {}) : options_(options) {}
  //! Ends the current run: the next Update seeds a new one. The gyro bias learns from the ended run if the
  //! board was still during it.
  void Restart();
  //! One sample: accel in g, gyro in rad/s, mag calibrated (absent when it had no new sample), dt in s
  //! since the previous sample.
  void Update(Vec3 accel_g, Vec3 gyro, const std::optional<Vec3>& mag, double dt);
  //! The current pose; identity before the first Update.
  const Quaternion& pose() const { return pose_; }
  //! The gyroscope's learned zero-rate offset, rad/s.
  Vec3 gyro_bias() const { return bias_; }

 private:
  FusionOptions options_;
  Quaternion pose_;
  Vec3 bias_;
  Vec3 last_gyro_;
  bool seeded_ = false;
  double run_seconds_ = 0;
  // The current run's gyro statistics, for the bias.
  int run_samples_ = 0, run_mag_samples_ = 0;
  bool run_accel_steady_ = true;
  Vec3 run_sum_, run_min_, run_max_;
};

}  // namespace sp
