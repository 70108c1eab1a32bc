#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>

#include <cmath>

namespace sp {
namespace {

TEST(JsonWriter, EscapesStrings) {
  std::string out;
  AppendJsonString(out, std::string("a\"b\\c\n\x01\x7f\xc3\xa9", 10));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\\u007f\xc3\xa9\"");
  out.clear();
  AppendJsonString(out, "\tdev-1\r");  // escapes at both ends, a plain run between
  EXPECT_EQ(out, "\"\\tdev-1\\r\"");
  out.clear();
  AppendJsonString(out, "");
  EXPECT_EQ(out, "\"\"");
}

TEST(JsonWriter, ShortestDoubles) {
  auto f = [](double v) {
    std::string s;
    AppendDouble(s, v);
    return s;
  };
  EXPECT_EQ(f(39.743), "39.743");
  EXPECT_EQ(f(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(f(1e-7), "1e-07");
  EXPECT_EQ(f(-0.0), "-0");
  EXPECT_EQ(f(NAN), "null");
  EXPECT_EQ(f(INFINITY), "null");
  // Whole doubles beyond integers' range stay recognisably floating (found by rule_sql_fuzz).
  EXPECT_EQ(f(18446744073709551615.0), "1.8446744073709552e+19");
  EXPECT_EQ(f(1e16), "1e+16");
  EXPECT_EQ(f(9999999999999998.0), "9999999999999998");
}

// The fast path for a few decimals prints exactly what to_chars's shortest form prints: every
// thousandth below 1e5 in magnitude, and their neighbours, which must take the slow path.
TEST(JsonWriter, FewDecimalsAsToChars) {
  auto slow = [](double v) {
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  };
  std::string fast;
  for (int64_t m = -100'000'000; m <= 100'000'000; m += (m > -300'000 && m < 300'000) ? 1 : 997) {
    for (double v : {m / 1000.0, std::nextafter(m / 1000.0, 1e9)}) {
      fast.clear();
      AppendDouble(fast, v);
      ASSERT_EQ(fast, slow(v)) << m;
    }
  }
  for (double v : {0.001, 0.01, 0.1, 0.5, 1.0, 10000.0, 20000.0, 99999.999, 1e5, 1e-3, -0.001}) {
    fast.clear();
    AppendDouble(fast, v);
    EXPECT_EQ(fast, slow(v)) << v;
  }
}

TEST(JsonWriter, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
}

TEST(JsonWriter, Base64) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

}  // namespace
}  // namespace sp
