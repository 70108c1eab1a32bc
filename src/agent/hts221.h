// The SenseHAT's humidity and temperature sensor: ST HTS221 at I2C address 0x5f. Open checks WHO_AM_I,
// reads the chip's factory calibration and powers it up; Read converts one sample by the calibration's
// linear interpolation. The bus is not owned and must outlive the driver.
#pragma once

#include <cstdint>
#include <memory>

#include "agent/i2c.h"
#include "common/status.h"

namespace sp {

namespace hts221 {
constexpr uint8_t kAddress = 0x5f;
constexpr uint8_t kWhoAmI = 0x0f, kWhoAmIValue = 0xbc;
constexpr uint8_t kAvConf = 0x10;         // AV_CONF: internal averaging
constexpr uint8_t kCtrlReg1 = 0x20;       // CTRL_REG1: PD (bit 7), BDU (bit 2), ODR (bits 1-0)
constexpr uint8_t kStatus = 0x27;         // STATUS_REG: H_DA (bit 1), T_DA (bit 0); outputs follow at 0x28-0x2b
constexpr uint8_t kCalibration = 0x30;    // 16 calibration registers, 0x30-0x3f
constexpr uint8_t kAutoIncrement = 0x80;  // sub-address bit 7: a multi-byte read moves to the next register
}  // namespace hts221

//! The factory calibration: two points of a straight line for each of humidity and temperature.
struct Hts221Calibration {
  double h0_rh = 0, h1_rh = 0;           // % rH at the two humidity points (H0_rH_x2 / 2, H1_rH_x2 / 2)
  int16_t h0_t0_out = 0, h1_t0_out = 0;  // raw humidity output at them (H0_T0_OUT, H1_T0_OUT)
  double t0_degc = 0, t1_degc = 0;       // °C at the two temperature points (10-bit T0/T1_degC_x8 / 8)
  int16_t t0_out = 0, t1_out = 0;        // raw temperature output at them (T0_OUT, T1_OUT)
};

//! Decodes registers 0x30-0x3f; Corruption when the two points of a line coincide (a chip that reads
//! all zeros, say), which would divide by zero.
Result<Hts221Calibration> DecodeHts221Calibration(const uint8_t regs[16]);
//! % rH for a raw H_OUT, clamped to 0-100.
double Hts221Humidity(const Hts221Calibration& cal, int16_t h_out);
//! °C for a raw T_OUT.
double Hts221Temperature(const Hts221Calibration& cal, int16_t t_out);

class Hts221 {
 public:
  struct Sample {
    double humidity;     // % rH
    double temperature;  // °C
  };
  //! Finds the chip (WHO_AM_I), reads its calibration and starts it sampling once a second.
  static Result<std::unique_ptr<Hts221>> Open(I2cBus* bus);
  //! The latest sample; right after Open, waits for the first one.
  Result<Sample> Read();
  //! The calibration read at Open.
  const Hts221Calibration& calibration() const { return cal_; }

 private:
  Hts221(I2cBus* bus, const Hts221Calibration& cal) : bus_(bus), cal_(cal) {}
  I2cBus* bus_;
  Hts221Calibration cal_;
  bool sampled_ = false;
};

}  // namespace sp
