// The log's tools for users: `sensorpipe log stat`, `sensorpipe log tail` and `sensorpipe replay`.
// stat and tail open the log read-only, so they work while the daemon runs; replay moves a
// consumer's checkpoint and needs the daemon stopped (it takes the data folder's lock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/config.h"

namespace sp {

//! Shards, segments, offsets and bytes of every stream, and each consumer's checkpoint and lag.
int LogStat(const Config& config);

struct TailOptions {
  std::string stream = "readings";
  std::optional<uint32_t> shard;  // all when absent
  std::string from = "oldest";    // oldest | latest | OFFSET | TIME
  int64_t limit = 0;              // 0: no limit
  bool follow = false;            // keep printing new records until interrupted
};
//! Prints records as NDJSON: {"stream","shard","offset","timestamp","key","value"}.
int LogTail(const Config& config, const TailOptions& options);

//! Rewinds (or forwards) a consumer to oldest | latest | OFFSET | TIME on every shard, so the view it
//! feeds is rebuilt from the log at the daemon's next start.
int Replay(const Config& config, const std::string& stream, const std::string& consumer, const std::string& from);

}  // namespace sp
