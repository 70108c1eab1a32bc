#include "common/timestamp.h"

#include <gtest/gtest.h>

#include "common/testing.h"
#include "common/time.h"

namespace sp {
namespace {

std::string Utc(const TimestampParser& p, std::string_view text) {
  int64_t us;
  return p.ParseText(text, &us) ? FormatTimestamp(us) : "invalid";
}

TEST(Timestamp, ZoneLessStampsUseTheDeviceZone) {
  ASSERT_OK_AND_ASSIGN(auto seoul, TimestampParser::Create("Asia/Seoul"));
  EXPECT_EQ(Utc(seoul, "2022-07-14 00:00:00"), "2022-07-13 15:00:00");
  EXPECT_EQ(Utc(seoul, "2022-07-14T00:00:10.25"), "2022-07-13 15:00:10.250000");
  ASSERT_OK_AND_ASSIGN(auto utc, TimestampParser::Create("UTC"));
  EXPECT_EQ(Utc(utc, "2022-07-14 00:00:00"), "2022-07-14 00:00:00");
  EXPECT_EQ(Utc(utc, "0001-01-01 00:00:00"), "0001-01-01 00:00:00");
  // Fixed-offset zones take their one offset without a lookup; Etc/GMT+5 is UTC-5 (POSIX signs).
  ASSERT_OK_AND_ASSIGN(auto gmt5, TimestampParser::Create("Etc/GMT+5"));
  EXPECT_EQ(Utc(gmt5, "2022-07-14 00:00:00"), "2022-07-14 05:00:00");
  EXPECT_EQ(Utc(gmt5, "9999-12-31 12:00:00"), "9999-12-31 17:00:00");
  // A zone whose offset changed long ago still uses the history (Seoul was UTC+8:30 in 1955).
  EXPECT_EQ(Utc(seoul, "1955-01-01 00:00:00"), "1954-12-31 15:30:00");
  EXPECT_FALSE(TimestampParser::Create("Mars/Olympus").ok());
}

TEST(Timestamp, OffsetsWinOverTheZone) {
  ASSERT_OK_AND_ASSIGN(auto seoul, TimestampParser::Create("Asia/Seoul"));
  EXPECT_EQ(Utc(seoul, "2022-07-14T00:00:00Z"), "2022-07-14 00:00:00");
  EXPECT_EQ(Utc(seoul, "2022-07-14T09:00:00+09:00"), "2022-07-14 00:00:00");
  EXPECT_EQ(Utc(seoul, "2022-07-14T09:00:00+0900"), "2022-07-14 00:00:00");
  EXPECT_EQ(Utc(seoul, "2022-07-13T19:30:00-04:30"), "2022-07-14 00:00:00");
  EXPECT_EQ(Utc(seoul, "2022-07-14T09:00:00.123456789+09"), "2022-07-14 00:00:00.123456");
}

TEST(Timestamp, DstGapsAndOverlapsAreDeterministic) {
  ASSERT_OK_AND_ASSIGN(auto ny, TimestampParser::Create("America/New_York"));
  // 2022-03-13 02:30 does not exist in New York: read with EST (-5), i.e. 03:30 EDT.
  EXPECT_EQ(Utc(ny, "2022-03-13 02:30:00"), "2022-03-13 07:30:00");
  // 2022-11-06 01:30 happens twice: the earlier one (EDT, -4).
  EXPECT_EQ(Utc(ny, "2022-11-06 01:30:00"), "2022-11-06 05:30:00");
}

TEST(Timestamp, RejectsImpossibleFields) {
  ASSERT_OK_AND_ASSIGN(auto utc, TimestampParser::Create("UTC"));
  for (const char* bad : {"2022-13-45 99:00:00", "2022-02-29 00:00:00", "2022-04-31 00:00:00", "2022-07-14 24:00:00",
                          "2022-07-14 23:60:00", "2022-07-14 23:59:60", "2022-07-14", "22-07-14 00:00:00",
                          "2022-07-14 00:00:00+25:00", "2022-07-14 00:00:00 junk", "2022-07-14 00:00:00.",
                          "0000-01-01 00:00:00", ""}) {
    EXPECT_EQ(Utc(utc, bad), "invalid") << bad;
  }
  EXPECT_EQ(Utc(utc, "2024-02-29 23:59:59"), "2024-02-29 23:59:59");
}

TEST(Timestamp, EpochSecondsAndMilliseconds) {
  ASSERT_OK_AND_ASSIGN(auto utc, TimestampParser::Create("UTC"));
  int64_t us;
  ASSERT_TRUE(utc.ParseEpoch(1657724400, &us));
  EXPECT_EQ(FormatTimestamp(us), "2022-07-13 15:00:00");
  ASSERT_TRUE(utc.ParseEpoch(1657724400123.0, &us));
  EXPECT_EQ(FormatTimestamp(us), "2022-07-13 15:00:00.123000");
  ASSERT_TRUE(utc.ParseEpoch(1657724400.5, &us));
  EXPECT_EQ(FormatTimestamp(us), "2022-07-13 15:00:00.500000");
  EXPECT_FALSE(utc.ParseEpoch(1e300, &us));
}

}  // namespace
}  // namespace sp
