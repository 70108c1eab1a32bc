#include "agent/message.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/json_writer.h"
#include "common/time.h"

namespace sp {

std::string FormatMessage(const std::string& device, int64_t now_us, int64_t utc_offset_s, const Reading& r,
                          uint64_t count) {
  // Whole seconds, like the seed: the local wall time plus its offset.
  CivilTime c = ToCivil(now_us + utc_offset_s * 1'000'000);
  const int64_t off_min = std::llabs(utc_offset_s) / 60;
  char stamp[40];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d%c%02lld:%02lld", c.year, c.month, c.day, c.hour,
                c.minute, c.second, utc_offset_s < 0 ? '-' : '+', static_cast<long long>(off_min / 60),
                static_cast<long long>(off_min % 60));
  auto field = [](std::string& out, const char* name, const std::optional<double>& v) {
    if (!v) return;
    out += ",\"";
    out += name;
    out += "\":";
    AppendDouble(out, std::round(*v * 1000.0) / 1000.0);
  };
  std::string out = "{\"client_id\":";
  AppendJsonString(out, device);
  out += ",\"timestamp\":\"";
  out += stamp;
  out += '"';
  field(out, "humidity", r.humidity);
  field(out, "temperature", r.temperature);
  field(out, "pressure", r.pressure);
  field(out, "pitch", r.pitch);
  field(out, "roll", r.roll);
  field(out, "yaw", r.yaw);
  out += ",\"count\":";
  out += std::to_string(count);
  out += '}';
  return out;
}

int64_t LocalUtcOffsetSeconds(int64_t now_us) {
  time_t t = static_cast<time_t>(now_us / 1'000'000);
  struct tm local;
  localtime_r(&t, &local);
  return local.tm_gmtoff;
}

std::string ExpandTopic(const std::string& topic_template, const std::string& device) {
  std::string out = topic_template;
  for (size_t at; (at = out.find("{device}")) != std::string::npos;) out.replace(at, 8, device);
  return out;
}

}  // namespace sp
