// The SenseHAT's motion sensor: ST LSM9DS1, an accelerometer + gyroscope at I2C address 0x6a (0x6b when
// its SDO_A/G pin is high) and a magnetometer at 0x1c (0x1e). Open finds both by WHO_AM_I and starts
// them: accelerometer and gyroscope at 119 Hz, magnetometer at 80 Hz. Readings come in the chip's own
// axes (datasheet Figure 1), in g, degrees per second and µT; the SenseHAT layer turns them into the
// board frame the fusion works in. The bus is not owned and must outlive the driver.
#pragma once

#include <cstdint>
#include <memory>

#include "agent/fusion.h"
#include "agent/i2c.h"
#include "common/status.h"

namespace sp {

// Register map of the LSM9DS1 datasheet (ST DocID025715 Rev 2, sections 7 and 8).
namespace lsm9ds1 {
constexpr uint8_t kAgAddresses[] = {0x6a, 0x6b};
constexpr uint8_t kMagAddresses[] = {0x1c, 0x1e};
constexpr uint8_t kWhoAmI = 0x0f, kAgWhoAmIValue = 0x68, kMagWhoAmIValue = 0x3d;
// Accelerometer and gyroscope.
constexpr uint8_t kCtrlReg1G = 0x10;   // ODR_G (bits 7-5), FS_G (4-3), BW_G (1-0)
constexpr uint8_t kStatusReg = 0x17;   // GDA (bit 1), XLDA (bit 0)
constexpr uint8_t kOutXG = 0x18;       // OUT_X_G .. OUT_Z_G, then (burst) OUT_X_XL .. OUT_Z_XL
constexpr uint8_t kCtrlReg6XL = 0x20;  // ODR_XL (bits 7-5), FS_XL (4-3)
constexpr uint8_t kCtrlReg8 = 0x22;    // BDU (bit 6), IF_ADD_INC (bit 2, set at reset)
constexpr uint8_t kCtrlReg9 = 0x23;    // FIFO_EN (bit 1)
constexpr uint8_t kOutXXL = 0x28;
constexpr uint8_t kFifoCtrl = 0x2e;  // FMODE (bits 7-5): 0 is bypass
// Magnetometer.
constexpr uint8_t kCtrlReg1M = 0x20;         // TEMP_COMP (bit 7), OM (6-5), DO (4-2)
constexpr uint8_t kCtrlReg2M = 0x21;         // FS (bits 6-5)
constexpr uint8_t kCtrlReg3M = 0x22;         // MD (bits 1-0): 00 continuous, 11 power-down (reset)
constexpr uint8_t kCtrlReg4M = 0x23;         // OMZ (bits 3-2)
constexpr uint8_t kCtrlReg5M = 0x24;         // BDU (bit 6)
constexpr uint8_t kStatusRegM = 0x27;        // ZYXDA (bit 3); OUT_X_L_M .. OUT_Z_H_M follow at 0x28-0x2d
constexpr uint8_t kMagAutoIncrement = 0x80;  // the magnetometer's sub-address bit 7 (section 5.1.1)
}  // namespace lsm9ds1

enum class AccelRange { k2g, k4g, k8g, k16g };
enum class GyroRange { k245dps, k500dps, k2000dps };
enum class MagRange { k4gauss, k8gauss, k12gauss, k16gauss };  // in the order of their FS codes (Table 114)

//! g per LSB at a full scale (datasheet Table 3, LA_So).
double AccelSensitivity(AccelRange range);
//! Degrees per second per LSB (Table 3, G_So).
double GyroSensitivity(GyroRange range);
//! µT per LSB (Table 3, M_GN, given in mgauss: 1 mgauss = 0.1 µT).
double MagSensitivity(MagRange range);

struct Lsm9ds1Options {
  // The SenseHAT lies still or is turned by hand: the smallest ranges give the finest steps.
  AccelRange accel = AccelRange::k2g;
  GyroRange gyro = GyroRange::k245dps;
  MagRange mag = MagRange::k4gauss;
};

//! One accelerometer + gyroscope sample in the chip's axes.
struct ImuSample {
  Vec3 accel;  // g
  Vec3 gyro;   // degrees per second
};

class Lsm9ds1 {
 public:
  static constexpr double kImuRateHz = 119;
  static constexpr double kMagRateHz = 80;

  //! Finds both parts by WHO_AM_I and configures them.
  static Result<std::unique_ptr<Lsm9ds1>> Open(I2cBus* bus, const Lsm9ds1Options& options = {});
  //! Waits for the next accelerometer + gyroscope sample, one the previous calls have not returned.
  Result<ImuSample> ReadImu();
  //! The latest magnetic field (µT, the magnetometer's axes); waits for the first after power-up. Sets *fresh
  //! (when given) to whether it is a new sample since the last call.
  Result<Vec3> ReadMag(bool* fresh = nullptr);
  uint8_t ag_address() const { return ag_; }
  uint8_t mag_address() const { return mag_; }

 private:
  Lsm9ds1(I2cBus* bus, uint8_t ag, uint8_t mag, const Lsm9ds1Options& options)
      : bus_(bus), ag_(ag), mag_(mag), options_(options) {}
  I2cBus* bus_;
  const uint8_t ag_, mag_;
  const Lsm9ds1Options options_;
  int discard_ = 0;  // IMU samples still to drop after power-up
  bool mag_sampled_ = false;
};

}  // namespace sp
