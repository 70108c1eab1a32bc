// The report stage, in place of the analysis the seed's authors wrote by hand beside their
// QuickSight charts ("both moved in the same four phases ... humidity fell as temperature rose"):
// from one period's readings it finds each metric's phases (rising, falling, steady) by a
// piecewise-linear fit, the hourly averages, minima and maxima in a chosen time zone, the extremes
// and the temperature-humidity correlation. This header is the pure analysis: readings in, structs
// out, no I/O and no shared state. Rendering is in report/render.h, reading the lake in
// report/lake_source.h; docs/report.md explains the method.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/reading_columns.h"
#include "common/status.h"

namespace date {
class time_zone;
}

namespace sp {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerHour = 3600 * kMicrosPerSecond;

//! One value of one metric at one instant (UTC microseconds).
struct Sample {
  int64_t ts_us = 0;
  double value = 0;
};

enum class Direction { kRising, kFalling, kSteady };
//! "rising", "falling" or "steady".
std::string_view DirectionName(Direction d);

//! A stretch of the trend that moves one way: [start_us, end_us).
struct TrendPhase {
  int64_t start_us = 0;
  int64_t end_us = 0;
  Direction direction = Direction::kSteady;
  double change = 0;          // the trend's value at the end minus at the start
  double slope_per_hour = 0;  // change / duration
};

struct TrendOptions {
  //! Width of the buckets whose medians are fitted; 0 picks one from the span (TrendBucketFor).
  int64_t bucket_us = 0;
  //! The shortest phase; 0 means max(1 h, 6 buckets). Knots of the fit are at least this far apart
  //! and from the ends, so a step in the data is fitted as a ramp, not as two knots around a jump.
  int64_t min_phase_us = 0;
  //! BIC cost of one knot, in parameters: its place and its change of slope, plus one for the
  //! greedy search having chosen it among many (Friedman's MARS uses 2-4; 3 is its usual choice).
  double params_per_knot = 3;
  //! A phase is steady when its change is smaller than this share of the trend's range...
  double steady_range_fraction = 0.2;
  //! ...or than this many standard errors of the change (the noise alone could have made it).
  double steady_standard_errors = 3;
};

//! The continuous piecewise-linear trend of one metric and its phases.
struct Trend {
  int64_t bucket_us = 0;
  std::vector<int64_t> bucket_ts;      // bucket centres, ascending (buckets without samples left out)
  std::vector<double> bucket_median;   // the median of each bucket's samples
  std::vector<int64_t> boundaries;     // the first bucket's start, the knots, the last bucket's end
  std::vector<double> boundary_value;  // the trend at each boundary (it is linear in between)
  double noise = 0;                    // standard deviation of the bucket medians around the trend
  double range = 0;                    // max - min of the trend
  double steady_range_fraction = 0;    // the terms of the steady rule it was judged by (TrendOptions)
  double steady_standard_errors = 0;
  std::vector<TrendPhase> phases;

  //! The trend at ts (linear between boundaries, extended past the ends); NaN when empty.
  double At(int64_t ts_us) const;
};

//! The bucket width for a span: the smallest of 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 d giving
//! at most 200 buckets (the fit's cost grows with the square of the bucket count).
int64_t TrendBucketFor(int64_t span_us);

//! Fits the trend of samples (any order; non-finite values are skipped) and splits it into phases.
//! Fewer than three buckets with samples give no knots and at most one phase.
Trend FindTrend(std::vector<Sample> samples, const TrendOptions& options = {});

//! Pearson's r of paired values; r is NaN when n < 3 or a side is constant.
struct Correlation {
  int64_t n = 0;
  double r = NAN;
};
Correlation Pearson(const std::vector<double>& x, const std::vector<double>& y);
//! "very strong", "strong", "moderate", "weak" or "little or no", by |r|.
std::string_view CorrelationStrength(double r);

//! An IANA time zone for local hours and labels.
class LocalZone {
 public:
  //! zone is an IANA name ("Asia/Seoul", "UTC"); an unknown one is an InvalidArgument.
  static Result<LocalZone> Create(const std::string& zone);
  const std::string& name() const { return name_; }
  //! The zone's offset from UTC at an instant, in seconds.
  int64_t OffsetSeconds(int64_t utc_us) const;
  //! The local wall time as if it were UTC microseconds (for sp::ToCivil).
  int64_t ToLocal(int64_t utc_us) const { return utc_us + OffsetSeconds(utc_us) * kMicrosPerSecond; }
  //! "+09:00" for the offset at an instant.
  std::string OffsetText(int64_t utc_us) const;

 private:
  LocalZone(const date::time_zone* zone, std::string name) : zone_(zone), name_(std::move(name)) {}
  const date::time_zone* zone_;  // owned by the tz database, lives for the process
  std::string name_;
};

// The report covers every metric (common/reading_columns.h), in their order. An angle's average is
// its circular mean, its minimum and maximum the ends of the smallest arc holding the values
// (common/angle.h).

//! One row of the readings view; a metric the device did not send is NaN.
struct ReadingRow {
  std::string device;
  int64_t ts_us = 0;
  std::array<double, kMetricCount> values = [] {
    std::array<double, kMetricCount> none{};
    none.fill(NAN);
    return none;
  }();
};

struct Extreme {
  double value = NAN;
  int64_t ts_us = 0;  // the first time the value was reached
};

//! For an angle: avg is the circular mean (NaN when the values cancel out), min and max the ends of
//! the arc holding the values (min > max when it crosses 0).
struct HourStats {
  int64_t n = 0;
  double avg = NAN, min = NAN, max = NAN;
};

//! One local hour: [start_us, start_us + 1 h).
struct HourlyRow {
  int64_t start_us = 0;
  int64_t readings = 0;
  std::array<HourStats, kMetricCount> metrics;
};

struct MetricReport {
  Metric metric = Metric::kTemperature;
  int64_t n = 0;
  Extreme min, max;  // an angle's: the ends of the arc holding the period's values
  // An angle's trend is fitted to its values unwrapped along that arc, origin + [0, 360) from its
  // start, so a board rocking across 0 is a level line near 0, not jumps between 0 and 360.
  double origin = 0;
  Trend trend;
};

struct DeviceReport {
  std::string device;
  int64_t readings = 0;
  int64_t first_us = 0, last_us = 0;
  std::vector<MetricReport> metrics;  // those with at least one value, in kMetrics order
  std::vector<HourlyRow> hourly;      // local hours holding readings, ascending
  Correlation temperature_humidity;   // over readings holding both
};

struct Report {
  int64_t from_us = 0, to_us = 0;
  std::string zone;
  std::vector<DeviceReport> devices;  // one per device, by name
};

//! Analyses rows of [from_us, to_us) (any order, any number of devices): each device on its own.
Report AnalyzeReadings(std::vector<ReadingRow> rows, int64_t from_us, int64_t to_us, const LocalZone& zone,
                       const TrendOptions& options = {});

}  // namespace sp
