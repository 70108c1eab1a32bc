// The rollup's own consumer of the readings stream. At start it loads the lake's aggregates and
// then follows the log from the positions the lake holds up to, so every record is taken in once:
// the lake's rows are those before the delivery consumer's committed offsets, the log's after.
// It resumes from no checkpoint of its own: the rollup is rebuilt at every start (a replay). It
// saves its position every few seconds all the same, so that `sensorpipe log stat` shows its lag.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <thread>

#include "common/metrics.h"
#include "log/log.h"
#include "rollup/series.h"

namespace sp {

//! The feeder's consumer of the readings stream, as `sensorpipe log stat` lists it.
inline constexpr const char* kRollupConsumer = "rollup";

class RollupFeeder {
 public:
  //! The next offset per shard the lake holds (the delivery consumer's, from the catalog).
  using OffsetsFn = std::function<Result<std::map<uint32_t, uint64_t>>()>;
  //! Nothing is owned; all must outlive the feeder.
  RollupFeeder(Rollup* rollup, Rollup::Options options, LakeAggregates* lake, Stream* readings, OffsetsFn lake_offsets,
               Metrics* metrics);
  ~RollupFeeder();

  //! Loads and follows in a background thread; until loaded, series come from the lake.
  Status Start();
  void Stop();

 private:
  void Run();
  Status Load();
  Status Follow();

  Rollup* rollup_;
  const Rollup::Options options_;
  LakeAggregates* lake_;
  Stream* readings_;
  OffsetsFn lake_offsets_;
  Metrics* metrics_;
  Counter* taken_;
  Counter* lost_;
  Counter* duplicates_;
  Gauge* loaded_;
  std::unique_ptr<Consumer> consumer_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sp
