// The embedded log: segment files under one folder, laid out as docs/format/log.md says.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/env.h"
#include "common/metrics.h"
#include "common/settings.h"
#include "log/log.h"

namespace sp {

//! When an append counts as durable (see docs/format/log.md).
struct FsyncPolicy {
  enum class Kind { kBatch, kInterval, kNone } kind = Kind::kBatch;
  int interval_ms = 0;  // for kInterval
};

//! "batch", "interval:<ms>" (1 to 60000) or "none", the form of [log] fsync and stream_fsync.
inline Result<FsyncPolicy> ParseFsyncPolicy(const std::string& text) {
  if (text == "batch") return FsyncPolicy{};
  if (text == "none") return FsyncPolicy{FsyncPolicy::Kind::kNone, 0};
  if (auto ms = ParseIntervalMs(text); ms && *ms <= 60000) {
    return FsyncPolicy{FsyncPolicy::Kind::kInterval, static_cast<int>(*ms)};
  }
  return Status::InvalidArgument("expected \"batch\", \"interval:<ms>\" (1 to 60000) or \"none\", got '" + text + "'");
}

struct FileLogOptions {
  std::string dir;  // data_dir/log
  uint32_t shards = 1;  // for streams created from now on
  FsyncPolicy fsync;  // for every stream but those named in stream_fsync
  std::map<std::string, FsyncPolicy> stream_fsync;
  uint64_t segment_bytes = 64 << 20;
  //! A segment also rolls once it has been written to for this long; 0: by size only.
  int64_t segment_ms = 0;
  //! Sealed segments older than this (by their last write) are deleted; 0 keeps them forever.
  int64_t retention_ms = 0;
  //! The sealed segments written longest ago are deleted while the stream holds more; 0: no limit.
  uint64_t retention_bytes = 0;
  //! Under fsync = "batch", how far the active segment is kept ahead of its data with written
  //! zeros (docs/format/log.md, "The zero tail"); 0: the file grows with every batch.
  uint64_t zero_tail_bytes = 1 << 20;
  //! For tools that read while the daemon writes: nothing is created, truncated or appended,
  //! streams must exist, and a tail that does not check out (a batch being written) is left alone.
  bool read_only = false;
};

//! Opens (creating when absent) the log in options.dir. Streams are recovered when first opened.
//! env, clock and metrics must outlive the log.
Result<std::unique_ptr<Log>> OpenFileLog(Env* env, Clock* clock, Metrics* metrics, FileLogOptions options);

}  // namespace sp
