// A panel's data: one aggregate of one metric per local-time bucket, per device (docs/api.md,
// GET /api/series). Answered from the rollup's minute or hour tier when it covers the range, else
// from the lake: both give the same base buckets (UTC minutes or hours, or finer for the lake), which
// are then folded into local buckets the same way, so the two sources agree to the last digit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "query/engine.h"
#include "rollup/rollup.h"

namespace date {
class time_zone;
}

namespace sp {

enum class Aggregation { kAvg, kMin, kMax, kCount };

struct SeriesQuery {
  Metric metric = Metric::kTemperature;
  Aggregation agg = Aggregation::kAvg;
  int64_t bucket_s = 3600;
  std::vector<std::string> devices;  // empty: every device
  int64_t from_s = 0, to_s = 0;      // [from, to), widened to whole buckets
  const date::time_zone* tz = nullptr;
};

struct SeriesAnswer {
  const char* source = "rollup";  // "lake", or "lake+rollup" when the rollup holds only the newer part
  int64_t from_s = 0, to_s = 0;   // the range after widening to whole buckets
  struct Series {
    std::string device;
    std::vector<std::pair<int64_t, double>> points;  // (bucket start in epoch ms, value)
  };
  std::vector<Series> series;  // by device name
};

//! Where buckets start in a time zone: at multiples of the width since local midnight (or, for
//! whole days, since 1970-01-01 local), converted back to UTC. Caches the zone's current offset.
class LocalBuckets {
 public:
  LocalBuckets(const date::time_zone* tz, int64_t width_s);
  //! The start (UTC seconds) of the bucket holding t.
  int64_t Floor(int64_t t);
  //! The start of the bucket after the one starting at start.
  int64_t Next(int64_t start);

 private:
  int64_t Offset(int64_t t);
  const date::time_zone* tz_;
  const int64_t width_;
  int64_t begin_ = 1, end_ = 0, offset_ = 0;  // the cached offset holds for [begin_, end_)
};

//! Whether every offset tz has within [from_s, to_s) is a multiple of width_s (3600: the zone's
//! hours start at UTC hours, so UTC hour buckets fold into local ones exactly).
bool OffsetsAligned(const date::time_zone* tz, int64_t from_s, int64_t to_s, int64_t width_s);

//! Base buckets from the lake, through its own DuckDB engine (not the one serving user SQL).
class LakeAggregates {
 public:
  using OpenFn = std::function<Result<std::unique_ptr<QueryEngine>>()>;
  //! open makes the engine when one is needed.
  explicit LakeAggregates(OpenFn open) : open_(std::move(open)) {}
  //! Buckets of width_s (which divides 3600 or is a multiple of it) starting in [from_s, to_s),
  //! per device, sorted.
  Result<std::map<std::string, std::vector<Bucket>>> Buckets(const std::vector<std::string>& devices,
                                                             int64_t from_s, int64_t to_s, int64_t width_s);
  //! Everything the rollup starts from (Rollup::Load), for the windows of options. The engine is
  //! closed afterwards: scanning the whole lake leaves DuckDB holding memory it does not give back.
  Result<Rollup::Snapshot> Snapshot(const Rollup::Options& options);

 private:
  Result<QueryEngine*> Engine();  // under mu_
  std::mutex mu_;  // one statement at a time on the engine
  OpenFn open_;
  std::unique_ptr<QueryEngine> engine_;
};

class SeriesReader {
 public:
  //! Neither is owned.
  SeriesReader(const Rollup* rollup, LakeAggregates* lake) : rollup_(rollup), lake_(lake) {}
  Result<SeriesAnswer> Read(const SeriesQuery& q);

 private:
  const Rollup* rollup_;
  LakeAggregates* lake_;
};

}  // namespace sp
