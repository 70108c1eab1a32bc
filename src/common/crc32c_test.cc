#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace sp {
namespace {

// Test vectors from RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32c, Rfc3720Vectors) {
  EXPECT_EQ(crc32c::Value(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c::Value(std::string(32, '\xff')), 0x62A8AB43u);
  std::string inc, dec;
  for (int i = 0; i < 32; ++i) {
    inc += static_cast<char>(i);
    dec += static_cast<char>(31 - i);
  }
  EXPECT_EQ(crc32c::Value(inc), 0x46DD794Eu);
  EXPECT_EQ(crc32c::Value(dec), 0x113FDB5Cu);
  EXPECT_EQ(crc32c::Value("123456789"), 0xE3069283u);
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string s = "hello, sensor world; some more bytes to cross the 8-byte stride";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t part = crc32c::Extend(0, s.data(), cut);
    EXPECT_EQ(crc32c::Extend(part, s.data() + cut, s.size() - cut), crc32c::Value(s)) << cut;
  }
}

}  // namespace
}  // namespace sp
