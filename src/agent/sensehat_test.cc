// The SenseHAT's drivers against register-level fakes of its chips (fake_sensehat.h): worked examples of
// each chip's conversions, the registers each driver writes, board detection, sensors switched off, bus
// errors; and the whole board's Read and magnetometer calibration through the fake.
#include "agent/sensehat.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "agent/fake_sensehat.h"
#include "common/testing.h"

namespace sp {
namespace {

using testing::FakeSenseHat;
using testing::SenseHatPhysics;

constexpr double kDeg = 0.017453292519943295;

// Options with some sensors switched off.
SenseHatOptions Options(bool climate, bool pressure, bool orientation) {
  SenseHatOptions o;
  o.climate = climate;
  o.pressure = pressure;
  o.orientation = orientation;
  return o;
}

// The writes the driver made to addr, in order.
std::vector<std::pair<uint8_t, uint8_t>> WritesTo(const FakeSenseHat& bus, uint8_t addr) {
  std::vector<std::pair<uint8_t, uint8_t>> out;
  for (const auto& w : bus.writes()) {
    if (w.addr == addr) out.emplace_back(w.reg, w.value);
  }
  return out;
}

void SetHts221Calibration(FakeSenseHat* bus, const std::vector<uint8_t>& regs) {
  for (size_t i = 0; i < regs.size(); ++i) bus->reg(0x5f, static_cast<uint8_t>(0x30 + i)) = regs[i];
}

void SetRaw16(FakeSenseHat* bus, uint8_t addr, uint8_t reg, int16_t v) {
  bus->reg(addr, reg) = static_cast<uint8_t>(v & 0xff);
  bus->reg(addr, reg + 1) = static_cast<uint8_t>((v >> 8) & 0xff);
}

TEST(Hts221Test, DatasheetTemperatureExample) {
  // The HTS221 datasheet's temperature example (its Table 20, which we saw quoted in an ST community
  // thread, "How to convert the value to Temperature and Humidity for HTS221?", not in the datasheet
  // itself): T0_OUT = 300 at T0_degC_x8 = 80 (10.0 °C), T1_OUT = 500 at T1_degC_x8 = 160 (20.0 °C);
  // T_OUT = 400 is 15.0 °C. The humidity points are our own numbers: 20 % at 4000, 40 % at 6000, so
  // H_OUT = 5000 is 30 %.
  FakeSenseHat bus;
  SetHts221Calibration(&bus, {40, 80, 80, 160, 0, 0x00, 0xa0, 0x0f, 0, 0, 0x70, 0x17, 0x2c, 0x01, 0xf4, 0x01});
  bus.FreezeOutputs(0x5f);
  SetRaw16(&bus, 0x5f, 0x28, 5000);
  SetRaw16(&bus, 0x5f, 0x2a, 400);
  ASSERT_OK_AND_ASSIGN(auto chip, Hts221::Open(&bus));
  EXPECT_DOUBLE_EQ(chip->calibration().t0_degc, 10.0);
  EXPECT_DOUBLE_EQ(chip->calibration().t1_degc, 20.0);
  ASSERT_OK_AND_ASSIGN(const Hts221::Sample s, chip->Read());
  EXPECT_DOUBLE_EQ(s.temperature, 15.0);
  EXPECT_DOUBLE_EQ(s.humidity, 30.0);
}

TEST(Hts221Test, RealChipCalibrationWithMsbBitsAndNegativeOutputs) {
  // A real chip's calibration (fake_sensehat.cc): T1/T0 msb 0xc4 gives T1 bit 8, so T1 = 266 / 8.
  FakeSenseHat bus;
  bus.FreezeOutputs(0x5f);
  SetRaw16(&bus, 0x5f, 0x28, -7000);
  SetRaw16(&bus, 0x5f, 0x2a, 300);
  ASSERT_OK_AND_ASSIGN(auto chip, Hts221::Open(&bus));
  const Hts221Calibration& c = chip->calibration();
  EXPECT_DOUBLE_EQ(c.h0_rh, 32);
  EXPECT_DOUBLE_EQ(c.h1_rh, 72);
  EXPECT_DOUBLE_EQ(c.t0_degc, 19.875);
  EXPECT_DOUBLE_EQ(c.t1_degc, 33.25);
  EXPECT_EQ(c.h0_t0_out, -18);
  EXPECT_EQ(c.h1_t0_out, -13883);
  EXPECT_EQ(c.t0_out, -2);
  EXPECT_EQ(c.t1_out, 691);
  ASSERT_OK_AND_ASSIGN(const Hts221::Sample s, chip->Read());
  EXPECT_NEAR(s.temperature, 19.875 + 13.375 * 302 / 693, 1e-9);
  EXPECT_NEAR(s.humidity, 32 + 40.0 * (-7000 + 18) / (-13883 + 18), 1e-9);
  // Past the calibrated line, humidity stops at its physical bounds.
  EXPECT_DOUBLE_EQ(Hts221Humidity(c, -32768), 100.0);
  EXPECT_DOUBLE_EQ(Hts221Humidity(c, 32767), 0.0);
}

TEST(Hts221Test, ConfiguresTheChipAndWaitsForTheFirstSample) {
  FakeSenseHat bus;
  bus.physics = [](double) {
    SenseHatPhysics p;
    p.humidity = 52.5;
    p.temperature = 31.25;
    return p;
  };
  ASSERT_OK_AND_ASSIGN(auto chip, Hts221::Open(&bus));
  // AV_CONF as the Sense HAT library sets it; CTRL_REG1 = PD | BDU | 1 Hz.
  EXPECT_EQ(WritesTo(bus, 0x5f), (std::vector<std::pair<uint8_t, uint8_t>>{{0x10, 0x1b}, {0x20, 0x85}}));
  const double opened = bus.now();
  ASSERT_OK_AND_ASSIGN(const Hts221::Sample s, chip->Read());
  EXPECT_GE(bus.now() - opened, 1.0);  // at 1 Hz the first sample is a second away
  // One LSB of this chip's line is ~0.003 % rH and ~0.02 °C.
  EXPECT_NEAR(s.humidity, 52.5, 0.01);
  EXPECT_NEAR(s.temperature, 31.25, 0.02);
  // Later reads take what the outputs hold, without waiting.
  const double later = bus.now();
  ASSERT_OK(chip->Read().status());
  EXPECT_LT(bus.now() - later, 0.01);
}

TEST(Hts221Test, DegenerateCalibrationIsAnError) {
  FakeSenseHat bus;
  SetHts221Calibration(&bus, std::vector<uint8_t>(16, 0));
  auto chip = Hts221::Open(&bus);
  ASSERT_FALSE(chip.ok());
  EXPECT_TRUE(chip.status().IsCorruption()) << chip.status().ToString();
}

TEST(Lps25hTest, Conversions) {
  // Our own numbers from the sensitivities (hPa = raw / 4096, °C = 42.5 + raw / 480; see lps25h.cc):
  // 1013.25 hPa is 4150272 = 0x3f5400; 25 °C is -8400; -0.5 hPa is the 24-bit two's complement -2048.
  FakeSenseHat bus;
  bus.FreezeOutputs(0x5c);
  bus.reg(0x5c, 0x28) = 0x00;
  bus.reg(0x5c, 0x29) = 0x54;
  bus.reg(0x5c, 0x2a) = 0x3f;
  SetRaw16(&bus, 0x5c, 0x2b, -8400);
  ASSERT_OK_AND_ASSIGN(auto chip, Lps25h::Open(&bus));
  ASSERT_OK_AND_ASSIGN(const Lps25h::Sample s, chip->Read());
  EXPECT_DOUBLE_EQ(s.pressure, 1013.25);
  EXPECT_DOUBLE_EQ(s.temperature, 25.0);
  const uint8_t negative[3] = {0x00, 0xf8, 0xff};
  EXPECT_DOUBLE_EQ(Lps25hPressure(negative), -0.5);
  EXPECT_DOUBLE_EQ(Lps25hTemperature(480), 43.5);
  // FIFO off, averaging as the Sense HAT library sets it, then PD | 1 Hz | BDU.
  EXPECT_EQ(WritesTo(bus, 0x5c), (std::vector<std::pair<uint8_t, uint8_t>>{{0x21, 0x00}, {0x10, 0x05}, {0x20, 0x94}}));
}

TEST(Lsm9ds1Test, SensitivitiesAreTheDatasheets) {
  // Table 3 of the LSM9DS1 datasheet: mg/LSB, mdps/LSB, mgauss/LSB (1 mgauss = 0.1 µT).
  EXPECT_DOUBLE_EQ(AccelSensitivity(AccelRange::k2g), 0.061e-3);
  EXPECT_DOUBLE_EQ(AccelSensitivity(AccelRange::k4g), 0.122e-3);
  EXPECT_DOUBLE_EQ(AccelSensitivity(AccelRange::k8g), 0.244e-3);
  EXPECT_DOUBLE_EQ(AccelSensitivity(AccelRange::k16g), 0.732e-3);
  EXPECT_DOUBLE_EQ(GyroSensitivity(GyroRange::k245dps), 8.75e-3);
  EXPECT_DOUBLE_EQ(GyroSensitivity(GyroRange::k500dps), 17.5e-3);
  EXPECT_DOUBLE_EQ(GyroSensitivity(GyroRange::k2000dps), 70e-3);
  EXPECT_DOUBLE_EQ(MagSensitivity(MagRange::k4gauss), 0.014);
  EXPECT_DOUBLE_EQ(MagSensitivity(MagRange::k8gauss), 0.029);
  EXPECT_DOUBLE_EQ(MagSensitivity(MagRange::k12gauss), 0.043);
  EXPECT_DOUBLE_EQ(MagSensitivity(MagRange::k16gauss), 0.058);
}

struct RangeCase {
  AccelRange accel;
  uint8_t accel_bits;  // FS_XL, Table 67
  double accel_g;      // what raw 10000 reads as
  GyroRange gyro;
  uint8_t gyro_bits;  // FS_G, Table 45
  double gyro_dps;
  MagRange mag;
  uint8_t mag_bits;  // FS, Table 114
  double mag_ut;
};

class Lsm9ds1RangeTest : public ::testing::TestWithParam<RangeCase> {};

TEST_P(Lsm9ds1RangeTest, WritesTheFullScaleAndConvertsByItsSensitivity) {
  const RangeCase& c = GetParam();
  FakeSenseHat bus;
  bus.FreezeOutputs(0x6a);
  bus.FreezeOutputs(0x1c);
  for (uint8_t r = 0x18; r < 0x1e; r += 2) SetRaw16(&bus, 0x6a, r, 10000);
  for (uint8_t r = 0x28; r < 0x2e; r += 2) SetRaw16(&bus, 0x6a, r, r == 0x28 ? 10000 : -10000);
  for (uint8_t r = 0x28; r < 0x2e; r += 2) SetRaw16(&bus, 0x1c, r, 10000);
  ASSERT_OK_AND_ASSIGN(auto chip, Lsm9ds1::Open(&bus, {c.accel, c.gyro, c.mag}));
  EXPECT_EQ(WritesTo(bus, 0x6a),
            (std::vector<std::pair<uint8_t, uint8_t>>{{0x22, 0x44},  // BDU | IF_ADD_INC
                                                      {0x2e, 0x00},  // FIFO bypass
                                                      {0x23, 0x00},  // FIFO off
                                                      {0x20, static_cast<uint8_t>(0x60 | c.accel_bits << 3)},  // 119 Hz
                                                      {0x10, static_cast<uint8_t>(0x60 | c.gyro_bits << 3)}}));
  EXPECT_EQ(WritesTo(bus, 0x1c),
            (std::vector<std::pair<uint8_t, uint8_t>>{{0x20, 0xfc},  // TEMP_COMP, ultra-high performance, 80 Hz
                                                      {0x21, static_cast<uint8_t>(c.mag_bits << 5)},
                                                      {0x23, 0x0c},     // Z ultra-high performance
                                                      {0x24, 0x40},     // BDU
                                                      {0x22, 0x00}}));  // continuous conversion
  ASSERT_OK_AND_ASSIGN(const ImuSample s, chip->ReadImu());
  EXPECT_NEAR(s.accel.x, c.accel_g, 1e-12);
  EXPECT_NEAR(s.accel.y, -c.accel_g, 1e-12);
  EXPECT_NEAR(s.gyro.z, c.gyro_dps, 1e-12);
  ASSERT_OK_AND_ASSIGN(const Vec3 m, chip->ReadMag());
  EXPECT_NEAR(m.x, c.mag_ut, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(
    Table3, Lsm9ds1RangeTest,
    ::testing::Values(RangeCase{AccelRange::k2g, 0, 0.61, GyroRange::k245dps, 0, 87.5, MagRange::k4gauss, 0, 140},
                      RangeCase{AccelRange::k4g, 2, 1.22, GyroRange::k500dps, 1, 175, MagRange::k8gauss, 1, 290},
                      RangeCase{AccelRange::k8g, 3, 2.44, GyroRange::k2000dps, 3, 700, MagRange::k12gauss, 2, 430},
                      RangeCase{AccelRange::k16g, 1, 7.32, GyroRange::k245dps, 0, 87.5, MagRange::k16gauss, 3, 580}));

TEST(Lsm9ds1Test, EachSampleOnceAfterTheTurnOnSamples) {
  // The gyroscope's x rate is the sample's time in ms, so each sample says which one it is.
  FakeSenseHat bus;
  bus.physics = [](double t) {
    SenseHatPhysics p;
    p.gyro.x = t * 1000;
    return p;
  };
  ASSERT_OK_AND_ASSIGN(auto chip, Lsm9ds1::Open(&bus));
  // The gyroscope started at its CTRL_REG1_G write, five magnetometer writes (50 µs each) before now.
  const double started_ms = bus.now() * 1000 - 0.25;
  const double period_ms = 1000 / 119.0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(const ImuSample s, chip->ReadImu());
    // Samples 1-3 are dropped (Table 12), so the first returned is sample 4; none is returned twice.
    EXPECT_NEAR(s.gyro.x, started_ms + (4 + i) * period_ms, 0.01) << i;
    EXPECT_NEAR(s.accel.z, 1.0, 1e-3);
  }
}

TEST(Lsm9ds1Test, FindsTheAlternateAddresses) {
  FakeSenseHat bus;
  bus.Move(0x6a, 0x6b);
  bus.Move(0x1c, 0x1e);
  ASSERT_OK_AND_ASSIGN(auto chip, Lsm9ds1::Open(&bus));
  EXPECT_EQ(chip->ag_address(), 0x6b);
  EXPECT_EQ(chip->mag_address(), 0x1e);
  ASSERT_OK(chip->ReadImu().status());
}

TEST(SenseHatTest, ReadsEverySensorLikeTheSenseHatLibrary) {
  FakeSenseHat bus;
  const Quaternion pose = FromEuler({-0.8 * kDeg, 1.5 * kDeg, 185 * kDeg});
  const Vec3 field = {48 * std::cos(49 * kDeg), 0, 48 * std::sin(49 * kDeg)};
  bus.physics = [&](double) {
    SenseHatPhysics p;
    p.humidity = 44.25;
    p.temperature = 39.75;
    p.pressure = 1008.6;
    p.pressure_temperature = 38.5;
    testing::SetMotion(&p, pose, {}, field);
    return p;
  };
  ASSERT_OK_AND_ASSIGN(auto hat, OpenSenseHat(&bus, {}));
  ASSERT_OK_AND_ASSIGN(const Reading r, hat->Read(0));
  EXPECT_NEAR(*r.humidity, 44.25, 0.01);
  EXPECT_NEAR(*r.temperature, 39.75, 0.02);  // the HTS221's, not the LPS25H's 38.5
  EXPECT_NEAR(*r.pressure, 1008.6, 0.001);
  // The seed's board, nearly flat: roll just under 360, pitch just over 0, yaw ~185. Without noise the
  // only error is the chips' quantization (well under 0.05° here).
  EXPECT_NEAR(*r.pitch, 1.5, 0.05);
  EXPECT_NEAR(*r.roll, 359.2, 0.05);
  EXPECT_NEAR(*r.yaw, 185, 0.05);
}

TEST(SenseHatTest, PitchRollAndYawFollowTheBoard) {
  // Poses all round, including the negative angles sense_hat wraps past 360 and pitch near its ±90 ends.
  const Euler poses[] = {{0, 0, 0},       {30, -20, 90}, {-45, 10, 200}, {170, 5, 359.5},
                         {-170, -60, 10}, {10, 80, 270}, {5, -80, 135}};
  for (const Euler& deg : poses) {
    FakeSenseHat bus;
    const Quaternion pose = FromEuler({deg.roll * kDeg, deg.pitch * kDeg, deg.yaw * kDeg});
    bus.physics = [&](double) {
      SenseHatPhysics p;
      testing::SetMotion(&p, pose, {}, {20, 0, 45});
      return p;
    };
    ASSERT_OK_AND_ASSIGN(auto hat, OpenSenseHat(&bus, Options(false, false, true)));
    ASSERT_OK_AND_ASSIGN(const Reading r, hat->Read(0));
    auto close = [](double got, double want) { return std::fabs(std::remainder(got - want, 360.0)) < 0.1; };
    EXPECT_TRUE(close(*r.roll, deg.roll)) << deg.roll << " got " << *r.roll;
    EXPECT_TRUE(close(*r.pitch, deg.pitch)) << deg.pitch << " got " << *r.pitch;
    EXPECT_TRUE(close(*r.yaw, deg.yaw)) << deg.yaw << " got " << *r.yaw;
    for (double v : {*r.roll, *r.pitch, *r.yaw}) {
      EXPECT_GE(v, 0);
      EXPECT_LT(v, 360);
    }
  }
}

TEST(SenseHatTest, FollowsABoardTurningDuringTheReading) {
  // Turning at up to ~45 °/s while the 0.2 s burst is taken: the gyroscope's axes must be mapped right for
  // the pose at the burst's end to come out (a wrong sign costs degrees).
  auto pose = [](double t) { return FromEuler({20 * std::sin(3 * t) * kDeg, -10 * kDeg, (100 + 40 * t) * kDeg}); };
  FakeSenseHat bus;
  bus.physics = [&](double t) {
    constexpr double h = 1e-5;
    const Quaternion d = Conjugate(pose(t - h)) * pose(t + h);
    SenseHatPhysics p;
    testing::SetMotion(&p, pose(t), (1 / h) * Vec3{d.x, d.y, d.z}, {20, 0, 45});
    return p;
  };
  ASSERT_OK_AND_ASSIGN(auto hat, OpenSenseHat(&bus, Options(false, false, true)));
  for (int k = 0; k < 3; ++k) {
    ASSERT_OK_AND_ASSIGN(const Reading r, hat->Read(0));
    // The last sample was taken within the last poll (~4 ms, 0.2° at this rate) before now. Heading has more
    // slack: a field sample is up to one IMU period (8.4 ms) older than the IMU sample it is fused with, and
    // at this roll rate (up to 60 °/s) and dip (66°) tilt compensation turns that into up to ~1°. A wrong
    // gyroscope sign or none at all costs 4-8°.
    const Orientation want = ToOrientation(pose(bus.now()));
    EXPECT_NEAR(std::remainder(*r.yaw - want.yaw, 360.0), 0, 1.0) << k;
    EXPECT_NEAR(std::remainder(*r.roll - want.roll, 360.0), 0, 0.3) << k;
    EXPECT_NEAR(std::remainder(*r.pitch - want.pitch, 360.0), 0, 0.3) << k;
    bus.Sleep(std::chrono::milliseconds(700));
  }
}

TEST(SenseHatTest, AMissingChipIsNamedWithItsAddressAndTheWayOut) {
  struct Case {
    std::vector<uint8_t> removed;
    std::string chip, address;
  };
  const Case cases[] = {{{0x5f}, "HTS221", "0x5f"},
                        {{0x5c}, "LPS25H", "0x5c"},
                        {{0x6a}, "LSM9DS1 accelerometer/gyroscope", "0x6a"},
                        {{0x1c}, "LSM9DS1 magnetometer", "0x1c"},
                        {{0x5f, 0x5c, 0x6a, 0x1c}, "HTS221", "0x5f"}};
  for (const Case& c : cases) {
    FakeSenseHat bus;
    for (uint8_t addr : c.removed) bus.Remove(addr);
    auto hat = OpenSenseHat(&bus, {});
    ASSERT_FALSE(hat.ok());
    const std::string msg(hat.status().message());
    EXPECT_TRUE(hat.status().IsNotFound()) << msg;
    EXPECT_NE(msg.find("no SenseHAT found"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.chip), std::string::npos) << msg;
    EXPECT_NE(msg.find("at address " + c.address + " on fake-i2c"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Remote I/O error"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--simulate"), std::string::npos) << msg;
  }
}

TEST(SenseHatTest, AnotherChipAtTheAddressIsNamed) {
  FakeSenseHat bus;
  bus.reg(0x5c, 0x0f) = 0xb1;  // an LPS22HB, say
  auto hat = OpenSenseHat(&bus, {});
  ASSERT_FALSE(hat.ok());
  EXPECT_NE(hat.status().message().find("address 0x5c on fake-i2c answered WHO_AM_I 0xb1, not the LPS25H pressure "
                                        "sensor's 0xbd"),
            std::string::npos)
      << hat.status().ToString();
}

TEST(SenseHatTest, ASensorSwitchedOffIsNotTouchedAndLeavesItsFieldsEmpty) {
  {
    FakeSenseHat bus;
    ASSERT_OK_AND_ASSIGN(auto hat, OpenSenseHat(&bus, Options(false, true, true)));
    ASSERT_OK_AND_ASSIGN(const Reading r, hat->Read(0));
    EXPECT_EQ(bus.transactions(0x5f), 0);
    EXPECT_FALSE(r.humidity);
    EXPECT_NEAR(*r.temperature, 24, 0.01);  // the LPS25H's thermometer stands in
    EXPECT_TRUE(r.pressure && r.pitch && r.roll && r.yaw);
  }
  {
    FakeSenseHat bus;
    ASSERT_OK_AND_ASSIGN(auto hat, OpenSenseHat(&bus, Options(true, false, true)));
    ASSERT_OK_AND_ASSIGN(const Reading r, hat->Read(0));
    EXPECT_EQ(bus.transactions(0x5c), 0);
    EXPECT_FALSE(r.pressure);
    EXPECT_NEAR(*r.temperature, 25, 0.02);
  }
  {
    FakeSenseHat bus;
    ASSERT_OK_AND_ASSIGN(auto hat, OpenSenseHat(&bus, Options(true, true, false)));
    ASSERT_OK_AND_ASSIGN(const Reading r, hat->Read(0));
    for (uint8_t addr : {0x6a, 0x6b, 0x1c, 0x1e}) EXPECT_EQ(bus.transactions(addr), 0) << int{addr};
    EXPECT_FALSE(r.pitch || r.roll || r.yaw);
    EXPECT_TRUE(r.humidity && r.temperature && r.pressure);
    auto cal = hat->CalibrateMagnetometer(std::chrono::seconds(1), nullptr);
    EXPECT_FALSE(cal.ok());
  }
  FakeSenseHat bus;
  EXPECT_FALSE(OpenSenseHat(&bus, Options(false, false, false)).ok());
  EXPECT_TRUE(bus.writes().empty());
}

TEST(SenseHatTest, BusErrorsAnywhereSurfaceAsStatus) {
  // Fail the bus from every transaction of an Open and two Reads on: each must end in a Status that
  // carries the bus's message, never a reading.
  FakeSenseHat probe;
  ASSERT_OK_AND_ASSIGN(auto hat, OpenSenseHat(&probe, {}));
  ASSERT_OK(hat->Read(0).status());
  ASSERT_OK(hat->Read(0).status());
  int total = 0;
  for (uint8_t addr : {0x5f, 0x5c, 0x6a, 0x1c}) total += probe.transactions(addr);
  ASSERT_GT(total, 50);
  for (int n = 0; n < total; ++n) {
    FakeSenseHat bus;
    bus.FailAfter(n);
    Status s;
    auto opened = OpenSenseHat(&bus, {});
    if (!opened.ok()) {
      s = opened.status();
    } else {
      auto first = (*opened)->Read(0);
      s = first.ok() ? (*opened)->Read(0).status() : first.status();
    }
    ASSERT_FALSE(s.ok()) << "failing after " << n << " transactions";
    EXPECT_NE(s.message().find("fake-i2c"), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find("Input/output error"), std::string::npos) << s.ToString();
  }
}

TEST(SenseHatTest, MagnetometerCalibrationRunThroughTheBoard) {
  // The board's own magnetism: a hard-iron offset and soft-iron stretch on the magnetometer's axes. While
  // "someone" turns the board through every orientation for 30 s, the run collects the field and fits the
  // correction; with it the heading of the seed's board is right, without it it is far off.
  const Vec3 field = {48 * std::cos(60 * kDeg), 0, 48 * std::sin(60 * kDeg)};
  const Vec3 offset = {35, -22, 14}, soft = {1.12, 0.9, 1.04};
  const Quaternion still = FromEuler({-0.8 * kDeg, 1.5 * kDeg, 185 * kDeg});
  bool turning = true;
  FakeSenseHat bus;
  bus.physics = [&](double t) {
    SenseHatPhysics p;
    // Three incommensurate turns sweep the board through all orientations.
    const Quaternion pose = turning ? FromEuler({2.1 * t, std::asin(std::sin(0.53 * t)), 0.77 * t}) : still;
    testing::SetMotion(&p, pose, {}, field, offset, soft);
    return p;
  };
  ASSERT_OK_AND_ASSIGN(auto hat, OpenSenseHat(&bus, Options(false, false, true)));
  std::vector<MagCalibrationProgress> reports;
  ASSERT_OK_AND_ASSIGN(const MagCalibration cal,
                       hat->CalibrateMagnetometer(std::chrono::seconds(30),
                                                  [&](const MagCalibrationProgress& p) { reports.push_back(p); }));
  ASSERT_GE(reports.size(), 29u);
  EXPECT_EQ(reports.back().duration, std::chrono::seconds(30));
  EXPECT_GT(reports.back().samples, 30u * 70);  // ~80 Hz
  EXPECT_NEAR(cal.offset.x, 35, 0.2);
  EXPECT_NEAR(cal.offset.y, -22, 0.2);
  EXPECT_NEAR(cal.offset.z, 14, 0.2);
  // Scales undo the stretch up to a common factor.
  EXPECT_NEAR(cal.scale.x * 1.12 / (cal.scale.y * 0.9), 1, 0.005);
  EXPECT_NEAR(cal.scale.z * 1.04 / (cal.scale.y * 0.9), 1, 0.005);

  turning = false;
  ASSERT_OK_AND_ASSIGN(auto raw, OpenSenseHat(&bus, Options(false, false, true)));
  ASSERT_OK_AND_ASSIGN(const Reading uncorrected, raw->Read(0));
  EXPECT_GT(std::fabs(std::remainder(*uncorrected.yaw - 185, 360.0)), 10);
  ASSERT_OK_AND_ASSIGN(auto corrected, OpenSenseHat(&bus, [&] {
                         SenseHatOptions o = Options(false, false, true);
                         o.mag = cal;
                         return o;
                       }()));
  ASSERT_OK_AND_ASSIGN(const Reading r, corrected->Read(0));
  EXPECT_NEAR(std::remainder(*r.yaw - 185, 360.0), 0, 0.5);
  EXPECT_NEAR(*r.pitch, 1.5, 0.05);  // the magnetometer never tilts the pose
}

TEST(LinuxI2cBusTest, ErrorsNameTheDeviceAddressAndRegister) {
  auto missing = OpenLinuxI2cBus("/dev/i2c-does-not-exist");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/dev/i2c-does-not-exist"), std::string::npos);
  EXPECT_NE(missing.status().message().find("raspi-config"), std::string::npos);
  EXPECT_NE(missing.status().message().find("--simulate"), std::string::npos);
  // /dev/null opens but is no I2C adapter: the ioctl fails, and says where.
  ASSERT_OK_AND_ASSIGN(auto bus, OpenLinuxI2cBus("/dev/null"));
  uint8_t byte = 0;
  const Status read = bus->Read(0x5f, 0x8f, &byte, 1);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.message().find("/dev/null: reading 1 byte(s) from register 0x8f of address 0x5f"), std::string::npos)
      << read.ToString();
  const Status write = bus->Write(0x6a, 0x22, 0x44);
  ASSERT_FALSE(write.ok());
  EXPECT_NE(write.message().find("/dev/null: writing 0x44 to register 0x22 of address 0x6a"), std::string::npos)
      << write.ToString();
}

}  // namespace
}  // namespace sp
