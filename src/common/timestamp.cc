#include "common/timestamp.h"

#include <date/tz.h>

#include <cmath>

#include "common/time.h"

namespace sp {

namespace {

// Reads exactly n digits.
bool Digits(std::string_view s, size_t at, size_t n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

constexpr int64_t kMinMicros = -62135596800LL * 1000000;  // 0001-01-01
constexpr int64_t kMaxMicros = 253402300799LL * 1000000;  // 9999-12-31 23:59:59

}  // namespace

Result<TimestampParser> TimestampParser::Create(const std::string& zone) {
  const date::time_zone* tz;
  try {
    tz = date::locate_zone(zone);
  } catch (const std::exception&) {
    return Status::InvalidArgument("unknown time zone '" + zone + "'");
  }
  // A zone that never changed its offset (UTC, the default) needs no lookup per message, which
  // cost a few percent of ingest's CPU.
  using namespace date;
  const sys_info info = tz->get_info(sys_days{year{1970} / 1 / 1});
  const bool fixed = info.begin <= sys_days{year{1} / 1 / 1} && info.end >= sys_days{year{9999} / 12 / 31};
  return TimestampParser(tz, fixed ? std::optional<int64_t>(info.offset.count()) : std::nullopt);
}

bool TimestampParser::ParseText(std::string_view s, int64_t* unix_micros) const {
  CivilTime c{};
  if (!Digits(s, 0, 4, &c.year) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &c.month) || s[7] != '-' ||
      !Digits(s, 8, 2, &c.day) || (s[10] != ' ' && s[10] != 'T') || !Digits(s, 11, 2, &c.hour) || s[13] != ':' ||
      !Digits(s, 14, 2, &c.minute) || s[16] != ':' || !Digits(s, 17, 2, &c.second)) {
    return false;
  }
  if (c.year < 1 || c.month < 1 || c.month > 12 || c.day < 1 || c.day > DaysInMonth(c.year, c.month) || c.hour > 23 ||
      c.minute > 59 || c.second > 59) {
    return false;
  }
  size_t at = 19;
  if (at < s.size() && (s[at] == '.' || s[at] == ',')) {
    ++at;
    int digits = 0;
    int micros = 0;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      if (digits < 6) micros = micros * 10 + (s[at] - '0');  // finer than a microsecond is dropped
      ++digits;
      ++at;
    }
    if (digits == 0) return false;
    for (int d = digits; d < 6; ++d) micros *= 10;
    c.micros = micros;
  }
  const int64_t wall = FromCivil(c);  // the written fields, as if they were UTC
  if (at == s.size()) {
    // No offset: the device's wall clock in its configured zone.
    if (fixed_offset_s_) {
      *unix_micros = wall - *fixed_offset_s_ * 1000000;
      return true;
    }
    using namespace std::chrono;
    date::local_time<microseconds> local{microseconds(wall)};
    auto info = zone_->get_info(local);
    // get_info's first offset is the one in force before a gap or the earlier of an overlap.
    *unix_micros = wall - duration_cast<microseconds>(info.first.offset).count();
    return true;
  }
  int64_t offset_s = 0;
  if (s[at] == 'Z' || s[at] == 'z') {
    ++at;
  } else if (s[at] == '+' || s[at] == '-') {
    const int sign = s[at] == '-' ? -1 : 1;
    int hh = 0, mm = 0;
    if (!Digits(s, at + 1, 2, &hh)) return false;
    at += 3;
    if (at < s.size() && s[at] == ':') {
      if (!Digits(s, at + 1, 2, &mm)) return false;
      at += 3;
    } else if (at + 2 <= s.size() && Digits(s, at, 2, &mm)) {
      at += 2;
    }
    if (hh > 23 || mm > 59) return false;
    offset_s = sign * (hh * 3600 + mm * 60);
  } else {
    return false;
  }
  if (at != s.size()) return false;
  *unix_micros = wall - offset_s * 1000000;
  return *unix_micros >= kMinMicros && *unix_micros <= kMaxMicros;
}

bool TimestampParser::ParseEpoch(double value, int64_t* unix_micros) const {
  if (!std::isfinite(value)) return false;
  double micros = std::fabs(value) >= 1e11 ? value * 1e3 : value * 1e6;
  if (micros < static_cast<double>(kMinMicros) || micros > static_cast<double>(kMaxMicros)) return false;
  *unix_micros = std::llround(micros);
  return true;
}

}  // namespace sp
