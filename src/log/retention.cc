// Retention by age and size, and the stream's background thread that applies it and makes the
// syncs of fsync = "interval".
#include <spdlog/spdlog.h>

#include "log/file_log_internal.h"

namespace sp::file_log {

void FileStream::Housekeeping() {
  const bool interval = options_.fsync.kind == FsyncPolicy::Kind::kInterval;
  const auto tick = std::chrono::milliseconds(interval ? options_.fsync.interval_ms : 1000);
  int64_t last_retention_us = clock_->MonotonicMicros();
  std::unique_lock lock(mu_);
  while (!closing_cv_.wait_for(lock, tick, [&] { return closing_; })) {
    lock.unlock();
    if (interval) {
      std::lock_guard io(io_mu_);
      for (auto& s : shards_) {
        if (!s.dirty || !failed_.ok()) continue;
        Status st = s.active->Sync();
        metrics_.syncs->Inc();
        if (!st.ok()) {
          failed_ = st;
          spdlog::error("log: stream {} stops accepting appends: {}", name_, st.ToString());
        }
        s.dirty = false;
      }
    }
    if (clock_->MonotonicMicros() - last_retention_us >= 10'000'000) {
      last_retention_us = clock_->MonotonicMicros();
      if (Status st = EnforceRetention(); !st.ok()) spdlog::error("log: retention of {}: {}", name_, st.ToString());
    }
    lock.lock();
  }
}

Status FileStream::EnforceRetention() {
  if (options_.read_only || (options_.retention_ms <= 0 && options_.retention_bytes == 0)) return Status::OK();
  const int64_t now = clock_->NowMicros();
  while (true) {
    // Age is judged by when a segment was last written (append time), never by the event times
    // it holds: replaying last year's readings must not delete them at once. The size limit is
    // the stream's total; the segment written longest ago goes first, whatever its shard.
    std::string path;
    {
      std::lock_guard lock(mu_);
      uint64_t total = 0;
      Shard* oldest_shard = nullptr;
      int64_t oldest_mtime = INT64_MAX;
      for (Shard& s : shards_) {
        for (const auto& seg : s.segments) total += seg.index.size();
        if (s.segments.size() < 2) continue;  // a shard's last segment is being written: never deleted
        auto mtime = env_->GetModificationMicros(s.segments.front().path);
        if (mtime.ok() && *mtime < oldest_mtime) {
          oldest_mtime = *mtime;
          oldest_shard = &s;
        }
      }
      if (oldest_shard == nullptr) break;
      const bool expired = options_.retention_ms > 0 && now - oldest_mtime > options_.retention_ms * 1000;
      const bool over = options_.retention_bytes > 0 && total > options_.retention_bytes;
      if (!expired && !over) break;
      path = oldest_shard->segments.front().path;
      // Readers stop seeing it now; one that holds the file open finishes its read.
      oldest_shard->segments.erase(oldest_shard->segments.begin());
    }
    spdlog::info("log: retention deletes {}", path);
    SP_RETURN_IF_ERROR(env_->RemoveFile(path));
    if (Status st = env_->RemoveFile(IndexPath(path)); !st.ok() && !st.IsNotFound()) return st;
    metrics_.segments_deleted->Inc();
  }
  return Status::OK();
}

}  // namespace sp::file_log
