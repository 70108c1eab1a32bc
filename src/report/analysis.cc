// Everything of the report but the trend: local hours, extremes, the correlation, and the split
// of rows by device.
#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "common/angle.h"
#include "report/report.h"

namespace sp {

Result<LocalZone> LocalZone::Create(const std::string& zone) {
  try {
    return LocalZone(date::locate_zone(zone), zone);
  } catch (const std::exception&) {  // the tz library reports an unknown name by throwing
    return Status::InvalidArgument("unknown time zone '" + zone + "'");
  }
}

int64_t LocalZone::OffsetSeconds(int64_t utc_us) const {
  using namespace std::chrono;
  const date::sys_time<microseconds> at{microseconds(utc_us)};
  return duration_cast<seconds>(zone_->get_info(at).offset).count();
}

std::string LocalZone::OffsetText(int64_t utc_us) const {
  const int64_t offset = OffsetSeconds(utc_us);
  const int64_t a = std::abs(offset);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%c%02lld:%02lld", offset < 0 ? '-' : '+', static_cast<long long>(a / 3600),
                static_cast<long long>(a % 3600 / 60));
  return buf;
}

Correlation Pearson(const std::vector<double>& x, const std::vector<double>& y) {
  Correlation c;
  c.n = static_cast<int64_t>(std::min(x.size(), y.size()));
  if (c.n < 3) return c;
  // Two passes (means first): the one-pass sum of squares loses digits on values like 1008 hPa.
  double mx = 0, my = 0;
  for (int64_t i = 0; i < c.n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(c.n);
  my /= static_cast<double>(c.n);
  double sxx = 0, syy = 0, sxy = 0;
  for (int64_t i = 0; i < c.n; ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  if (sxx > 0 && syy > 0) c.r = sxy / std::sqrt(sxx * syy);
  return c;
}

std::string_view CorrelationStrength(double r) {
  // The usual verbal scale for |r| (e.g. Evans 1996, with "very weak" and "weak" as one).
  const double a = std::abs(r);
  if (a >= 0.9) return "very strong";
  if (a >= 0.7) return "strong";
  if (a >= 0.5) return "moderate";
  if (a >= 0.3) return "weak";
  return "little or no";
}

namespace {

// An angle's extremes are the ends of the arc holding its values, each with the first time it was
// read; its trend is fitted to the values unwrapped along that arc (MetricReport::origin).
Trend FindAngleTrend(const std::vector<Sample>& samples, const TrendOptions& options, MetricReport* m) {
  AngleAgg all;
  for (const Sample& x : samples) all.Add(x.value);
  const Arc arc = all.Range();
  m->origin = arc.start;
  m->min = m->max = {NAN, 0};
  std::vector<Sample> unwrapped;
  unwrapped.reserve(samples.size());
  for (const Sample& x : samples) {  // in time order: the first time each end was read
    const double v = NormalizeDegrees(x.value);
    if (std::isnan(m->min.value) && v == arc.start) m->min = {v, x.ts_us};
    if (std::isnan(m->max.value) && v == arc.end) m->max = {v, x.ts_us};
    unwrapped.push_back({x.ts_us, arc.start + NormalizeDegrees(x.value - arc.start)});
  }
  return FindTrend(std::move(unwrapped), options);
}

DeviceReport AnalyzeDevice(std::string device, std::vector<ReadingRow>& rows, const LocalZone& zone,
                           const TrendOptions& options) {
  DeviceReport d;
  d.device = std::move(device);
  std::sort(rows.begin(), rows.end(), [](const ReadingRow& a, const ReadingRow& b) { return a.ts_us < b.ts_us; });
  d.readings = static_cast<int64_t>(rows.size());
  d.first_us = rows.front().ts_us;
  d.last_us = rows.back().ts_us;

  // Local hours keyed by their first instant in UTC, so a repeated hour at the end of summer time
  // stays two rows and zones offset by half an hour get their own hour boundaries.
  struct Acc {
    int64_t readings = 0;
    std::array<HourStats, kMetricCount> m;
    std::array<double, kMetricCount> sum = {};
    std::array<AngleAgg, kMetricCount> angle;  // the angles' instead of m and sum
  };
  std::map<int64_t, Acc> hours;
  std::array<std::vector<Sample>, kMetricCount> series;
  std::vector<double> temperature, humidity;
  for (const ReadingRow& row : rows) {
    const int64_t local = zone.ToLocal(row.ts_us);
    const int64_t into_hour = ((local % kMicrosPerHour) + kMicrosPerHour) % kMicrosPerHour;
    Acc& acc = hours[row.ts_us - into_hour];
    ++acc.readings;
    for (size_t i = 0; i < kMetricCount; ++i) {
      const double v = row.values[i];
      if (!std::isfinite(v)) continue;
      series[i].push_back({row.ts_us, v});
      if (IsAngle(kMetrics[i])) {
        acc.angle[i].Add(v);
        continue;
      }
      HourStats& h = acc.m[i];
      h.min = h.n == 0 ? v : std::min(h.min, v);
      h.max = h.n == 0 ? v : std::max(h.max, v);
      ++h.n;
      acc.sum[i] += v;
    }
    const double t = row.values[static_cast<int>(Metric::kTemperature)];
    const double h = row.values[static_cast<int>(Metric::kHumidity)];
    if (std::isfinite(t) && std::isfinite(h)) {
      temperature.push_back(t);
      humidity.push_back(h);
    }
  }
  for (auto& [start, acc] : hours) {
    HourlyRow row;
    row.start_us = start;
    row.readings = acc.readings;
    row.metrics = acc.m;
    for (size_t i = 0; i < kMetricCount; ++i) {
      HourStats& h = row.metrics[i];
      if (IsAngle(kMetrics[i]) && acc.angle[i].count > 0) {
        h.n = acc.angle[i].count;
        h.avg = acc.angle[i].Mean().value_or(NAN);
        const Arc arc = acc.angle[i].Range();
        h.min = arc.start;
        h.max = arc.end;
      } else if (h.n > 0) {
        h.avg = acc.sum[i] / static_cast<double>(h.n);
      }
    }
    d.hourly.push_back(row);
  }
  for (Metric metric : kMetrics) {
    const auto& s = series[static_cast<int>(metric)];
    if (s.empty()) continue;
    MetricReport m;
    m.metric = metric;
    m.n = static_cast<int64_t>(s.size());
    if (IsAngle(metric)) {
      m.trend = FindAngleTrend(s, options, &m);
      d.metrics.push_back(std::move(m));
      continue;
    }
    m.min = m.max = {s.front().value, s.front().ts_us};
    for (const Sample& x : s) {  // rows are in time order: strict comparisons keep the first time
      if (x.value < m.min.value) m.min = {x.value, x.ts_us};
      if (x.value > m.max.value) m.max = {x.value, x.ts_us};
    }
    m.trend = FindTrend(s, options);
    d.metrics.push_back(std::move(m));
  }
  d.temperature_humidity = Pearson(temperature, humidity);
  return d;
}

}  // namespace

Report AnalyzeReadings(std::vector<ReadingRow> rows, int64_t from_us, int64_t to_us, const LocalZone& zone,
                       const TrendOptions& options) {
  Report report;
  report.from_us = from_us;
  report.to_us = to_us;
  report.zone = zone.name();
  std::map<std::string, std::vector<ReadingRow>> by_device;
  for (ReadingRow& row : rows) by_device[row.device].push_back(std::move(row));
  for (auto& [device, device_rows] : by_device) {
    report.devices.push_back(AnalyzeDevice(device, device_rows, zone, options));
  }
  return report;
}

}  // namespace sp
