// The SenseHAT's barometer: ST LPS25H at I2C address 0x5c, pressure and (a less exact) temperature. Open
// checks WHO_AM_I and powers it up; Read converts one sample. The bus is not owned and must outlive it.
#pragma once

#include <cstdint>
#include <memory>

#include "agent/i2c.h"
#include "common/status.h"

namespace sp {

namespace lps25h {
constexpr uint8_t kAddress = 0x5c;
constexpr uint8_t kWhoAmI = 0x0f, kWhoAmIValue = 0xbd;
constexpr uint8_t kResConf = 0x10;   // RES_CONF: internal averaging
constexpr uint8_t kCtrlReg1 = 0x20;  // CTRL_REG1: PD (bit 7), ODR (bits 6-4), BDU (bit 2)
constexpr uint8_t kCtrlReg2 = 0x21;  // CTRL_REG2
constexpr uint8_t kStatus = 0x27;    // STATUS_REG: P_DA (bit 1), T_DA (bit 0); PRESS_OUT_XL/L/H, TEMP_OUT_L/H follow
constexpr uint8_t kAutoIncrement = 0x80;  // sub-address bit 7: a multi-byte read moves to the next register
}  // namespace lps25h

//! hPa for the 24-bit two's complement PRESS_OUT (XL, L, H bytes in that order).
double Lps25hPressure(const uint8_t out[3]);
//! °C for the 16-bit TEMP_OUT.
double Lps25hTemperature(int16_t raw);

class Lps25h {
 public:
  struct Sample {
    double pressure;     // hPa
    double temperature;  // °C
  };
  //! Finds the chip (WHO_AM_I) and starts it sampling once a second.
  static Result<std::unique_ptr<Lps25h>> Open(I2cBus* bus);
  //! The latest sample; right after Open, waits for the first one.
  Result<Sample> Read();

 private:
  explicit Lps25h(I2cBus* bus) : bus_(bus) {}
  I2cBus* bus_;
  bool sampled_ = false;
};

}  // namespace sp
