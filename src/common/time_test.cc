#include "common/time.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sp
