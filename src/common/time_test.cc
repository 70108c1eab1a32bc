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

// AppendTimestamp keeps the last two seconds it printed: instants back and forth across days, the
// same second again with other microseconds, and both sides of midnight must each print their own.
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
  int64_t previous = 0;
  for (int i = 0; i < 200000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    int64_t us = static_cast<int64_t>(x % 8'000'000'000'000'000ull);  // 1970 to about 2223
    if (i % 4 == 1) us = 1657756800'000000 - 1 + static_cast<int64_t>(x % 3);  // around a midnight
    if (i % 4 == 2) us = -us / 16;                                          // before 1970
    if (i % 8 == 3) us = previous - previous % 1'000'000 + static_cast<int64_t>(x % 3) * 499'999;  // its second again
    previous = us;
    std::string out = "x";
    AppendTimestamp(out, us);
    ASSERT_EQ(out, "x" + expected(us)) << us;
  }
}

// ParseTimestamp reads back every instant AppendTimestamp writes in the years 0001-9999, with and
// without a fraction, leap days included.
TEST(Time, ParseTimestampReadsBackWhatAppendTimestampWrote) {
  constexpr int64_t kYear1 = -62135596800LL * 1000000;  // 0001-01-01 00:00:00
  constexpr int64_t kYear2200 = 7258118400LL * 1000000;
  constexpr int64_t kAfter9999 = 253402300800LL * 1000000;
  uint64_t x = 88172645463325252ull;  // xorshift: the same instants every run
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 300000; ++i) {
    int64_t us = static_cast<int64_t>(next() % static_cast<uint64_t>(kYear2200));  // 1970-2200
    if (i % 3 == 1) us = kYear1 + static_cast<int64_t>(next() % static_cast<uint64_t>(kAfter9999 - kYear1));
    if (i % 4 == 2) us = 1657756800'000000 + static_cast<int64_t>(next() % 259'200'000'000);  // three days: kept dates
    if (i % 5 == 2) us -= us % 1000000;  // no fraction
    if (i % 7 == 3) us -= us % 1000;     // a fraction with trailing zeros
    const std::string text = FormatTimestamp(us);
    int64_t got = 0;
    ASSERT_TRUE(ParseTimestamp(text, &got)) << text;
    ASSERT_EQ(got, us) << text;
  }
  for (const char* leap_day :
       {"2000-02-29 12:00:00", "2024-02-29 00:00:00.000001", "2400-02-29 23:59:59", "0004-02-29 00:00:00"}) {
    int64_t got = 0;
    ASSERT_TRUE(ParseTimestamp(leap_day, &got)) << leap_day;
    EXPECT_EQ(FormatTimestamp(got), leap_day);
  }
}

// Anything AppendTimestamp would not write for the years 0001-9999 is refused, not misread.
TEST(Time, ParseTimestampRefusesEveryOtherForm) {
  int64_t got = 0;
  ASSERT_TRUE(ParseTimestamp("2022-07-14 12:00:00", &got));  // a kept date does not excuse a bad time
  EXPECT_FALSE(ParseTimestamp("2022-07-14 24:00:00", &got));
  EXPECT_FALSE(ParseTimestamp("2022-07-14 12:00:00.12345x", &got));
  for (const char* text : {"",
                           "2022-07-14",
                           "2022-07-14T00:00:00",
                           "2022-07-14 00:00:00Z",
                           "2022-07-14 00:00:00+00:00",
                           "2022-07-14 00:00:00.5",
                           "2022-07-14 00:00:00.12345",
                           "2022-07-14 00:00:00.1234567",
                           "2022-07-14 00:00:00,123456",
                           "2022-07-14 00:00:00 ",
                           " 2022-07-14 00:00:00",
                           "2022-7-14 00:00:00",
                           "0000-01-01 00:00:00",
                           "10000-01-01 00:00:00",
                           "-001-01-01 00:00:00",
                           "2022-00-14 00:00:00",
                           "2022-13-14 00:00:00",
                           "2022-07-00 00:00:00",
                           "2022-07-32 00:00:00",
                           "2022-04-31 00:00:00",
                           "1900-02-29 00:00:00",
                           "2100-02-29 00:00:00",
                           "2023-02-29 00:00:00",
                           "2024-02-30 00:00:00",
                           "2022-07-14 24:00:00",
                           "2022-07-14 00:60:00",
                           "2022-07-14 00:00:60",
                           "2022-07-14 0a:00:00",
                           "2022/07/14 00:00:00",
                           "2022-07-14 00-00-00",
                           "2022-07-14 00:00:00.12345a",
                           "2022-07-14 00:00:00x123456",
                           "2022-07-14 00:00:0:",
                           "2022-07-14 00:00:00./00000"}) {
    EXPECT_FALSE(ParseTimestamp(text, &got)) << text;
  }
}

}  // namespace
}  // namespace sp
