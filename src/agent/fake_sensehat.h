// For tests: the SenseHAT's four I2C devices (HTS221 0x5f, LPS25H 0x5c, LSM9DS1 accelerometer/gyroscope
// 0x6a and magnetometer 0x1c) as register maps behind one I2cBus, since this machine has no board. Each
// behaves as its datasheet says a driver sees it: WHO_AM_I, calibration registers, multi-byte reads that
// advance only under the chip's auto-increment rule (otherwise the same register again), data-ready bits
// that rise once per output period after power-up and fall when the outputs are read, and output
// registers filled from physical values at each sample's time. Time is the fake's own: Sleep advances it,
// and so does each transaction a little, as a real bus takes time. Writes are recorded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agent/fusion.h"
#include "agent/i2c.h"

namespace sp::testing {

//! What the chips sense, in physical units.
struct SenseHatPhysics {
  double humidity = 45;              // % rH (HTS221)
  double temperature = 25;           // °C (HTS221)
  double pressure = 1013.25;         // hPa (LPS25H)
  double pressure_temperature = 24;  // °C (LPS25H)
  Vec3 accel{0, 0, 1};               // g, in the accelerometer/gyroscope's axes: flat, at rest
  Vec3 gyro;                         // degrees per second, same axes
  Vec3 mag{20, 0, 40};               // µT, in the magnetometer's own axes
};

//! Fills accel, gyro and mag for a board at `pose` (fusion.h's board frame to north-east-down) turning at
//! `rate` (rad/s, board frame) in the Earth's field `field_ned` (µT), then adds the magnetometer's hard-iron
//! `offset` after stretching each of its axes by `soft` (as the board's own magnetism would).
void SetMotion(SenseHatPhysics* p, const Quaternion& pose, Vec3 rate, Vec3 field_ned, Vec3 offset = {},
               Vec3 soft = {1, 1, 1});

class FakeSenseHat final : public I2cBus {
 public:
  struct WriteRecord {
    uint8_t addr, reg, value;
  };

  FakeSenseHat();
  //! The physical state at t seconds of fake time; the default is a constant SenseHatPhysics{}.
  std::function<SenseHatPhysics(double t)> physics;

  //! A register of the device at addr (which must exist).
  uint8_t& reg(uint8_t addr, uint8_t r);
  //! Keeps the device's output registers as the test sets them, instead of filling them from physics.
  void FreezeOutputs(uint8_t addr);
  //! Moves a device to another address (the LSM9DS1's alternates).
  void Move(uint8_t from, uint8_t to);
  //! Nothing answers at addr any more.
  void Remove(uint8_t addr);
  //! After `n` more transactions, every transaction fails (n = 0: the next one).
  void FailAfter(int n) { fail_after_ = n; }
  const std::vector<WriteRecord>& writes() const { return writes_; }
  //! Transactions addressed to addr so far, answered or not.
  int transactions(uint8_t addr) const;
  //! The fake's clock, seconds.
  double now() const { return now_; }

  Status Read(uint8_t addr, uint8_t reg, uint8_t* data, size_t n) override;
  Status Write(uint8_t addr, uint8_t reg, uint8_t value) override;
  void Sleep(std::chrono::microseconds duration) override { now_ += duration.count() * 1e-6; }
  const std::string& name() const override { return name_; }

 private:
  enum class Kind { kHts221, kLps25h, kAccelGyro, kMag };
  struct Device {
    Kind kind;
    uint8_t regs[128] = {};
    bool frozen = false;
    double started = -1;  // when the current output rate began; < 0 while powered down
    long last_read = 0;   // the sample whose outputs were last read
  };
  Status Begin(uint8_t addr, const std::string& what, Device** device);
  double Rate(const Device& d) const;  // output samples per second, 0 when not sampling
  void Fill(Device* d, double t);      // the output registers from physics at t
  uint8_t Next(const Device& d, uint8_t sub, uint8_t r) const;

  std::string name_ = "fake-i2c";
  std::map<uint8_t, Device> devices_;
  std::map<uint8_t, int> transactions_;
  std::vector<WriteRecord> writes_;
  double now_ = 0;
  int fail_after_ = -1;
};

}  // namespace sp::testing
