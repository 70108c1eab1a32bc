// The I2C seam under the SenseHAT drivers: every byte they exchange with a chip goes through I2cBus,
// so tests run them against register-level fakes (fake_sensehat.h) and the agent against Linux's
// i2c-dev. A bus object is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace sp {

class I2cBus {
 public:
  virtual ~I2cBus() = default;
  //! Writes the sub-address byte `reg` to the 7-bit address `addr`, then reads n bytes, in one transaction
  //! (a repeated start, no stop between). `reg` goes out as given: a chip's auto-increment bit is the caller's.
  virtual Status Read(uint8_t addr, uint8_t reg, uint8_t* data, size_t n) = 0;
  //! Writes one register.
  virtual Status Write(uint8_t addr, uint8_t reg, uint8_t value) = 0;
  //! Waits between polls of a chip; a fake bus advances its chips' time instead of sleeping.
  virtual void Sleep(std::chrono::microseconds duration) = 0;
  //! The bus's name in messages, e.g. "/dev/i2c-1".
  virtual const std::string& name() const = 0;
};

//! Opens a Linux i2c-dev character device, e.g. "/dev/i2c-1" (the Pi's header bus, where the SenseHAT sits).
Result<std::unique_ptr<I2cBus>> OpenLinuxI2cBus(const std::string& device);

//! "0x5f": how addresses and registers appear in messages.
std::string HexByte(uint8_t value);

//! Reads a chip's WHO_AM_I register at addr and checks it holds `expected`. The error names the chip, the
//! address and the bus: NotFound when nothing answered or something else did.
Status CheckWhoAmI(I2cBus* bus, uint8_t addr, uint8_t reg, uint8_t expected, const std::string& chip);

//! Reads n bytes from reg (one transaction each try) until ready(data) holds, sleeping `poll` between tries;
//! Unavailable, naming `chip` and the status byte data[0], when `limit` passes first. How the drivers wait for
//! a chip's data-ready bits without spinning.
Status ReadWhenReady(I2cBus* bus, uint8_t addr, uint8_t reg, uint8_t* data, size_t n,
                     const std::function<bool(const uint8_t*)>& ready, std::chrono::microseconds poll,
                     std::chrono::microseconds limit, const std::string& chip);

//! A little-endian two's complement 16-bit value, as the ST chips' output registers hold them.
inline int16_t Le16(const uint8_t* bytes) {
  return static_cast<int16_t>(bytes[0] | (bytes[1] << 8));
}

}  // namespace sp
