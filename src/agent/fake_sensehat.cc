#include "agent/fake_sensehat.h"

#include <cerrno>
#include <cmath>

#include "agent/lsm9ds1.h"

namespace sp::testing {

namespace {

constexpr double kRadToDeg = 57.29577951308232;

// The factory calibration bytes (0x30-0x3f) of a real HTS221, as dumped in the test of
// github.com/mattludwigs/hts221 (test/hts221/calibration_test.exs): negative outputs and a T1 whose
// ninth bit lives in the T1/T0 msb register, the cases a careless decoder gets wrong.
constexpr uint8_t kRealHts221Calibration[16] = {64, 144, 159, 10, 0, 196, 238, 255, 4, 4, 197, 201, 254, 255, 179, 2};

int16_t Raw(double value, double per_lsb) {
  return static_cast<int16_t>(std::lround(std::fmax(-32768, std::fmin(32767, value / per_lsb))));
}

void Put16(uint8_t* at, int16_t v) {
  at[0] = static_cast<uint8_t>(v & 0xff);
  at[1] = static_cast<uint8_t>((v >> 8) & 0xff);
}

void Put3(uint8_t* at, Vec3 v, double per_lsb) {
  Put16(at, Raw(v.x, per_lsb));
  Put16(at + 2, Raw(v.y, per_lsb));
  Put16(at + 4, Raw(v.z, per_lsb));
}

}  // namespace

void SetMotion(SenseHatPhysics* p, const Quaternion& pose, Vec3 rate, Vec3 field_ned, Vec3 offset, Vec3 soft) {
  // The board frame's axes are the accelerometer/gyroscope's X, Y and -Z as the LSM9DS1 datasheet's
  // Figure 1 draws them (the chip's Z leaves the board's top; the board frame's z goes down through it).
  // At rest an accelerometer reads the reaction to gravity: +1 g on an axis pointing up.
  const Vec3 down = Rotate(Conjugate(pose), {0, 0, 1});
  p->accel = {-down.x, -down.y, down.z};
  p->gyro = kRadToDeg * Vec3{rate.x, rate.y, -rate.z};
  // Figure 1's magnetometer X points against the accelerometer's X; its Y and Z go along.
  const Vec3 b = Rotate(Conjugate(pose), field_ned);
  p->mag = Vec3{-b.x * soft.x, b.y * soft.y, -b.z * soft.z} + offset;
}

FakeSenseHat::FakeSenseHat() : physics([](double) { return SenseHatPhysics{}; }) {
  auto add = [&](uint8_t addr, Kind kind, uint8_t who_am_i) {
    Device& d = devices_[addr];
    d.kind = kind;
    d.regs[0x0f] = who_am_i;
    return &d;
  };
  Device* hts = add(0x5f, Kind::kHts221, 0xbc);
  for (int i = 0; i < 16; ++i) hts->regs[0x30 + i] = kRealHts221Calibration[i];
  add(0x5c, Kind::kLps25h, 0xbd);
  add(0x6a, Kind::kAccelGyro, 0x68)->regs[0x22] = 0x04;  // CTRL_REG8 after reset: IF_ADD_INC
  Device* mag = add(0x1c, Kind::kMag, 0x3d);
  mag->regs[0x20] = 0x10;  // CTRL_REG1_M after reset: 10 Hz
  mag->regs[0x22] = 0x03;  // CTRL_REG3_M after reset: power-down
}

uint8_t& FakeSenseHat::reg(uint8_t addr, uint8_t r) {
  return devices_.at(addr).regs[r & 0x7f];
}
void FakeSenseHat::FreezeOutputs(uint8_t addr) {
  devices_.at(addr).frozen = true;
}
void FakeSenseHat::Remove(uint8_t addr) {
  devices_.erase(addr);
}

void FakeSenseHat::Move(uint8_t from, uint8_t to) {
  devices_[to] = devices_.at(from);
  devices_.erase(from);
}

int FakeSenseHat::transactions(uint8_t addr) const {
  auto it = transactions_.find(addr);
  return it == transactions_.end() ? 0 : it->second;
}

Status FakeSenseHat::Begin(uint8_t addr, const std::string& what, Device** device) {
  ++transactions_[addr];
  now_ += 50e-6;  // about a short transfer at 400 kHz
  const std::string context = name_ + ": " + what + " of address " + HexByte(addr);
  if (fail_after_ == 0) return Status::FromErrno(context, EIO);
  if (fail_after_ > 0) --fail_after_;
  auto it = devices_.find(addr);
  if (it == devices_.end()) return Status::FromErrno(context, EREMOTEIO);  // what i2c-dev says to a NACK
  *device = &it->second;
  return Status::OK();
}

double FakeSenseHat::Rate(const Device& d) const {
  switch (d.kind) {
    case Kind::kHts221: {  // CTRL_REG1: PD, ODR in bits 1-0
      static constexpr double kOdr[] = {0, 1, 7, 12.5};
      return (d.regs[0x20] & 0x80) ? kOdr[d.regs[0x20] & 0x03] : 0;
    }
    case Kind::kLps25h: {  // CTRL_REG1: PD, ODR in bits 6-4
      static constexpr double kOdr[] = {0, 1, 7, 12.5, 25, 0, 0, 0};
      return (d.regs[0x20] & 0x80) ? kOdr[(d.regs[0x20] >> 4) & 0x07] : 0;
    }
    case Kind::kAccelGyro: {  // CTRL_REG1_G's ODR_G drives both parts
      static constexpr double kOdr[] = {0, 14.9, 59.5, 119, 238, 476, 952, 0};
      return kOdr[(d.regs[0x10] >> 5) & 0x07];
    }
    case Kind::kMag: {  // CTRL_REG3_M's MD 00 (continuous), CTRL_REG1_M's DO
      static constexpr double kOdr[] = {0.625, 1.25, 2.5, 5, 10, 20, 40, 80};
      return (d.regs[0x22] & 0x03) == 0 ? kOdr[(d.regs[0x20] >> 2) & 0x07] : 0;
    }
  }
  return 0;
}

void FakeSenseHat::Fill(Device* d, double t) {
  const SenseHatPhysics p = physics(t);
  uint8_t* r = d->regs;
  switch (d->kind) {
    case Kind::kHts221: {
      // The calibration line read backwards: which raw output the chip gives for the physical value.
      const double h0 = r[0x30] / 2.0, h1 = r[0x31] / 2.0;
      const double t0 = (((r[0x35] & 0x03) << 8) | r[0x32]) / 8.0;
      const double t1 = ((((r[0x35] >> 2) & 0x03) << 8) | r[0x33]) / 8.0;
      const double h0_out = Le16(&r[0x36]), h1_out = Le16(&r[0x3a]);
      const double t0_out = Le16(&r[0x3c]), t1_out = Le16(&r[0x3e]);
      Put16(&r[0x28], Raw(h0_out + (p.humidity - h0) * (h1_out - h0_out) / (h1 - h0), 1));
      Put16(&r[0x2a], Raw(t0_out + (p.temperature - t0) * (t1_out - t0_out) / (t1 - t0), 1));
      break;
    }
    case Kind::kLps25h: {
      const int32_t pressure = static_cast<int32_t>(std::lround(p.pressure * 4096));
      r[0x28] = pressure & 0xff;
      r[0x29] = (pressure >> 8) & 0xff;
      r[0x2a] = (pressure >> 16) & 0xff;
      Put16(&r[0x2b], Raw(p.pressure_temperature - 42.5, 1.0 / 480));
      break;
    }
    case Kind::kAccelGyro: {
      static constexpr GyroRange kGyro[] = {GyroRange::k245dps, GyroRange::k500dps, GyroRange::k245dps,
                                            GyroRange::k2000dps};
      static constexpr AccelRange kAccel[] = {AccelRange::k2g, AccelRange::k16g, AccelRange::k4g, AccelRange::k8g};
      Put3(&r[0x18], p.gyro, GyroSensitivity(kGyro[(r[0x10] >> 3) & 0x03]));
      Put3(&r[0x28], p.accel, AccelSensitivity(kAccel[(r[0x20] >> 3) & 0x03]));
      break;
    }
    case Kind::kMag:
      Put3(&r[0x28], p.mag, MagSensitivity(static_cast<MagRange>((r[0x21] >> 5) & 0x03)));
      break;
  }
}

uint8_t FakeSenseHat::Next(const Device& d, uint8_t sub, uint8_t r) const {
  if (d.kind != Kind::kAccelGyro) return (sub & 0x80) ? (r + 1) & 0x7f : r;
  // The accelerometer/gyroscope advances by CTRL_REG8's IF_ADD_INC and, in a burst over the outputs,
  // goes round the gyroscope's and the accelerometer's registers (datasheet 3.3, Figures 6 and 7).
  if (!(d.regs[0x22] & 0x04)) return r;
  const bool gyro_on = Rate(d) > 0;
  if (r == 0x1d && gyro_on) return 0x28;
  if (r == 0x2d) return gyro_on ? 0x18 : 0x28;
  return (r + 1) & 0x7f;
}

Status FakeSenseHat::Read(uint8_t addr, uint8_t sub, uint8_t* data, size_t n) {
  Device* d = nullptr;
  SP_RETURN_IF_ERROR(Begin(addr, "reading " + std::to_string(n) + " byte(s) from register " + HexByte(sub), &d));
  const double rate = Rate(*d);
  const long k = rate > 0 && d->started >= 0 ? static_cast<long>(std::floor((now_ - d->started) * rate)) : 0;
  const bool fresh = k >= 1 && k > d->last_read;
  if (k >= 1 && !d->frozen) Fill(d, d->started + k / rate);
  // Status registers and the output registers a read of them clears.
  uint8_t status_reg = 0x27, ready = 0x03, out_lo = 0x28, out_hi = 0x2c;
  switch (d->kind) {
    case Kind::kHts221:
      out_hi = 0x2b;
      break;
    case Kind::kLps25h:
      break;
    case Kind::kAccelGyro:
      status_reg = 0x17, out_lo = 0x18, out_hi = 0x2d;
      break;
    case Kind::kMag:
      ready = 0x08, out_hi = 0x2d;
      break;
  }
  d->regs[status_reg] = fresh ? ready : 0;
  if (d->kind == Kind::kAccelGyro) d->regs[0x27] = d->regs[0x17];  // its second copy
  bool read_outputs = false;
  uint8_t r = sub & 0x7f;
  for (size_t i = 0; i < n; ++i) {
    data[i] = d->regs[r];
    read_outputs = read_outputs || (r >= out_lo && r <= out_hi);
    r = Next(*d, sub, r);
  }
  if (read_outputs && k >= 1) d->last_read = k;
  return Status::OK();
}

Status FakeSenseHat::Write(uint8_t addr, uint8_t reg, uint8_t value) {
  Device* d = nullptr;
  SP_RETURN_IF_ERROR(Begin(addr, "writing " + HexByte(value) + " to register " + HexByte(reg), &d));
  writes_.push_back({addr, reg, value});
  if ((reg & 0x7f) == 0x0f) return Status::OK();  // WHO_AM_I is read-only
  const double before = Rate(*d);
  d->regs[reg & 0x7f] = value;
  const double after = Rate(*d);
  if (after != before) {  // powered up, down, or to another rate: samples count from now
    d->started = after > 0 ? now_ : -1;
    d->last_read = 0;
  }
  return Status::OK();
}

}  // namespace sp::testing
