#include "common/time.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace sp {
namespace {

TEST(Time, FormatsUtc) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01 00:00:00");
  EXPECT_EQ(FormatTimestamp(1657724400'000000), "2022-07-13 15:00:00");
  EXPECT_EQ(FormatTimestamp(1657724400'000001), "2022-07-13 15:00:00.000001");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31 23:59:59.999999");
  EXPECT_EQ(FormatTimestamp(253402300799'500000), "9999-12-31 23:59:59.500000");
  EXPECT_EQ(FormatTimestamp(253402300800'000000), "10000-01-01 00:00:00");
  EXPECT_EQ(FormatTimestamp(-62135596800'000000), "0001-01-01 00:00:00");
}

TEST(Time, CivilRoundTripsAcrossLeapYearsAndEras) {
  for (int64_t day = -800000; day <= 800000; day += 97) {
    int64_t us = day * 86'400'000'000 + 12'345'678'901;
    CivilTime c = ToCivil(us);
    EXPECT_EQ(FromCivil(c), us);
  }
  EXPECT_EQ(DaysFromCivil(2000, 3, 1) - DaysFromCivil(2000, 2, 28), 2);  // 2000 is a leap year
  EXPECT_EQ(DaysFromCivil(1900, 3, 1) - DaysFromCivil(1900, 2, 28), 1);  // 1900 is not
}

// AppendTimestamp keeps the last date it printed: instants back and forth across days, the same
// day again, and both sides of midnight must each print their own date.
TEST(TimeTest, AppendTimestampMatchesTheCivilTimeInAnyOrder) {
  auto expected = [](int64_t us) {
    const CivilTime c = ToCivil(us);
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour, c.minute,
                          c.second);
    if (c.micros != 0) n += std::snprintf(buf + n, sizeof buf - n, ".%06d", c.micros);
    return std::string(buf, n);
  };
  uint64_t x = 88172645463325252ull;  // xorshift: the same instants every run
  for (int i = 0; i < 200000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    int64_t us = static_cast<int64_t>(x % 8'000'000'000'000'000ull);  // 1970 to about 2223
    if (i % 4 == 1) us = 1657756800'000000 - 1 + static_cast<int64_t>(x % 3);  // around a midnight
    if (i % 4 == 2) us = -us / 16;                                          // before 1970
    std::string out = "x";
    AppendTimestamp(out, us);
    ASSERT_EQ(out, "x" + expected(us)) << us;
  }
}

}  // namespace
}  // namespace sp
