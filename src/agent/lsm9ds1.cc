#include "agent/lsm9ds1.h"

namespace sp {

namespace {

// Every register value below is from the datasheet (DocID025715 Rev 2), read from the copy in
// github.com/sparkfun/SparkFun_LSM9DS1_Arduino_Library (extras/); table numbers are its.
constexpr uint8_t kOdr119Hz = 0x60;       // ODR_G / ODR_XL = 011 (Tables 46 and 68)
constexpr uint8_t kCtrlReg8Value = 0x44;  // BDU | IF_ADD_INC (Table 73)
// CTRL_REG1_M: TEMP_COMP | OM 11 (ultra-high performance, Table 110) | DO 111 (80 Hz, Table 111). The
// fastest rate keeps each field sample close in time to the IMU sample it is fused with: tilt compensation
// turns a stale field on a turning board into heading error.
constexpr uint8_t kCtrlReg1MValue = 0xfc;
constexpr uint8_t kCtrlReg3MValue = 0x00;  // MD 00: continuous conversion (Table 117); I2C stays on
constexpr uint8_t kCtrlReg4MValue = 0x0c;  // OMZ 11: ultra-high performance (Table 120)
constexpr uint8_t kCtrlReg5MValue = 0x40;  // BDU (Table 122)
constexpr uint8_t kImuReady = 0x03;        // GDA | XLDA (Table 61)
constexpr uint8_t kMagReady = 0x08;        // ZYXDA (Table 124)
// Samples to drop after power-up: Table 12 says 3 for the gyroscope at 119 Hz through LPF1 (the output's
// default path), more than Table 11's 2 for the accelerometer at its 50 Hz bandwidth.
constexpr int kTurnOnSamples = 3;

// FS bit codes: FS_XL (Table 67: 00 2 g, 01 16 g, 10 4 g, 11 8 g), FS_G (Table 45: 00 245, 01 500,
// 11 2000 dps), FS of CTRL_REG2_M (Table 114: 00 4, 01 8, 10 12, 11 16 gauss).
uint8_t AccelFsBits(AccelRange r) {
  switch (r) {
    case AccelRange::k2g:
      return 0;
    case AccelRange::k4g:
      return 2;
    case AccelRange::k8g:
      return 3;
    case AccelRange::k16g:
      return 1;
  }
  return 0;
}

uint8_t GyroFsBits(GyroRange r) {
  switch (r) {
    case GyroRange::k245dps:
      return 0;
    case GyroRange::k500dps:
      return 1;
    case GyroRange::k2000dps:
      return 3;
  }
  return 0;
}

Vec3 Scaled(const uint8_t* bytes, double per_lsb) {
  return {per_lsb * Le16(bytes), per_lsb * Le16(bytes + 2), per_lsb * Le16(bytes + 4)};
}

// The first of `addresses` whose WHO_AM_I holds `expected`; the error names all of them.
Result<uint8_t> FindChip(I2cBus* bus, const uint8_t (&addresses)[2], uint8_t expected, const std::string& chip) {
  Status first;
  for (uint8_t addr : addresses) {
    Status s = CheckWhoAmI(bus, addr, lsm9ds1::kWhoAmI, expected, chip);
    if (s.ok()) return addr;
    if (first.ok()) first = s;
  }
  return Status::NotFound(std::string(first.message()) + "; nor at " + HexByte(addresses[1]));
}

}  // namespace

// Table 3 of the datasheet, typical sensitivities.
double AccelSensitivity(AccelRange range) {
  switch (range) {
    case AccelRange::k2g:
      return 0.061e-3;
    case AccelRange::k4g:
      return 0.122e-3;
    case AccelRange::k8g:
      return 0.244e-3;
    case AccelRange::k16g:
      return 0.732e-3;
  }
  return 0;
}

double GyroSensitivity(GyroRange range) {
  switch (range) {
    case GyroRange::k245dps:
      return 8.75e-3;
    case GyroRange::k500dps:
      return 17.50e-3;
    case GyroRange::k2000dps:
      return 70e-3;
  }
  return 0;
}

double MagSensitivity(MagRange range) {
  switch (range) {
    case MagRange::k4gauss:
      return 0.014;
    case MagRange::k8gauss:
      return 0.029;
    case MagRange::k12gauss:
      return 0.043;
    case MagRange::k16gauss:
      return 0.058;
  }
  return 0;
}

Result<std::unique_ptr<Lsm9ds1>> Lsm9ds1::Open(I2cBus* bus, const Lsm9ds1Options& options) {
  SP_ASSIGN_OR_RETURN(const uint8_t ag,
                      FindChip(bus, lsm9ds1::kAgAddresses, lsm9ds1::kAgWhoAmIValue, "LSM9DS1 accelerometer/gyroscope"));
  SP_ASSIGN_OR_RETURN(const uint8_t mag,
                      FindChip(bus, lsm9ds1::kMagAddresses, lsm9ds1::kMagWhoAmIValue, "LSM9DS1 magnetometer"));
  // The FIFO goes to bypass and off: another program (RTIMULib can) may have left it on, and reads would
  // then pop old samples. The gyroscope's CTRL_REG1_G is written last: it starts both at 119 Hz.
  const std::pair<uint8_t, uint8_t> ag_config[] = {
      {lsm9ds1::kCtrlReg8, kCtrlReg8Value},
      {lsm9ds1::kFifoCtrl, 0x00},
      {lsm9ds1::kCtrlReg9, 0x00},
      {lsm9ds1::kCtrlReg6XL, static_cast<uint8_t>(kOdr119Hz | AccelFsBits(options.accel) << 3)},
      {lsm9ds1::kCtrlReg1G, static_cast<uint8_t>(kOdr119Hz | GyroFsBits(options.gyro) << 3)}};
  for (const auto& [reg, value] : ag_config) {
    if (Status s = bus->Write(ag, reg, value); !s.ok()) return s.WithContext("LSM9DS1");
  }
  const std::pair<uint8_t, uint8_t> mag_config[] = {
      {lsm9ds1::kCtrlReg1M, kCtrlReg1MValue},
      {lsm9ds1::kCtrlReg2M, static_cast<uint8_t>(static_cast<uint8_t>(options.mag) << 5)},
      {lsm9ds1::kCtrlReg4M, kCtrlReg4MValue},
      {lsm9ds1::kCtrlReg5M, kCtrlReg5MValue},
      {lsm9ds1::kCtrlReg3M, kCtrlReg3MValue}};
  for (const auto& [reg, value] : mag_config) {
    if (Status s = bus->Write(mag, reg, value); !s.ok()) return s.WithContext("LSM9DS1 magnetometer");
  }
  std::unique_ptr<Lsm9ds1> chip(new Lsm9ds1(bus, ag, mag, options));
  chip->discard_ = kTurnOnSamples;
  return chip;
}

Result<ImuSample> Lsm9ds1::ReadImu() {
  const auto period = std::chrono::microseconds(static_cast<int64_t>(1e6 / kImuRateHz));
  while (true) {
    uint8_t status;
    SP_RETURN_IF_ERROR(ReadWhenReady(
        bus_, ag_, lsm9ds1::kStatusReg, &status, 1, [](const uint8_t* d) { return (d[0] & kImuReady) == kImuReady; },
        period / 2, 20 * period, "LSM9DS1"));
    // With both parts running at one rate, a burst read from OUT_X_G runs through the gyroscope's six
    // bytes and goes on with the accelerometer's at OUT_X_XL (section 3.3, Figure 7). IF_ADD_INC, not a
    // sub-address bit, makes it advance on this part.
    uint8_t out[12];
    if (Status s = bus_->Read(ag_, lsm9ds1::kOutXG, out, sizeof out); !s.ok()) return s.WithContext("LSM9DS1");
    if (discard_ > 0) {
      --discard_;
      continue;
    }
    return ImuSample{Scaled(out + 6, AccelSensitivity(options_.accel)), Scaled(out, GyroSensitivity(options_.gyro))};
  }
}

Result<Vec3> Lsm9ds1::ReadMag(bool* fresh) {
  const auto period = std::chrono::microseconds(static_cast<int64_t>(1e6 / kMagRateHz));
  uint8_t r[7];  // STATUS_REG_M, then OUT_X_L_M .. OUT_Z_H_M
  SP_RETURN_IF_ERROR(ReadWhenReady(
      bus_, mag_, lsm9ds1::kStatusRegM | lsm9ds1::kMagAutoIncrement, r, sizeof r,
      [this](const uint8_t* d) { return mag_sampled_ || (d[0] & kMagReady) != 0; }, period, 20 * period,
      "LSM9DS1 magnetometer"));
  mag_sampled_ = true;
  if (fresh != nullptr) *fresh = (r[0] & kMagReady) != 0;
  return Scaled(r + 1, MagSensitivity(options_.mag));
}

}  // namespace sp
