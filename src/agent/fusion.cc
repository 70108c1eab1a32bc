#include "agent/fusion.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace sp {

namespace {
constexpr double kRadToDeg = 57.29577951308232;
}  // namespace

double Norm(Vec3 a) {
  return std::sqrt(Dot(a, a));
}
Vec3 Min(Vec3 a, Vec3 b) {
  return {std::min(a.x, b.x), std::min(a.y, b.y), std::min(a.z, b.z)};
}
Vec3 Max(Vec3 a, Vec3 b) {
  return {std::max(a.x, b.x), std::max(a.y, b.y), std::max(a.z, b.z)};
}

Quaternion operator*(const Quaternion& a, const Quaternion& b) {
  return {a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z, a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
          a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x, a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w};
}

Quaternion Conjugate(const Quaternion& q) {
  return {q.w, -q.x, -q.y, -q.z};
}

Quaternion Normalized(const Quaternion& q) {
  const double n = std::sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
  return n > 0 ? Quaternion{q.w / n, q.x / n, q.y / n, q.z / n} : Quaternion{};
}

Vec3 Rotate(const Quaternion& q, Vec3 v) {
  const Quaternion r = q * Quaternion{0, v.x, v.y, v.z} * Conjugate(q);
  return {r.x, r.y, r.z};
}

Quaternion FromRotationVector(Vec3 r) {
  const double angle = Norm(r);
  if (angle < 1e-12) return Normalized({1, r.x / 2, r.y / 2, r.z / 2});
  const double s = std::sin(angle / 2) / angle;
  return {std::cos(angle / 2), s * r.x, s * r.y, s * r.z};
}

// FromEuler and ToEuler are RTIMULib's RTQuaternion::fromEuler/toEuler (RTIMULib/RTMath.cpp): the
// aircraft z-y-x sequence whose angles sense_hat reports as roll (x), pitch (y) and yaw (z).
Quaternion FromEuler(const Euler& e) {
  const double cr = std::cos(e.roll / 2), sr = std::sin(e.roll / 2);
  const double cp = std::cos(e.pitch / 2), sp = std::sin(e.pitch / 2);
  const double cy = std::cos(e.yaw / 2), sy = std::sin(e.yaw / 2);
  return Normalized({cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
                     cr * cp * sy - sr * sp * cy});
}

Euler ToEuler(const Quaternion& q) {
  Euler e;
  e.roll = std::atan2(2 * (q.y * q.z + q.w * q.x), 1 - 2 * (q.x * q.x + q.y * q.y));
  e.pitch = std::asin(std::clamp(2 * (q.w * q.y - q.x * q.z), -1.0, 1.0));
  e.yaw = std::atan2(2 * (q.x * q.y + q.w * q.z), 1 - 2 * (q.y * q.y + q.z * q.z));
  return e;
}

double Wrap360(double deg) {
  const double w = std::fmod(deg, 360.0);
  return w < 0 ? w + 360.0 : w;
}

Orientation ToOrientation(const Quaternion& pose) {
  // sense_hat's get_orientation_degrees: math.degrees of each angle (-180..180), plus 360 when negative.
  const Euler e = ToEuler(pose);
  return {Wrap360(e.pitch * kRadToDeg), Wrap360(e.roll * kRadToDeg), Wrap360(e.yaw * kRadToDeg)};
}

Quaternion MeasuredPose(Vec3 accel, Vec3 mag) {
  // RTIMULib's RTFusion::calculatePose with RTVector3::accelToEuler: tilt from gravity, then the field
  // turned level by that tilt gives the heading.
  Euler e;
  e.roll = std::atan2(accel.y, accel.z);
  e.pitch = -std::atan2(accel.x, std::hypot(accel.y, accel.z));
  const Vec3 level = Rotate(FromEuler(e), mag);
  e.yaw = -std::atan2(level.y, level.x);
  return FromEuler(e);
}

Vec3 MagCalibration::Apply(Vec3 raw) const {
  const Vec3 d = raw - offset;
  return {d.x * scale.x, d.y * scale.y, d.z * scale.z};
}

namespace {

// Solves the n x n system m x = b in place by Gaussian elimination with partial pivoting; false when singular.
template <size_t N>
bool Solve(std::array<std::array<double, N>, N>& m, std::array<double, N>& b) {
  for (size_t col = 0; col < N; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < N; ++r) {
      if (std::fabs(m[r][col]) > std::fabs(m[pivot][col])) pivot = r;
    }
    if (std::fabs(m[pivot][col]) < 1e-12) return false;
    std::swap(m[col], m[pivot]);
    std::swap(b[col], b[pivot]);
    for (size_t r = col + 1; r < N; ++r) {
      const double f = m[r][col] / m[col][col];
      for (size_t c = col; c < N; ++c) m[r][c] -= f * m[col][c];
      b[r] -= f * b[col];
    }
  }
  for (size_t i = N; i-- > 0;) {
    for (size_t c = i + 1; c < N; ++c) b[i] -= m[i][c] * b[c];
    b[i] /= m[i][i];
  }
  return true;
}

Status TurnTheBoard() {
  return Status::InvalidArgument(
      "magnetometer calibration: the samples do not trace an ellipsoid; turn the board slowly through every "
      "orientation (each face up in turn) while it samples");
}

}  // namespace

Result<MagCalibration> FitMagCalibration(const std::vector<Vec3>& samples) {
  constexpr size_t kMinSamples = 20;
  if (samples.size() < kMinSamples) {
    return Status::InvalidArgument("magnetometer calibration: " + std::to_string(samples.size()) +
                                   " samples, at least " + std::to_string(kMinSamples) + " are needed");
  }
  // Fit A x^2 + B y^2 + C z^2 + D x + E y + F z = 1 by least squares: an ellipsoid whose axes are the
  // sensor's (soft iron assumed to stretch each axis, not to shear them). Done in coordinates centred on
  // the samples' mean and scaled by their spread, which keeps the normal equations well conditioned.
  Vec3 mean;
  for (const Vec3& s : samples) mean = mean + s;
  mean = (1.0 / static_cast<double>(samples.size())) * mean;
  double spread = 0;
  for (const Vec3& s : samples) spread += Dot(s - mean, s - mean);
  spread = std::sqrt(spread / static_cast<double>(samples.size()));
  if (spread <= 0) return TurnTheBoard();

  std::array<std::array<double, 6>, 6> m{};
  std::array<double, 6> b{};
  Vec3 lo = samples.front(), hi = samples.front();
  for (const Vec3& s : samples) {
    const Vec3 u = (1.0 / spread) * (s - mean);
    const std::array<double, 6> row = {u.x * u.x, u.y * u.y, u.z * u.z, u.x, u.y, u.z};
    for (size_t i = 0; i < 6; ++i) {
      for (size_t j = 0; j < 6; ++j) m[i][j] += row[i] * row[j];
      b[i] += row[i];
    }
    lo = Min(lo, s);
    hi = Max(hi, s);
  }
  if (!Solve(m, b)) return TurnTheBoard();
  const double a = b[0], bb = b[1], c = b[2];
  if (a <= 0 || bb <= 0 || c <= 0) return TurnTheBoard();
  const Vec3 center_u{-b[3] / (2 * a), -b[4] / (2 * bb), -b[5] / (2 * c)};
  const double s = 1 + a * center_u.x * center_u.x + bb * center_u.y * center_u.y + c * center_u.z * center_u.z;
  if (s <= 0) return TurnTheBoard();
  const Vec3 radius = spread * Vec3{std::sqrt(s / a), std::sqrt(s / bb), std::sqrt(s / c)};

  // A fit from a partial turn extrapolates the ellipsoid from a cap of it; insist that each axis swept
  // at least one radius (half of the full swing) so the offsets rest on measured extremes.
  const char* names[3] = {"x", "y", "z"};
  const double spans[3] = {hi.x - lo.x, hi.y - lo.y, hi.z - lo.z};
  const double radii[3] = {radius.x, radius.y, radius.z};
  for (int i = 0; i < 3; ++i) {
    if (spans[i] < radii[i]) {
      char text[256];
      std::snprintf(text, sizeof text,
                    "magnetometer calibration: its %s axis swung over %.1f µT, at least %.1f µT are needed; turn "
                    "the board slowly through every orientation (each face up in turn) while it samples",
                    names[i], spans[i], radii[i]);
      return Status::InvalidArgument(text);
    }
  }
  MagCalibration cal;
  cal.offset = mean + spread * center_u;
  // Scale each axis to the mean radius: the corrected field keeps about its strength in µT (soft iron hides the
  // true one).
  const double r = (radius.x + radius.y + radius.z) / 3;
  cal.scale = {r / radius.x, r / radius.y, r / radius.z};
  return cal;
}

void OrientationFilter::Restart() {
  // A run over which the board held still (steady 1 g, rates flat) measured the gyroscope's zero-rate
  // offset as its mean rate: the same idea as RTIMULib's handleGyroBias. Fold it in slowly.
  constexpr int kMinStillSamples = 8;
  const Vec3 spread = run_max_ - run_min_;
  const Vec3 mean = (1.0 / std::max(run_samples_, 1)) * run_sum_;
  if (run_samples_ >= kMinStillSamples && run_accel_steady_ &&
      std::max({spread.x, spread.y, spread.z}) <= options_.still_spread &&
      std::max({std::fabs(mean.x), std::fabs(mean.y), std::fabs(mean.z)}) <= options_.still_rate) {
    bias_ = bias_ + options_.bias_rate * (mean - bias_);
  }
  seeded_ = false;
  run_samples_ = run_mag_samples_ = 0;
  run_accel_steady_ = true;
  run_sum_ = run_min_ = run_max_ = Vec3{};
}

void OrientationFilter::Update(Vec3 accel_g, Vec3 gyro, const std::optional<Vec3>& mag, double dt) {
  const double accel_norm = Norm(accel_g);
  const bool accel_usable = accel_norm > 0 && std::fabs(accel_norm - 1) <= options_.accel_tolerance_g;
  run_accel_steady_ = run_accel_steady_ && accel_usable;
  run_sum_ = run_sum_ + gyro;
  run_min_ = run_samples_ == 0 ? gyro : Min(run_min_, gyro);
  run_max_ = run_samples_ == 0 ? gyro : Max(run_max_, gyro);
  ++run_samples_;

  if (!seeded_) {
    // Seed from the measurement alone; without a field sample, keep the heading we had.
    Euler e = ToEuler(MeasuredPose(accel_g, mag.value_or(Vec3{1, 0, 0})));
    if (!mag) e.yaw = ToEuler(pose_).yaw;
    pose_ = FromEuler(e);
    seeded_ = true;
    last_gyro_ = gyro;
    run_mag_samples_ = mag ? 1 : 0;
    return;
  }
  if (dt <= 0) return;
  // Predict: carry the pose to this sample's time on the gyroscope, with the mean of this and the last
  // rate over the interval. Then correct against this sample's measurement, so a moving board's
  // measurement is compared with the pose at its own time.
  const Vec3 rate = 0.5 * (gyro + last_gyro_) - bias_;
  last_gyro_ = gyro;
  pose_ = Normalized(pose_ * FromRotationVector(dt * rate));
  // The weight of this sample's measurement: 1/n while the run is young (so the pose is the running mean
  // of the measurements, each carried forward by the gyroscope), then kp*dt (a complementary filter with
  // time constant 1/kp). The magnetometer keeps its own count, as it samples less often.
  auto weight = [&](int n) { return std::max(options_.kp * dt, 1.0 / n); };
  const Vec3 down = Rotate(Conjugate(pose_), {0, 0, 1});  // where the pose expects gravity, board frame
  Vec3 correction;
  if (accel_usable) {
    // Mahony's correction: the rotation that brings the expected gravity onto the measured one. It is
    // perpendicular to `down`, so it never moves the heading.
    correction = weight(run_samples_) * Cross((1 / accel_norm) * accel_g, down);
  }
  if (mag && Norm(*mag) > 0) {
    // The field turned into the world by the current pose should point north (+x): its bearing there is
    // the heading error. Correct it by a turn about the vertical only, so a disturbed magnetometer
    // never tilts the pose.
    const Vec3 world = Rotate(pose_, *mag);
    correction = correction + (-weight(++run_mag_samples_) * std::atan2(world.y, world.x)) * down;
  }
  pose_ = Normalized(pose_ * FromRotationVector(correction));
}

}  // namespace sp
