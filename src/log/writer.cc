// Appends: the leader's group commit (file_log_internal.h), segment rolls, the zero tail ahead of
// the data, and the .index files of sealed segments.
#include <spdlog/spdlog.h>

#include "log/file_log_internal.h"

namespace sp::file_log {

Status FileStream::Append(std::span<const Record> records) {
  if (options_.read_only) return Status::InvalidArgument("the log is open read-only");
  if (records.empty()) return Status::OK();
  Writer w;
  w.records = records;
  std::unique_lock lock(mu_);
  writers_.push_back(&w);
  while (!w.done && &w != writers_.front()) w.cv.wait(lock);
  if (w.done) return w.status;

  // This writer leads: it writes for every writer queued so far, with mu_ released so that
  // more writers can queue (they form the next group) and readers can read.
  std::vector<Writer*> group(writers_.begin(), writers_.end());
  lock.unlock();
  std::vector<Written> written;
  Status status;
  {
    std::lock_guard io(io_mu_);
    status = failed_.ok() ? WriteGroup(group, &written) : failed_;
    if (!status.ok() && failed_.ok()) {
      // After a failed write or sync the file's tail is unknown (and a failed fsync may have
      // dropped dirty pages), so nothing more is appended until a restart recovers the log.
      failed_ = status;
      spdlog::error("log: stream {} stops accepting appends: {}", name_, status.ToString());
    }
  }
  lock.lock();
  if (status.ok()) {
    for (const Written& b : written) {
      Shard& s = shards_[b.shard];
      if (s.segments.back().base != b.segment_base) {
        Segment seg;
        seg.base = b.segment_base;
        seg.path = b.segment_path;
        s.segments.push_back(std::move(seg));
      }
      s.segments.back().index.Add(b.position, b.first_offset, static_cast<uint32_t>(b.next_offset - b.first_offset),
                                  b.end - b.position, b.max_ts, s.max_ts);
      s.max_ts = std::max(s.max_ts, b.max_ts);
      s.published_end = b.next_offset;
    }
    ++append_seq_;
    append_cv_.notify_all();
  }
  for (Writer* x : group) {
    writers_.pop_front();
    if (x != &w) {
      x->status = status;
      x->done = true;
      x->cv.notify_one();
    }
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  lock.unlock();
  if (rolled_.exchange(false)) {
    // A segment was sealed: its index is final now, and size retention may apply.
    if (Status s = WriteSealedIndexes(); !s.ok()) spdlog::error("log: index of {}: {}", name_, s.ToString());
    if (Status s = EnforceRetention(); !s.ok()) spdlog::error("log: retention of {}: {}", name_, s.ToString());
  }
  return status;
}

Status FileStream::WriteGroup(const std::vector<Writer*>& group, std::vector<Written>* written) {
  std::vector<std::vector<const Record*>> by_shard(shards_.size());
  for (const Writer* w : group) {
    for (const Record& r : w->records) by_shard[ShardFor(r.key)].push_back(&r);
  }
  std::vector<uint32_t> touched;
  for (uint32_t i = 0; i < shards_.size(); ++i) {
    if (by_shard[i].empty()) continue;
    Shard& s = shards_[i];
    // Batches of at most batch::kMaxRecordBytes of keys and values, which readers take whole
    // (docs/format/log.md): one write for all of them.
    struct Piece {
      size_t end;  // in encode_buf_
      size_t count;
      int64_t max_ts;
    };
    std::vector<Piece> pieces;
    encode_buf_.clear();
    for (std::span<const Record* const> rest = by_shard[i]; !rest.empty();) {
      size_t n = 0, bytes = 0;
      int64_t max_ts = INT64_MIN;
      for (; n < rest.size(); ++n) {
        const size_t size = rest[n]->key.size() + rest[n]->value.size();
        if (n > 0 && bytes + size > batch::kMaxRecordBytes) break;
        bytes += size;
        max_ts = std::max(max_ts, rest[n]->timestamp_us);
      }
      batch::Encode(s.next_offset + (by_shard[i].size() - rest.size()), rest.first(n), &encode_buf_);
      pieces.push_back({encode_buf_.size(), n, max_ts});
      rest = rest.subspan(n);
    }
    const bool full = s.active->Size() + encode_buf_.size() > options_.segment_bytes;
    const bool old =
        options_.segment_ms > 0 && clock_->MonotonicMicros() - s.active_since_us >= options_.segment_ms * 1000;
    if (s.active->Size() > 0 && (full || old)) SP_RETURN_IF_ERROR(Roll(s));
    const uint64_t position = s.active->Size();
    SP_RETURN_IF_ERROR(s.active->Append(encode_buf_));
    if (options_.fsync.kind == FsyncPolicy::Kind::kBatch && options_.zero_tail_bytes > 0) {
      SP_RETURN_IF_ERROR(ExtendZeroTail(s));
    }
    metrics_.appended_bytes->Inc(encode_buf_.size());
    s.dirty = true;
    const std::string path = JoinPath(s.dir, SegmentName(s.active_base));
    size_t start = 0;
    for (const Piece& p : pieces) {
      written->push_back({i, s.active_base, path, s.next_offset, position + start, position + p.end,
                          s.next_offset + p.count, p.max_ts});
      s.next_offset += p.count;
      start = p.end;
    }
    touched.push_back(i);
  }
  if (options_.fsync.kind == FsyncPolicy::Kind::kBatch) {
    // The acknowledgement promise: an append returns only once fdatasync covered its batch.
    for (uint32_t i : touched) {
      SP_RETURN_IF_ERROR(shards_[i].active->Sync());
      shards_[i].dirty = false;
      metrics_.syncs->Inc();
    }
    for (uint32_t i : touched) DropReadPages(shards_[i]);
  }
  return Status::OK();
}

Status FileStream::Roll(Shard& s) {
  DropReadPages(s);  // its last chance: the handle goes
  // The old segment is cut to its data and synced before the new one is used: recovery checks
  // only the last segment of a shard, so every earlier one must be complete, and exact, on disk.
  SP_RETURN_IF_ERROR(CutZeroTail(s).status());
  if (options_.fsync.kind != FsyncPolicy::Kind::kNone) {
    SP_RETURN_IF_ERROR(s.active->Sync());
    metrics_.syncs->Inc();
  }
  SP_RETURN_IF_ERROR(s.active->Close());
  s.active_base = s.next_offset;
  SP_ASSIGN_OR_RETURN(s.active, env_->NewWritableFile(JoinPath(s.dir, SegmentName(s.active_base))));
  s.allocated = 0;
  s.cache_dropped = 0;
  s.active_since_us = clock_->MonotonicMicros();
  // The new file's directory entry must be durable before records in it are acknowledged.
  if (options_.fsync.kind != FsyncPolicy::Kind::kNone) SP_RETURN_IF_ERROR(env_->SyncDir(s.dir));
  s.dirty = false;
  rolled_ = true;  // handled after publishing: see Append
  return Status::OK();
}

void FileStream::DropReadPages(Shard& s) {
  // A page of the log that is synced and read by every consumer is of no more use in the page
  // cache (readers that come later read from disk). Letting it go, as PostgreSQL does for its WAL,
  // makes the kernel reuse it for the next appends instead of growing the cache: on the benchmark
  // machine, pages the cache takes from memory untouched for a while cost several times more to
  // write (README, P13: 2.9 s of system time a GB against 0.4 when dropped behind the writer).
  if (options_.fsync.kind != FsyncPolicy::Kind::kBatch) return;  // only then is all of it synced
  uint64_t until = 0;
  {
    std::lock_guard lock(mu_);
    const uint32_t shard = static_cast<uint32_t>(&s - shards_.data());
    // Offsets at or past the slowest consumer's position are still to be read.
    uint64_t slowest = s.published_end;
    for (const FileConsumer* c : consumers_) slowest = std::min(slowest, c->Position(shard));
    if (s.segments.empty() || s.segments.back().base != s.active_base || slowest <= s.active_base) return;
    const IndexEntry* e = s.segments.back().index.ForOffset(slowest);
    if (e == nullptr) return;
    until = e->position & ~uint64_t{(1 << 20) - 1};  // whole MiBs: one call a MiB at most
  }
  if (until <= s.cache_dropped) return;
  s.active->DropCache(s.cache_dropped, until - s.cache_dropped);
  s.cache_dropped = until;
}

Status FileStream::ExtendZeroTail(Shard& s) {
  // The zeros cost a write of as many bytes as the batches that will replace them, but then the
  // fdatasync of every group commit landing in them writes data pages only, no inode: about a
  // fifth less CPU per record (bench/fdatasync_prealloc.sh). They go with this group's own
  // fdatasync, so they are durable before any batch relies on them and no sync is added. Never
  // past segment_bytes, where the segment rolls anyway.
  const uint64_t end = s.active->Size();
  s.allocated = std::max(s.allocated, end);
  if (s.allocated - end >= options_.zero_tail_bytes / 2) return Status::OK();
  const uint64_t target = std::min(end + options_.zero_tail_bytes, options_.segment_bytes);
  if (target <= s.allocated) return Status::OK();
  SP_RETURN_IF_ERROR(s.active->Preallocate(target));
  s.allocated = target;
  return Status::OK();
}

Result<bool> FileStream::CutZeroTail(Shard& s) {
  if (s.allocated <= s.active->Size()) return false;
  SP_RETURN_IF_ERROR(env_->Truncate(JoinPath(s.dir, SegmentName(s.active_base)), s.active->Size()));
  s.allocated = s.active->Size();
  return true;
}

Status FileStream::WriteIndexFile(Segment& seg) {
  SP_RETURN_IF_ERROR(env_->WriteFileAtomic(IndexPath(seg.path), seg.index.Encode(seg.base)));
  seg.index_file = true;
  return Status::OK();
}

Status FileStream::WriteSealedIndexes() {
  for (auto& shard : shards_) {
    while (true) {
      Segment copy;
      {
        std::lock_guard lock(mu_);
        if (shard.segments.size() < 2) break;
        const auto last = std::prev(shard.segments.end());  // being written: no index file yet
        auto it = std::find_if(shard.segments.begin(), last, [](const Segment& g) { return !g.index_file; });
        if (it == last) break;
        it->index_file = true;  // claimed; written below without the lock
        copy.base = it->base;
        copy.path = it->path;
        copy.index = it->index;
      }
      SP_RETURN_IF_ERROR(WriteIndexFile(copy));
    }
  }
  return Status::OK();
}

}  // namespace sp::file_log
