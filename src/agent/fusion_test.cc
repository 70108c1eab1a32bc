// The orientation filter against synthetic recorded motion with known angles: gravity and an inclined
// magnetic field turned by known pitch/roll/yaw trajectories, gyro rates consistent with them, sensor
// noise, a gyro bias, and a magnetometer distorted by hard and soft iron that the fitted calibration
// removes. Readings are taken the way SenseHat::Read takes them: a 24-sample burst at 119 Hz, with a new
// magnetometer sample (80 Hz) at two IMU samples in three.
#include "agent/fusion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "common/testing.h"

namespace sp {
namespace {

constexpr double kDeg = 0.017453292519943295;
constexpr double kRate = 119;  // IMU samples per second
constexpr int kBurst = 24;

// The Earth's field (µT, north-east-down) at inclination `dip` degrees: 49° is about Tokyo's (the seed's
// device reported +09:00), 66° northern Europe's.
Vec3 Field(double dip) {
  return {48 * std::cos(dip * kDeg), 0, 48 * std::sin(dip * kDeg)};
}

Quaternion Pose(double roll_deg, double pitch_deg, double yaw_deg) {
  return FromEuler({roll_deg * kDeg, pitch_deg * kDeg, yaw_deg * kDeg});
}

// Sensor noise assumed (not from a datasheet: Table 3 gives no noise figures we could see): accelerometer
// 2 mg, gyroscope 0.1 °/s, magnetometer 0.3 µT, each axis, white.
struct Noise {
  double accel = 0.002, gyro = 0.1 * kDeg, mag = 0.3;
};

// A board moving along pose(t), sensed in the board frame of fusion.h.
class Motion {
 public:
  Motion(std::function<Quaternion(double)> pose, Vec3 field, uint64_t seed)
      : pose_(std::move(pose)), field_(field), rng_(seed) {}
  Noise noise;
  Vec3 gyro_bias;                                                     // rad/s
  Vec3 hard_iron, soft_iron{1, 1, 1};                                 // on the magnetometer's axes
  std::function<Vec3(double)> shake = [](double) { return Vec3{}; };  // linear acceleration, g, board frame

  Quaternion pose(double t) const { return pose_(t); }
  // Body rate consistent with the trajectory: conj(q(t-h)) q(t+h) is the turn over 2h, about ω h in its
  // vector part.
  Vec3 Rate(double t) const {
    constexpr double h = 1e-5;
    Quaternion d = Conjugate(pose_(t - h)) * pose_(t + h);
    if (d.w < 0) d = {-d.w, -d.x, -d.y, -d.z};
    return (1 / h) * Vec3{d.x, d.y, d.z};
  }
  Vec3 Accel(double t) { return Rotate(Conjugate(pose_(t)), {0, 0, 1}) - shake(t) + Jitter(noise.accel); }
  Vec3 Gyro(double t) { return Rate(t) + gyro_bias + Jitter(noise.gyro); }
  Vec3 RawMag(const Quaternion& q) {
    const Vec3 b = Rotate(Conjugate(q), field_);
    return Vec3{b.x * soft_iron.x, b.y * soft_iron.y, b.z * soft_iron.z} + hard_iron + Jitter(noise.mag);
  }
  Vec3 RawMag(double t) { return RawMag(pose_(t)); }

 private:
  Vec3 Jitter(double sd) {
    std::normal_distribution<double> n(0, sd);
    return {n(rng_), n(rng_), n(rng_)};
  }
  std::function<Quaternion(double)> pose_;
  Vec3 field_;
  std::mt19937_64 rng_;
};

// One reading as SenseHat::ReadOrientation takes it, starting at t0; returns the time of its last sample.
double Fuse(OrientationFilter* f, Motion* m, const MagCalibration& cal, double t0, bool use_gyro = true) {
  f->Restart();
  double t = t0;
  for (int i = 0; i < kBurst; ++i) {
    t = t0 + i / kRate;
    std::optional<Vec3> mag;
    if (i % 3 != 2) mag = cal.Apply(m->RawMag(t));
    f->Update(m->Accel(t), use_gyro ? m->Gyro(t) : Vec3{}, mag, 1 / kRate);
  }
  return t;
}

// Degrees between two angles, across the 0/360 seam.
double AngleError(double got, double want) {
  return std::fabs(std::remainder(got - want, 360.0));
}

// Samples for a calibration run: the board turned through random orientations.
std::vector<Vec3> TurnAround(Motion* m, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::vector<Vec3> out;
  for (int i = 0; i < n; ++i) out.push_back(m->RawMag(Normalized({g(rng), g(rng), g(rng), g(rng)})));
  return out;
}

// Tolerances. Per reading the measurement noise averages over the burst: tilt from 2 mg is ~0.11° a
// sample, ~0.03° over 24; heading from 0.3 µT on a horizontal field of 48 cos(66°) = 19.5 µT is ~0.9° a
// sample, ~0.25° over its 16 magnetometer samples. The fitted calibration leaves well under 0.5° of
// heading error (FitRecoversHardAndSoftIron bounds it), and an unlearned 1.4 °/s gyro bias drifts a
// burst's mean by ~0.15°. So 0.5° for pitch and roll and 1.5° for yaw are 3-4 sigma of the budget, yet
// far inside what a wrong axis, sign or wrap would cost (degrees to tens of degrees).
constexpr double kTiltTolerance = 0.5, kYawTolerance = 1.5;

void ExpectClose(const Quaternion& fused, const Quaternion& truth, const std::string& where) {
  const Orientation got = ToOrientation(fused), want = ToOrientation(truth);
  EXPECT_LT(AngleError(got.pitch, want.pitch), kTiltTolerance)
      << where << " pitch " << got.pitch << " vs " << want.pitch;
  EXPECT_LT(AngleError(got.roll, want.roll), kTiltTolerance) << where << " roll " << got.roll << " vs " << want.roll;
  EXPECT_LT(AngleError(got.yaw, want.yaw), kYawTolerance) << where << " yaw " << got.yaw << " vs " << want.yaw;
  for (double v : {got.pitch, got.roll, got.yaw}) {
    EXPECT_GE(v, 0) << where;
    EXPECT_LT(v, 360) << where;
  }
}

TEST(FusionTest, ConventionsOfTheSenseHatLibrary) {
  // Flat with x to magnetic north is all zeros; a slight negative roll reads just under 360, as the seed's.
  EXPECT_NEAR(ToOrientation(MeasuredPose({0, 0, 1}, Field(60))).yaw, 0, 1e-9);
  const Orientation seed = ToOrientation(Pose(-0.8, 1.5, 185));
  EXPECT_NEAR(seed.roll, 359.2, 1e-9);
  EXPECT_NEAR(seed.pitch, 1.5, 1e-9);
  EXPECT_NEAR(seed.yaw, 185, 1e-9);
  EXPECT_DOUBLE_EQ(Wrap360(-0.0001), 359.9999);
  EXPECT_DOUBLE_EQ(Wrap360(360), 0);
  // Gravity along the board's +x is a pitch of -90°, reported as 270.
  EXPECT_NEAR(ToOrientation(MeasuredPose({1, 0, 0}, {0, 0, 1})).pitch, 270, 1e-6);
  // Turning about the board's z (down) at a positive rate is clockwise seen from above: yaw grows, like a
  // compass heading. The filter follows the gyroscope there.
  Motion m([](double t) { return Pose(0, 0, 30 + 20 * t); }, Field(60), 1);
  m.noise = {0, 0, 0};
  OrientationFilter f;
  const double t = Fuse(&f, &m, {}, 1.0);
  EXPECT_GT(m.Rate(t).z, 0);
  EXPECT_NEAR(ToOrientation(f.pose()).yaw, 30 + 20 * t, 1e-3);
}

TEST(FusionTest, TheSeedsFlatBoard) {
  for (double dip : {49.0, 66.0}) {
    Motion m([](double) { return Pose(-0.8, 1.5, 185); }, Field(dip), 2);
    OrientationFilter f;
    for (int k = 0; k < 10; ++k) {
      Fuse(&f, &m, {}, k);
      ExpectClose(f.pose(), m.pose(k), "dip " + std::to_string(dip) + " reading " + std::to_string(k));
      const Orientation o = ToOrientation(f.pose());
      EXPECT_GT(o.roll, 358.5);  // near 359-360, not near 0 or -1
    }
  }
}

TEST(FusionTest, YawThroughNorthWraps) {
  // Turning from 350° through north to 10° at 4°/s, tilted a little: readings every half second.
  Motion m([](double t) { return Pose(3, 5, 350 + 4 * t); }, Field(66), 3);
  OrientationFilter f;
  bool saw_low = false, saw_high = false;
  for (int k = 0; k < 10; ++k) {
    const double t = Fuse(&f, &m, {}, 0.5 * k);
    ExpectClose(f.pose(), m.pose(t), "t " + std::to_string(t));
    const double yaw = ToOrientation(f.pose()).yaw;
    saw_high = saw_high || yaw > 350;
    saw_low = saw_low || yaw < 10;
  }
  EXPECT_TRUE(saw_low && saw_high);
}

TEST(FusionTest, TumblingWithCalibratedMagnetometerAndGyroBias) {
  // The board swings in all three angles (rates up to ~30 °/s) for a minute, read once a second, with a
  // gyro bias and a distorted magnetometer. The calibration comes from a turn-around run of the same
  // magnetometer, as CalibrateMagnetometer takes it.
  Motion m(
      [](double t) { return Pose(40 * std::sin(0.7 * t), 25 * std::sin(0.45 * t + 1), 180 + 120 * std::sin(0.2 * t)); },
      Field(66), 4);
  m.gyro_bias = {1.0 * kDeg, -0.5 * kDeg, 0.8 * kDeg};
  m.hard_iron = {30, -18, 11};
  m.soft_iron = {1.1, 0.92, 1.03};
  ASSERT_OK_AND_ASSIGN(const MagCalibration cal, FitMagCalibration(TurnAround(&m, 600, 5)));
  OrientationFilter f;
  double worst_yaw_uncalibrated = 0;
  OrientationFilter raw;
  for (int k = 0; k < 60; ++k) {
    const double t = Fuse(&f, &m, cal, k);
    ExpectClose(f.pose(), m.pose(t), "t " + std::to_string(t));
    Fuse(&raw, &m, {}, k);
    worst_yaw_uncalibrated =
        std::max(worst_yaw_uncalibrated, AngleError(ToOrientation(raw.pose()).yaw, ToOrientation(m.pose(t)).yaw));
  }
  // Without the calibration the same magnetometer misleads the heading by far more than the tolerance.
  EXPECT_GT(worst_yaw_uncalibrated, 10);
}

TEST(FusionTest, TheGyroscopeCarriesMotionWithinAReading) {
  // Without its gyroscope, the same burst over fast motion averages poses along the way and lags: the
  // test above would fail. This pins that the gyro's rates are used, with the right signs.
  Motion m([](double t) { return Pose(40 * std::sin(0.7 * t), 25 * std::sin(0.45 * t + 1), 100 + 30 * t); }, Field(66),
           6);
  m.noise = {0, 0, 0};
  double worst_with = 0, worst_without = 0;
  for (int k = 0; k < 10; ++k) {
    OrientationFilter with, without;
    const double t = Fuse(&with, &m, {}, k);
    Fuse(&without, &m, {}, k, /*use_gyro=*/false);
    const double truth = ToOrientation(m.pose(t)).yaw;
    worst_with = std::max(worst_with, AngleError(ToOrientation(with.pose()).yaw, truth));
    worst_without = std::max(worst_without, AngleError(ToOrientation(without.pose()).yaw, truth));
  }
  EXPECT_LT(worst_with, 0.05);
  EXPECT_GT(worst_without, 2);  // ~ half the 30°/s x 0.19 s burst
}

TEST(FusionTest, AShakeDoesNotTiltThePose) {
  // The board is flat and still, but shaken sideways by 0.7 g for half of a reading: an accelerometer-only
  // tilt would be off by ~35°. The filter rides it out on the gyroscope.
  Motion m([](double) { return Pose(0, 0, 90); }, Field(60), 7);
  m.shake = [](double t) { return (t > 0.04 && t < 0.14) ? Vec3{0.7, 0, 0} : Vec3{}; };
  OrientationFilter f;
  const double t = Fuse(&f, &m, {}, 0);
  ExpectClose(f.pose(), m.pose(t), "shaken");
  EXPECT_GT(AngleError(ToOrientation(MeasuredPose(m.Accel(0.1), m.RawMag(0.1))).pitch, 0), 30);
}

TEST(FusionTest, LearnsTheGyroBiasWhileStill) {
  Motion m([](double) { return Pose(2, -1, 45); }, Field(60), 8);
  m.gyro_bias = {1.5 * kDeg, -1.0 * kDeg, 2.0 * kDeg};
  OrientationFilter f;
  for (int k = 0; k < 25; ++k) Fuse(&f, &m, {}, k);
  f.Restart();  // folds the last run in
  EXPECT_NEAR(f.gyro_bias().x, m.gyro_bias.x, 0.1 * kDeg);
  EXPECT_NEAR(f.gyro_bias().y, m.gyro_bias.y, 0.1 * kDeg);
  EXPECT_NEAR(f.gyro_bias().z, m.gyro_bias.z, 0.1 * kDeg);
  // While the board swings, nothing is learned. (A perfectly steady turn would be: see docs/sensehat.md.)
  Motion moving([](double t) { return Pose(30 * std::sin(2 * t), 0, 40 * t); }, Field(60), 9);
  OrientationFilter g;
  for (int k = 0; k < 5; ++k) Fuse(&g, &moving, {}, k);
  g.Restart();
  EXPECT_EQ(Norm(g.gyro_bias()), 0);
}

TEST(FusionTest, FitRecoversHardAndSoftIron) {
  Motion m([](double) { return Quaternion{}; }, Field(55), 10);
  m.hard_iron = {-42, 17, 25};
  m.soft_iron = {0.88, 1.09, 1.0};
  ASSERT_OK_AND_ASSIGN(const MagCalibration cal, FitMagCalibration(TurnAround(&m, 500, 11)));
  EXPECT_NEAR(cal.offset.x, -42, 0.3);
  EXPECT_NEAR(cal.offset.y, 17, 0.3);
  EXPECT_NEAR(cal.offset.z, 25, 0.3);
  EXPECT_NEAR(cal.scale.x * 0.88 / (cal.scale.z * 1.0), 1, 0.01);
  EXPECT_NEAR(cal.scale.y * 1.09 / (cal.scale.z * 1.0), 1, 0.01);
  // Corrected, the field is a sphere, of the distorted axes' mean radius: 48 µT x (0.88 + 1.09 + 1) / 3.
  m.noise.mag = 0;
  for (const Vec3& s : TurnAround(&m, 20, 12)) EXPECT_NEAR(Norm(cal.Apply(s)), 48 * 2.97 / 3, 0.1);
}

TEST(FusionTest, FitRefusesARunThatDidNotTurnEnough) {
  // Turned only about the vertical, lying flat: the z axis never swings, and the fit says so.
  Motion m([](double) { return Quaternion{}; }, Field(60), 13);
  m.hard_iron = {5, 5, 5};
  std::vector<Vec3> flat;
  for (int i = 0; i < 200; ++i) flat.push_back(m.RawMag(Pose(0, 0, i * 1.8)));
  auto cal = FitMagCalibration(flat);
  ASSERT_FALSE(cal.ok());
  EXPECT_NE(cal.status().message().find("turn the board"), std::string::npos) << cal.status().ToString();
  // Too few samples.
  auto few = FitMagCalibration(std::vector<Vec3>(flat.begin(), flat.begin() + 5));
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("at least 20"), std::string::npos);
}

}  // namespace
}  // namespace sp
