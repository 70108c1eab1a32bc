#include "rollup/series.h"

#include <date/tz.h>

#include <algorithm>
#include <numeric>
#include <sstream>

#include "common/time.h"

namespace sp {

namespace {

constexpr int64_t kDay = 86400;

std::string DeviceList(const std::vector<std::string>& devices) {
  std::string sql;
  for (const std::string& d : devices) sql += (sql.empty() ? "" : ",") + SqlString(d);
  return sql;
}

// The columns after (device, start) in Buckets' queries: count, sum, min, max of each linear
// metric, then of each angle the count, the sums of sine and cosine, and the extremes in the frames
// cut at 0 and at 180 degrees (AngleAgg). The angles come normalised from ReadingsSql.
std::string AggColumns() {
  std::string sql;
  for (size_t i = 0; i < kLinearCount; ++i) {
    const std::string m(kMetricNames[i]);
    sql += ", count(" + m + "), sum(" + m + "), min(" + m + "), max(" + m + ")";
  }
  for (size_t i = kLinearCount; i < kMetricCount; ++i) {
    const std::string m(kMetricNames[i]), half = m + "_half";
    // The literal is the double nearest pi / 180, as AngleAgg::Add multiplies by it.
    sql += ", count(" + m + "), sum(sin(" + m + " * 0.017453292519943295)), sum(cos(" + m +
           " * 0.017453292519943295)), min(" + m + "), max(" + m + "), min(" + half + "), max(" + half + ")";
  }
  return sql;
}

// The readings of [from_s, to_s) with each angle normalised to [0, 360) and also given in the frame
// cut at 180 degrees (<angle>_half), to the bit as AngleAgg::Add computes them.
std::string ReadingsSql(int64_t from_s, int64_t to_s, const std::vector<std::string>& devices) {
  std::string sql = "SELECT device, ts";
  for (size_t i = 0; i < kLinearCount; ++i) sql += ", " + std::string(kMetricNames[i]);
  for (size_t i = kLinearCount; i < kMetricCount; ++i) {
    const std::string m(kMetricNames[i]), normalized = NormalizeDegreesSql(m);
    sql += ", " + normalized + " AS " + m + ", " + HalfTurnFrameSql(normalized) + " AS " + m + "_half";
  }
  sql += " FROM readings WHERE ts >= make_timestamp(" + std::to_string(from_s) + "000000) AND ts < make_timestamp(" +
         std::to_string(to_s) + "000000)";
  if (!devices.empty()) sql += " AND device IN (" + DeviceList(devices) + ")";
  return sql;
}

void ReadAggs(const std::vector<Cell>& row, size_t first, Bucket* b) {
  const Cell* c = &row[first];
  for (MetricAgg& a : b->m) {
    a.count = static_cast<uint32_t>(c[0].i);
    if (a.count > 0) {
      a.sum = c[1].d;
      a.min = c[2].d;
      a.max = c[3].d;
    }
    c += 4;
  }
  for (AngleAgg& a : b->angles) {
    a.count = static_cast<uint32_t>(c[0].i);
    if (a.count > 0) {
      a.sum_sin = c[1].d;
      a.sum_cos = c[2].d;
      a.lo = {c[3].d, c[5].d};
      a.hi = {c[4].d, c[6].d};
    }
    c += 7;
  }
}

std::optional<double> OptionalDouble(const Cell& c) {
  if (c.type == Cell::Type::kDouble) return c.d;
  if (c.type == Cell::Type::kInt) return static_cast<double>(c.i);
  return std::nullopt;
}

double LinearValue(const MetricAgg& a, Aggregation agg) {
  switch (agg) {
    case Aggregation::kAvg:
      return a.sum / a.count;
    case Aggregation::kMin:
      return a.min;
    case Aggregation::kMax:
      return a.max;
    case Aggregation::kCount:
      return a.count;
  }
  return 0;
}

// The circular mean, the arc's ends (min may be above max: the arc crosses 0), or the count.
std::optional<double> AngleValue(const AngleAgg& a, Aggregation agg) {
  switch (agg) {
    case Aggregation::kAvg:
      return a.Mean();
    case Aggregation::kMin:
      return a.Range().start;
    case Aggregation::kMax:
      return a.Range().end;
    case Aggregation::kCount:
      return a.count;
  }
  return 0.0;
}

}  // namespace

LocalBuckets::LocalBuckets(const date::time_zone* tz, int64_t width_s) : tz_(tz), width_(width_s) {}

int64_t LocalBuckets::Offset(int64_t t) {
  if (tz_ == nullptr) return 0;
  if (t < begin_ || t >= end_) {
    const date::sys_info info = tz_->get_info(date::sys_seconds(std::chrono::seconds(t)));
    begin_ = info.begin.time_since_epoch().count();
    end_ = info.end.time_since_epoch().count();
    offset_ = info.offset.count();
  }
  return offset_;
}

int64_t LocalBuckets::Floor(int64_t t) {
  const int64_t offset = Offset(t);
  const int64_t local = t + offset;
  const int64_t day = FloorDiv(local, kDay);
  if (width_ < kDay) {
    // Buckets restart at every local midnight, so 7-minute buckets never straddle a day.
    return day * kDay + FloorDiv(local - day * kDay, width_) * width_ - offset;
  }
  // Whole days: the local midnight that starts the bucket, in UTC (23 or 25 hours away from the
  // next one across a daylight-saving change).
  const int64_t first_day = FloorDiv(day, width_ / kDay) * (width_ / kDay);
  const date::local_seconds midnight{std::chrono::seconds(first_day * kDay)};
  if (tz_ == nullptr) return first_day * kDay;
  return tz_->to_sys(midnight, date::choose::earliest).time_since_epoch().count();
}

int64_t LocalBuckets::Next(int64_t start) {
  // Two hours of slack step over a 25-hour day; Floor takes the result back to a bucket start.
  return Floor(start + width_ + (width_ >= kDay ? 7200 : 0));
}

bool OffsetsAligned(const date::time_zone* tz, int64_t from_s, int64_t to_s, int64_t width_s) {
  if (tz == nullptr) return true;
  int64_t t = from_s;
  do {
    const date::sys_info info = tz->get_info(date::sys_seconds(std::chrono::seconds(t)));
    if (info.offset.count() % width_s != 0) return false;
    t = info.end.time_since_epoch().count();
  } while (t < to_s);
  return true;
}

Result<QueryEngine*> LakeAggregates::Engine() {
  if (!engine_) {
    SP_ASSIGN_OR_RETURN(engine_, open_());
  }
  return engine_.get();
}

Result<std::map<std::string, std::vector<Bucket>>> LakeAggregates::Buckets(const std::vector<std::string>& devices,
                                                                           int64_t from_s, int64_t to_s,
                                                                           int64_t width_s) {
  const std::string w = std::to_string(width_s);
  const std::string sql = "SELECT device, floor(epoch_us(ts) / " + w + "e6)::BIGINT * " + w + " AS start_s" +
                          AggColumns() + " FROM (" + ReadingsSql(from_s, to_s, devices) +
                          ") GROUP BY ALL ORDER BY device, start_s";
  std::map<std::string, std::vector<Bucket>> out;
  std::lock_guard lock(mu_);
  SP_ASSIGN_OR_RETURN(QueryEngine * engine, Engine());
  SP_RETURN_IF_ERROR(engine->ForEachRow(sql, [&](const std::vector<Cell>& row) {
    Bucket& b = out[row[0].s].emplace_back();
    b.start_s = row[1].i;
    ReadAggs(row, 2, &b);
  }));
  return out;
}

Result<Rollup::Snapshot> LakeAggregates::Snapshot(const Rollup::Options& options) {
  // Aggregates only, one hash table per scan: no sort of the lake's rows, so memory stays that of
  // the groups however large the lake is.
  Rollup::Snapshot s;
  std::string sql = "SELECT device, epoch_us(min(ts)), epoch_us(max(ts)), epoch_us(max(received_at)), count(*), "
                    "max(epoch_us(ts), " + std::to_string(Rollup::kIntervalGaps + 1) + ")::VARCHAR";
  for (std::string_view m : kMetricNames) sql += ", arg_max(" + std::string(m) + ", ts)";
  sql += " FROM readings GROUP BY device";
  {
    std::lock_guard lock(mu_);
    SP_ASSIGN_OR_RETURN(QueryEngine * engine, Engine());
    SP_ASSIGN_OR_RETURN(QueryResult devices, engine->Run(sql));
    for (const auto& row : devices.rows) {
      DeviceInfo& d = s.devices[row[0].s];
      d.device = row[0].s;
      d.first_us = row[1].i;
      d.last_us = row[2].i;
      d.last_received_us = row[3].i;
      d.readings = static_cast<uint64_t>(row[4].i);
      s.newest_us = std::max(s.newest_us, d.last_us);
      // The newest event times, newest first, as DuckDB renders a list: "[t1, t2, ...]". Their
      // gaps give the device's usual interval.
      std::vector<int64_t>& ts = s.recent_ts_us[d.device];
      std::istringstream list(row[5].s.size() > 1 ? row[5].s.substr(1) : "");
      for (int64_t t; list >> t; list.ignore(2)) ts.push_back(t);
      std::reverse(ts.begin(), ts.end());
      for (size_t i = 0; i < kMetricCount; ++i) d.last_values[i] = OptionalDouble(row[6 + i]);
    }
  }
  if (s.devices.empty()) return s;
  int64_t oldest_us = s.newest_us;
  for (const auto& [name, d] : s.devices) oldest_us = std::min(oldest_us, d.first_us);
  const int64_t newest_s = FloorDiv(s.newest_us, 1'000'000);
  const int64_t oldest_s = FloorDiv(oldest_us, 1'000'000);
  // Each tier a slice of time at a time, so DuckDB's hash table holds about a hundred thousand
  // groups whatever the fleet (a minute bucket per device and minute is as many groups as rows for
  // devices reporting once a minute); slices are in time order, so each device's buckets stay sorted.
  auto tier = [&](int64_t window_s, int64_t width_s, std::map<std::string, std::vector<Bucket>>* out) -> Status {
    const int64_t slice_s = std::max<int64_t>(width_s, 100'000 / std::max<size_t>(s.devices.size(), 1) * width_s);
    // One past the newest, so its own bucket is included.
    for (int64_t from = std::max(newest_s - window_s - 3600, FloorDiv(oldest_s, width_s) * width_s); from <= newest_s;
         from += slice_s) {
      SP_ASSIGN_OR_RETURN(auto slice, Buckets({}, from, std::min(from + slice_s, newest_s + 1), width_s));
      for (auto& [device, buckets] : slice) {
        std::vector<Bucket>& all = (*out)[device];
        all.insert(all.end(), buckets.begin(), buckets.end());
      }
    }
    return Status::OK();
  };
  SP_RETURN_IF_ERROR(tier(options.hour_window_s, 3600, &s.hours));
  SP_RETURN_IF_ERROR(tier(options.minute_window_s, 60, &s.minutes));

  // The keys of the last records received seed the dedup window, so a redelivery of a record the
  // lake holds, arriving after this start, still counts once.
  std::lock_guard lock(mu_);
  SP_ASSIGN_OR_RETURN(QueryEngine * engine, Engine());
  SP_RETURN_IF_ERROR(engine->ForEachRow(
      "SELECT device, epoch_us(ts), seq FROM readings ORDER BY received_at DESC LIMIT " +
          std::to_string(Rollup::kDedupWindow),
      [&](const std::vector<Cell>& row) {
        RollupReading& r = s.recent_keys.emplace_back();
        r.device = row[0].s;
        r.ts_us = row[1].i;
        if (row[2].type == Cell::Type::kInt) r.seq = row[2].i;
      }));
  std::reverse(s.recent_keys.begin(), s.recent_keys.end());  // oldest first
  engine_.reset();
  return s;
}

Result<SeriesAnswer> SeriesReader::Read(const SeriesQuery& q) {
  LocalBuckets local(q.tz, q.bucket_s);
  SeriesAnswer answer;
  // Whole buckets: the one holding `from` to the one holding the last second before `to`.
  answer.from_s = local.Floor(q.from_s);
  answer.to_s = local.Next(local.Floor(q.to_s - 1));

  // The coarsest base that folds exactly into the local buckets.
  int64_t base = std::gcd(q.bucket_s, int64_t{60});
  if (q.bucket_s % 3600 == 0 && OffsetsAligned(q.tz, answer.from_s, answer.to_s, 3600)) base = 3600;

  // Base buckets fold into local ones in time order, per device; a range may come in two parts
  // (the lake's older one first), so a local bucket may gather base buckets from both.
  // One of the two is used, by the kind of metric.
  struct Folded {
    MetricAgg linear;
    AngleAgg angle;
  };
  const bool angle = IsAngle(q.metric);
  const size_t metric = static_cast<size_t>(q.metric) - (angle ? kLinearCount : 0);
  std::map<std::string, std::vector<std::pair<int64_t, Folded>>> folded;
  auto fold = [&](const std::string& device, std::span<const Bucket> buckets) {
    std::vector<std::pair<int64_t, Folded>>& out = folded[device];
    for (const Bucket& b : buckets) {
      if ((angle ? b.angles[metric].count : b.m[metric].count) == 0) continue;
      const int64_t start = local.Floor(b.start_s);
      if (out.empty() || out.back().first != start) out.emplace_back(start, Folded{});
      if (angle) {
        out.back().second.angle.Merge(b.angles[metric]);
      } else {
        out.back().second.linear.Merge(b.m[metric]);
      }
    }
  };

  // The rollup's tier answers for event times from CoveredFrom on; what is older comes from the
  // lake. The split is a whole hour, so the two parts hold different base buckets.
  int64_t split = answer.from_s;  // [from, split) from the lake, [split, to) from the rollup
  const Rollup::Tier tier = base == 3600 ? Rollup::Tier::kHour : Rollup::Tier::kMinute;
  if (rollup_ == nullptr || (base != 60 && base != 3600)) {
    split = answer.to_s;
  } else {
    split = std::clamp(rollup_->CoveredFrom(tier), answer.from_s, answer.to_s);
  }
  if (split > answer.from_s) {
    SP_ASSIGN_OR_RETURN(auto buckets, lake_->Buckets(q.devices, answer.from_s, split, base));
    for (const auto& [device, b] : buckets) fold(device, b);
  }
  if (split < answer.to_s && !rollup_->Visit(tier, q.devices, split, answer.to_s, fold)) {
    // The window moved on since CoveredFrom: the lake answers for the rest too.
    SP_ASSIGN_OR_RETURN(auto buckets, lake_->Buckets(q.devices, split, answer.to_s, base));
    for (const auto& [device, b] : buckets) fold(device, b);
    split = answer.to_s;
  }
  answer.source = split == answer.from_s ? "rollup" : split == answer.to_s ? "lake" : "lake+rollup";

  for (auto& [device, buckets] : folded) {
    if (buckets.empty()) continue;
    SeriesAnswer::Series& series = answer.series.emplace_back();
    series.device = device;
    for (const auto& [start, acc] : buckets) {
      const std::optional<double> v = angle ? AngleValue(acc.angle, q.agg) : LinearValue(acc.linear, q.agg);
      // Angles that cancel out have no mean: the bucket is left out, as one without readings.
      if (v) series.points.emplace_back(start * 1000, *v);
    }
    if (series.points.empty()) answer.series.pop_back();
  }
  return answer;
}

}  // namespace sp
