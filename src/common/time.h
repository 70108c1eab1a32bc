// UTC calendar arithmetic on microseconds since the Unix epoch, without time-zone databases:
// partition names, log and lake timestamps are all UTC. Zone conversions live in common/timestamp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sp {

//! a / b rounded towards negative infinity (b > 0): the bucket of a for instants before 1970 too.
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b < 0); }

struct CivilTime {
  int year, month, day, hour, minute, second, micros;
};

//! Breaks a UTC instant into calendar fields (proleptic Gregorian, any sign).
CivilTime ToCivil(int64_t unix_micros);
//! The UTC instant of calendar fields; fields are not range-checked.
int64_t FromCivil(const CivilTime& c);
//! Days since 1970-01-01 for a proleptic Gregorian date.
int64_t DaysFromCivil(int year, int month, int day);
//! Days in a month (1-12) of the proleptic Gregorian calendar.
int DaysInMonth(int year, int month);
//! "YYYY-MM-DD HH:MM:SS" and ".ffffff" when the instant has a fraction: the lake's and the
//! query output's timestamp form, which DuckDB, Spark and Trino all read as a TIMESTAMP.
std::string FormatTimestamp(int64_t unix_micros);
//! The same appended to out, for hot paths that reuse one string.
void AppendTimestamp(std::string& out, int64_t unix_micros);
//! The same written at p, which has room for kMaxTimestampChars; returns the end.
inline constexpr size_t kMaxTimestampChars = 40;
char* WriteTimestamp(char* p, int64_t unix_micros);
//! Reads the form AppendTimestamp writes, "YYYY-MM-DD HH:MM:SS" or with ".ffffff", for the years
//! 0001-9999; false for anything else (common/timestamp.h reads the other forms).
bool ParseTimestamp(std::string_view text, int64_t* unix_micros);

}  // namespace sp
