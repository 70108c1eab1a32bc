#include "agent/hts221.h"

#include <algorithm>

namespace sp {

namespace {
// CTRL_REG1: PD (power on) | BDU (outputs not updated between the reads of their low and high byte) |
// ODR 1 Hz. Bits from Linux's drivers/iio/humidity/hts221_core.c (HTS221_ENABLE_SENSOR, HTS221_BDU_MASK,
// hts221_odr_table). The agent reads at most once a second, so a faster rate only heats the chip.
constexpr uint8_t kCtrlReg1Value = 0x85;
// AV_CONF 0x1b: what RTIMULib (and so the Sense HAT library) writes; hts221_core.c's tables read it as 32
// humidity and 16 temperature samples averaged per output.
constexpr uint8_t kAvConfValue = 0x1b;
constexpr uint8_t kDataReady = 0x03;  // H_DA | T_DA
}  // namespace

Result<Hts221Calibration> DecodeHts221Calibration(const uint8_t regs[16]) {
  // Register layout from RTIMULib's RTHumidityDefs.h and hts221_core.c: 0x30 H0_rH_x2, 0x31 H1_rH_x2,
  // 0x32 T0_degC_x8, 0x33 T1_degC_x8, 0x35 T1/T0 msb (T0's bits 9-8 in bits 1-0, T1's in bits 3-2),
  // 0x36 H0_T0_OUT, 0x3a H1_T0_OUT, 0x3c T0_OUT, 0x3e T1_OUT (16-bit, little-endian, signed).
  Hts221Calibration cal;
  cal.h0_rh = regs[0x00] / 2.0;
  cal.h1_rh = regs[0x01] / 2.0;
  const uint8_t msb = regs[0x05];
  cal.t0_degc = (((msb & 0x03) << 8) | regs[0x02]) / 8.0;
  cal.t1_degc = ((((msb >> 2) & 0x03) << 8) | regs[0x03]) / 8.0;
  cal.h0_t0_out = Le16(&regs[0x06]);
  cal.h1_t0_out = Le16(&regs[0x0a]);
  cal.t0_out = Le16(&regs[0x0c]);
  cal.t1_out = Le16(&regs[0x0e]);
  if (cal.h0_t0_out == cal.h1_t0_out || cal.t0_out == cal.t1_out) {
    return Status::Corruption("HTS221 calibration registers are degenerate (H0_T0_OUT " +
                              std::to_string(cal.h0_t0_out) + ", H1_T0_OUT " + std::to_string(cal.h1_t0_out) +
                              ", T0_OUT " + std::to_string(cal.t0_out) + ", T1_OUT " + std::to_string(cal.t1_out) +
                              ")");
  }
  return cal;
}

// Both conversions are the straight line through the two factory points: TN1218's procedure (as ST's
// STEVAL-BCN002V1 user manual restates it; RTIMULib's humidityInit builds the same line).
double Hts221Humidity(const Hts221Calibration& cal, int16_t h_out) {
  const double rh = cal.h0_rh + (cal.h1_rh - cal.h0_rh) * (h_out - cal.h0_t0_out) / (cal.h1_t0_out - cal.h0_t0_out);
  // Relative humidity is 0-100 % by definition; the line extrapolated past it is no reading.
  return std::clamp(rh, 0.0, 100.0);
}

double Hts221Temperature(const Hts221Calibration& cal, int16_t t_out) {
  return cal.t0_degc + (cal.t1_degc - cal.t0_degc) * (t_out - cal.t0_out) / (cal.t1_out - cal.t0_out);
}

Result<std::unique_ptr<Hts221>> Hts221::Open(I2cBus* bus) {
  SP_RETURN_IF_ERROR(
      CheckWhoAmI(bus, hts221::kAddress, hts221::kWhoAmI, hts221::kWhoAmIValue, "HTS221 humidity sensor"));
  uint8_t regs[16];
  if (Status s = bus->Read(hts221::kAddress, hts221::kCalibration | hts221::kAutoIncrement, regs, sizeof regs);
      !s.ok()) {
    return s.WithContext("HTS221 calibration");
  }
  SP_ASSIGN_OR_RETURN(const Hts221Calibration cal, DecodeHts221Calibration(regs));
  if (Status s = bus->Write(hts221::kAddress, hts221::kAvConf, kAvConfValue); !s.ok()) return s.WithContext("HTS221");
  if (Status s = bus->Write(hts221::kAddress, hts221::kCtrlReg1, kCtrlReg1Value); !s.ok())
    return s.WithContext("HTS221");
  return std::unique_ptr<Hts221>(new Hts221(bus, cal));
}

Result<Hts221::Sample> Hts221::Read() {
  // STATUS_REG and the four output bytes in one read. The outputs always hold the latest sample (BDU keeps
  // its two bytes together); the data-ready bits matter only until the first sample after power-up,
  // which at 1 Hz comes about a second after Open.
  uint8_t r[5];
  SP_RETURN_IF_ERROR(ReadWhenReady(
      bus_, hts221::kAddress, hts221::kStatus | hts221::kAutoIncrement, r, sizeof r,
      [this](const uint8_t* d) { return sampled_ || (d[0] & kDataReady) == kDataReady; },
      std::chrono::milliseconds(100), std::chrono::milliseconds(2500), "HTS221"));
  sampled_ = true;
  return Sample{Hts221Humidity(cal_, Le16(&r[1])), Hts221Temperature(cal_, Le16(&r[3]))};
}

}  // namespace sp
