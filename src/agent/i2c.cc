#include "agent/i2c.h"

#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>

namespace sp {

std::string HexByte(uint8_t value) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02x", value);
  return text;
}

Status CheckWhoAmI(I2cBus* bus, uint8_t addr, uint8_t reg, uint8_t expected, const std::string& chip) {
  uint8_t id = 0;
  if (Status s = bus->Read(addr, reg, &id, 1); !s.ok()) {
    return Status::NotFound("the " + chip + " did not answer at address " + HexByte(addr) + " on " + bus->name() +
                            " (" + std::string(s.message()) + ")");
  }
  if (id != expected) {
    return Status::NotFound("address " + HexByte(addr) + " on " + bus->name() + " answered WHO_AM_I " + HexByte(id) +
                            ", not the " + chip + "'s " + HexByte(expected));
  }
  return Status::OK();
}

Status ReadWhenReady(I2cBus* bus, uint8_t addr, uint8_t reg, uint8_t* data, size_t n,
                     const std::function<bool(const uint8_t*)>& ready, std::chrono::microseconds poll,
                     std::chrono::microseconds limit, const std::string& chip) {
  for (std::chrono::microseconds waited{0};; waited += poll) {
    if (Status s = bus->Read(addr, reg, data, n); !s.ok()) return s.WithContext(chip);
    if (ready(data)) return Status::OK();
    if (waited >= limit) {
      return Status::Unavailable(chip + " at " + HexByte(addr) + " on " + bus->name() + ": no new sample after " +
                                 std::to_string(waited.count() / 1000) + " ms (status register " + HexByte(data[0]) +
                                 ")");
    }
    bus->Sleep(poll);
  }
}

namespace {

class LinuxI2cBus final : public I2cBus {
 public:
  LinuxI2cBus(std::string device, int fd) : device_(std::move(device)), fd_(fd) {}
  ~LinuxI2cBus() override { ::close(fd_); }

  Status Read(uint8_t addr, uint8_t reg, uint8_t* data, size_t n) override {
    // One I2C_RDWR with two messages: the kernel sends a repeated start between them, which the ST
    // chips need to keep the sub-address for the read (their datasheets' "SR" in the read tables).
    i2c_msg msgs[2] = {{addr, 0, 1, &reg}, {addr, I2C_M_RD, static_cast<uint16_t>(n), data}};
    i2c_rdwr_ioctl_data transfer{msgs, 2};
    return Transfer(&transfer, "reading " + std::to_string(n) + " byte(s) from register " + HexByte(reg), addr);
  }

  Status Write(uint8_t addr, uint8_t reg, uint8_t value) override {
    uint8_t bytes[2] = {reg, value};
    i2c_msg msg{addr, 0, 2, bytes};
    i2c_rdwr_ioctl_data transfer{&msg, 1};
    return Transfer(&transfer, "writing " + HexByte(value) + " to register " + HexByte(reg), addr);
  }

  void Sleep(std::chrono::microseconds duration) override { std::this_thread::sleep_for(duration); }
  const std::string& name() const override { return device_; }

 private:
  Status Transfer(i2c_rdwr_ioctl_data* transfer, const std::string& what, uint8_t addr) {
    while (::ioctl(fd_, I2C_RDWR, transfer) < 0) {
      if (errno == EINTR) continue;
      // ENXIO/EREMOTEIO: no device acknowledged the address.
      return Status::FromErrno(device_ + ": " + what + " of address " + HexByte(addr), errno);
    }
    return Status::OK();
  }

  const std::string device_;
  const int fd_;
};

}  // namespace

Result<std::unique_ptr<I2cBus>> OpenLinuxI2cBus(const std::string& device) {
  const int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return Status::FromErrno(
        "cannot open I2C bus " + device +
            " (on a Pi, enable I2C with raspi-config or dtparam=i2c_arm=on; --simulate runs without a board)",
        e);
  }
  return std::unique_ptr<I2cBus>(std::make_unique<LinuxI2cBus>(device, fd));
}

}  // namespace sp
