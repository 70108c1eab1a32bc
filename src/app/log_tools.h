// The log's tools for users: `sensorpipe log stat`, `sensorpipe log tail` and `sensorpipe replay`.
// stat and tail open the log read-only, so they work while the daemon runs; replay moves a
// consumer's checkpoint and needs the daemon stopped (it takes the data folder's lock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "app/settings.h"

namespace sp {

//! Shards, segments, offsets and bytes of every stream, and each consumer's checkpoint and lag.
int LogStat(const DaemonConfig& config);

struct TailOptions {
  std::string stream = "readings";
  std::optional<uint32_t> shard;  // all when absent
  std::string from;               // "" (the last `limit`, or all) | latest | oldest | OFFSET | after:OFFSET | TIME
  std::optional<int64_t> limit;   // -n: the last N (from "" or latest), or at most N (from any other start)
  bool follow = false;            // then keep printing new records until interrupted
};
//! Prints records as NDJSON: {"stream","shard","offset","timestamp","key","value"}. Each shard's
//! records come in offset order; the shards' are merged by event time (the earliest first, a tie
//! to the lower shard), and "the last N" are the last N of that order, counted back from the end.
int LogTail(const DaemonConfig& config, const TailOptions& options);

//! Rewinds (or forwards) a consumer to oldest | latest | OFFSET | TIME on every shard, so the view it
//! feeds is rebuilt from the log at the daemon's next start.
int Replay(const DaemonConfig& config, const std::string& stream, const std::string& consumer, const std::string& from);

}  // namespace sp
