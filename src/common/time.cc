#include "common/time.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

namespace sp {

namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;

// Days since 1970-01-01 and the microseconds into that day, rounding down for instants before 1970.
std::pair<int64_t, int64_t> DayAndTime(int64_t unix_micros) {
  int64_t day = unix_micros / kMicrosPerDay;
  int64_t rem = unix_micros % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --day;
  }
  return {day, rem};
}

}  // namespace

// Howard Hinnant's days_from_civil / civil_from_days algorithms (public-domain descriptions of
// the proleptic Gregorian calendar in 400-year eras).
int64_t DaysFromCivil(int year, int month, int day) {
  int64_t y = year - (month <= 2 ? 1 : 0);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

CivilTime ToCivil(int64_t unix_micros) {
  const auto [days, rem] = DayAndTime(unix_micros);
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  CivilTime c;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = static_cast<int>(yoe + era * 400 + (c.month <= 2 ? 1 : 0));
  int64_t secs = rem / 1'000'000;
  c.micros = static_cast<int>(rem % 1'000'000);
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  return c;
}

int64_t FromCivil(const CivilTime& c) {
  int64_t secs = DaysFromCivil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
  return secs * 1'000'000 + c.micros;
}

void AppendTimestamp(std::string& out, int64_t unix_micros) {
  char buf[kMaxTimestampChars];
  out.append(buf, WriteTimestamp(buf, unix_micros));
}

char* WriteTimestamp(char* out, int64_t unix_micros) {
  // Digits by hand, and the last two seconds printed on this thread kept ("YYYY-MM-DD HH:MM:SS"):
  // this runs twice per reading (its event time, and the receive time, one for a whole batch),
  // readings come mostly in time order with many in each second, and snprintf was a tenth of
  // ingest's CPU, the civil date a third of the rest; the time of day was most of what was left.
  int64_t second = unix_micros / 1'000'000;
  int micros = static_cast<int>(unix_micros % 1'000'000);
  if (micros < 0) {
    micros += 1'000'000;
    --second;
  }
  struct Second {
    int64_t second = INT64_MIN;
    char text[32];
    size_t size = 0;
  };
  thread_local Second seconds[2];  // the event time's second and the receive time's
  thread_local size_t older = 0;
  char* p;
  auto digits = [&p](int v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
    p += width;
  };
  Second* hit = nullptr;
  for (size_t i = 0; i < 2; ++i) {
    if (seconds[i].second == second) {
      hit = &seconds[i];
      older = i ^ 1;
    }
  }
  if (hit == nullptr) {
    hit = &seconds[older];
    older ^= 1;
    const CivilTime c = ToCivil(second * 1'000'000);
    p = hit->text;
    if (c.year < 0 || c.year > 9999) {
      // Outside what four digits hold (the rules reject such timestamps; this keeps the output sane).
      p += std::snprintf(p, 12, "%d", c.year);
    } else {
      digits(c.year, 4);
    }
    *p++ = '-';
    digits(c.month, 2);
    *p++ = '-';
    digits(c.day, 2);
    *p++ = ' ';
    digits(c.hour, 2);
    *p++ = ':';
    digits(c.minute, 2);
    *p++ = ':';
    digits(c.second, 2);
    hit->size = static_cast<size_t>(p - hit->text);
    hit->second = second;
  }
  std::memcpy(out, hit->text, hit->size);
  p = out + hit->size;
  if (micros != 0) {
    *p++ = '.';
    digits(micros, 6);
  }
  return p;
}

namespace {

// The number the n digits at s[at] spell, or -1 when one is not a digit.
int FixedDigits(std::string_view s, size_t at, size_t n) {
  int v = 0;
  bool digits = true;  // one test at the end rather than a branch per digit
  for (size_t i = at; i < at + n; ++i) {
    const unsigned d = static_cast<unsigned char>(s[i]) - unsigned{'0'};
    digits &= d <= 9;
    v = v * 10 + static_cast<int>(d);
  }
  return digits ? v : -1;
}

}  // namespace

bool ParseTimestamp(std::string_view s, int64_t* unix_micros) {
  // Every field at a fixed place, and the last date read on this thread kept: the rollup reads a
  // receive time per reading, one date for hours on end, and the general parser's search for the
  // optional parts cost a tenth of its CPU, the civil date a third of the rest.
  if (s.size() != 19 && (s.size() != 26 || s[19] != '.')) return false;
  if (s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':') return false;
  struct Date {
    char text[10] = {};  // "YYYY-MM-DD", valid once days is set
    int64_t days = INT64_MIN;
  };
  thread_local Date last;
  if (last.days == INT64_MIN || std::memcmp(s.data(), last.text, sizeof last.text) != 0) {
    const int year = FixedDigits(s, 0, 4), month = FixedDigits(s, 5, 2), day = FixedDigits(s, 8, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return false;
    std::memcpy(last.text, s.data(), sizeof last.text);
    last.days = DaysFromCivil(year, month, day);
  }
  const int hour = FixedDigits(s, 11, 2), minute = FixedDigits(s, 14, 2), second = FixedDigits(s, 17, 2);
  const int micros = s.size() == 26 ? FixedDigits(s, 20, 6) : 0;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || micros < 0) return false;
  *unix_micros = (last.days * 86400 + hour * 3600 + minute * 60 + second) * 1'000'000 + micros;
  return true;
}

std::string FormatTimestamp(int64_t unix_micros) {
  std::string out;
  AppendTimestamp(out, unix_micros);
  return out;
}

}  // namespace sp
