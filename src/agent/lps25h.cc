#include "agent/lps25h.h"

namespace sp {

namespace {
// CTRL_REG1: PD (active) | ODR 1 Hz | BDU. The masks and the 1 Hz code (0x01 in bits 6-4) are those of
// the LPS25H entry in Linux's drivers/iio/pressure/st_pressure_core.c.
constexpr uint8_t kCtrlReg1Value = 0x94;
// RES_CONF 0x05: the averaging RTIMULib (and so the Sense HAT library) sets (RTPressureLPS25H.cpp).
constexpr uint8_t kResConfValue = 0x05;
// CTRL_REG2 0: nothing set. RTIMULib writes 0x40 here and 0xc0 to FIFO_CTRL (its FIFO set-up), which a chip
// keeps until power is cut; we read the plain output registers. (No reference we could read gives this
// register's bits.)
constexpr uint8_t kCtrlReg2Value = 0x00;
constexpr uint8_t kDataReady = 0x03;  // P_DA | T_DA
}  // namespace

// Conversions from st_pressure_core.c (ST_PRESS_LSB_PER_MBAR 4096, 24-bit signed pressure;
// ST_PRESS_LSB_PER_CELSIUS 480 and ST_PRESS_MILLI_CELSIUS_OFFSET 42500) and RTIMULib's pressureRead,
// which apply the LPS25H datasheet's sensitivities: hPa = raw / 4096, °C = 42.5 + raw / 480.
double Lps25hPressure(const uint8_t out[3]) {
  int32_t raw = out[0] | (out[1] << 8) | (out[2] << 16);
  if (raw & 0x800000) raw -= 0x1000000;  // sign of the 24-bit value
  return raw / 4096.0;
}

double Lps25hTemperature(int16_t raw) {
  return 42.5 + raw / 480.0;
}

Result<std::unique_ptr<Lps25h>> Lps25h::Open(I2cBus* bus) {
  SP_RETURN_IF_ERROR(
      CheckWhoAmI(bus, lps25h::kAddress, lps25h::kWhoAmI, lps25h::kWhoAmIValue, "LPS25H pressure sensor"));
  const std::pair<uint8_t, uint8_t> config[] = {
      {lps25h::kCtrlReg2, kCtrlReg2Value}, {lps25h::kResConf, kResConfValue}, {lps25h::kCtrlReg1, kCtrlReg1Value}};
  for (const auto& [reg, value] : config) {
    if (Status s = bus->Write(lps25h::kAddress, reg, value); !s.ok()) return s.WithContext("LPS25H");
  }
  return std::unique_ptr<Lps25h>(new Lps25h(bus));
}

Result<Lps25h::Sample> Lps25h::Read() {
  // STATUS_REG, the pressure's three bytes and the temperature's two in one read; as with the HTS221, the
  // data-ready bits matter only until the first sample after power-up.
  uint8_t r[6];
  SP_RETURN_IF_ERROR(ReadWhenReady(
      bus_, lps25h::kAddress, lps25h::kStatus | lps25h::kAutoIncrement, r, sizeof r,
      [this](const uint8_t* d) { return sampled_ || (d[0] & kDataReady) == kDataReady; },
      std::chrono::milliseconds(100), std::chrono::milliseconds(2500), "LPS25H"));
  sampled_ = true;
  return Sample{Lps25hPressure(&r[1]), Lps25hTemperature(Le16(&r[4]))};
}

}  // namespace sp
