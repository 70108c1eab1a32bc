// The embedded log (docs/format/log.md). One FileStream per stream; appends are group-committed by
// a leader (the first queued appender writes and syncs for everyone queued behind it, as LevelDB's
// writer queue does); readers see only what the leader has published after its writes completed.
//
// This header holds what the log's files share; each file has one job: file_log.cc opens the log
// and its streams; writer.cc appends (group commit, rolls, the zero tail, index files of sealed
// segments); recovery.cc checks a shard's segments at open; retention.cc deletes old segments and
// runs the background thread (interval syncs, retention); reader.cc reads for consumers and keeps
// their checkpoints. Only src/log includes it.
#pragma once

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/crc32c.h"
#include "common/env.h"
#include "log/batch.h"
#include "log/file_log.h"
#include "log/segment_index.h"

namespace sp::file_log {

inline std::string SegmentName(uint64_t base) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.log", static_cast<unsigned long long>(base));
  return buf;
}

inline std::string ShardDirName(uint32_t shard) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04u", shard);
  return buf;
}

inline bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

inline std::string IndexPath(const std::string& segment_path) {
  return segment_path.substr(0, segment_path.size() - 4) + ".index";
}

struct LogMetrics {
  Counter* segments_deleted;
  Counter* appended_bytes;
  Counter* syncs;
  Counter* recovered_bytes;
  Counter* corrupt_batches;
};

// What readers may see of a segment: its published batches.
struct Segment {
  uint64_t base = 0;
  std::string path;
  SegmentIndex index;                        // of the published batches
  bool index_file = false;                   // sealed, and its .index file is written
  std::shared_ptr<RandomAccessFile> reader;  // opened on first read
};

struct Shard {
  std::string dir;
  std::vector<Segment> segments;  // guarded by FileStream::mu_
  uint64_t published_end = 0;     // guarded by FileStream::mu_: offsets below it are readable
  int64_t max_ts = INT64_MIN;     // guarded by FileStream::mu_: largest event time published
  // Owned by the leader (io_mu_):
  std::unique_ptr<WritableFile> active;
  uint64_t active_base = 0;
  int64_t active_since_us = 0;  // monotonic time the active segment was opened
  uint64_t next_offset = 0;
  uint64_t allocated = 0;      // the active file's size: its data, then the zeros written ahead of it
  bool dirty = false;          // written since the last sync
  uint64_t cache_dropped = 0;  // the active file's cached pages before this were let go
};

class FileConsumer;

class FileStream final : public Stream {
 public:
  FileStream(Env* env, Clock* clock, std::string dir, std::string name, const FileLogOptions& options,
             LogMetrics metrics)
      : env_(env), clock_(clock), dir_(std::move(dir)), name_(std::move(name)), options_(options), metrics_(metrics) {}
  ~FileStream() override {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    closing_cv_.notify_all();
    if (housekeeping_.joinable()) housekeeping_.join();
    // A clean close makes everything durable whatever the policy, and leaves the segments at
    // their exact sizes: the zero tail is cut and the cut synced with the data.
    std::lock_guard io(io_mu_);
    for (auto& s : shards_) {
      if (s.active) {
        auto cut = CutZeroTail(s);
        if (s.dirty || (cut.ok() && *cut)) (void)s.active->Sync();
        (void)s.active->Close();
      }
    }
  }

  Status Open(uint32_t configured_shards);

  const std::string& name() const override { return name_; }
  uint32_t shard_count() const override { return static_cast<uint32_t>(shards_.size()); }
  uint32_t ShardFor(std::string_view key) const override {
    return crc32c::Value(key) % static_cast<uint32_t>(shards_.size());
  }
  Status Append(std::span<const Record> records) override;
  std::vector<uint64_t> EndOffsets() const override {
    std::lock_guard lock(mu_);
    std::vector<uint64_t> ends;
    for (const auto& s : shards_) ends.push_back(s.published_end);
    return ends;
  }
  Result<std::unique_ptr<Consumer>> OpenConsumer(const std::string& name, StartFrom from) override;
  std::vector<ShardStats> Stats() const override;
  Result<std::vector<ConsumerInfo>> Consumers() const override;
  Result<uint64_t> OffsetForTime(uint32_t shard, int64_t timestamp_us) override;

  //! Reads records of shard from offset `from` on, at most max, adding them, and the batches'
  //! bytes they point into, to out; returns the offset to read next.
  Result<uint64_t> Read(uint32_t shard, uint64_t from, size_t max, batch::RecordBuffer* out);
  //! Waits until an append is published after `seen` (returns true), or until deadline or
  //! *wakeup (false).
  bool WaitForAppend(uint64_t seen, std::chrono::steady_clock::time_point deadline, const std::atomic<bool>* wakeup);
  uint64_t append_seq() const {
    std::lock_guard lock(mu_);
    return append_seq_;
  }
  void NotifyReaders() {
    std::lock_guard lock(mu_);
    append_cv_.notify_all();
  }
  void Unregister(FileConsumer* c) {
    std::lock_guard lock(mu_);
    consumers_.erase(c);
  }
  //! (consumer name, lag) of every open consumer.
  std::vector<std::pair<std::string, double>> Lags() const;
  Env* env() const { return env_; }
  const std::string& dir() const { return dir_; }

 private:
  struct Writer {
    std::span<const Record> records;
    Status status;
    bool done = false;
    std::condition_variable cv;
  };
  // A batch written by the leader, published to readers after the group's writes and syncs.
  struct Written {
    uint32_t shard;
    uint64_t segment_base;
    std::string segment_path;
    uint64_t first_offset;
    uint64_t position;
    uint64_t end;  // segment size after it
    uint64_t next_offset;
    int64_t max_ts;
  };

  Status RecoverShard(uint32_t shard);
  Status WriteGroup(const std::vector<Writer*>& group, std::vector<Written>* written);
  //! Lets the OS drop the active segment's cached pages that every consumer has read (io_mu_).
  void DropReadPages(Shard& s);
  Status Roll(Shard& s);
  //! Keeps the active segment at least half of zero_tail_bytes ahead of its data, written with
  //! zeros that the group's fdatasync makes durable along with the batch.
  Status ExtendZeroTail(Shard& s);
  //! Truncates the active segment to its data; true when there was a tail to cut. The cut is
  //! durable with the next Sync.
  Result<bool> CutZeroTail(Shard& s);
  //! Interval syncs and retention, in the background.
  void Housekeeping();
  //! Deletes the sealed segments that retention no longer keeps.
  Status EnforceRetention();
  //! The position of the first whole, CRC-valid batch in [from, end) holding offsets past
  //! min_offset, or end.
  static Result<uint64_t> NextValidBatch(const RandomAccessFile& file, uint64_t from, uint64_t end,
                                         uint64_t min_offset);
  //! The end of the last non-zero byte in [from, end) of file, or from when all are zero.
  static Result<uint64_t> EndOfNonZero(const RandomAccessFile& file, uint64_t from, uint64_t end);
  //! The segment's shared reader, opened on first use. Call with mu_ held.
  Result<std::shared_ptr<RandomAccessFile>> ReaderOf(Segment& seg);
  //! Writes the .index file of every sealed segment that has none yet.
  Status WriteSealedIndexes();
  //! Writes seg's .index file. It can always be rebuilt from the segment, so no fsync is needed
  //! for durability; the rename keeps a reader from ever seeing half of one.
  Status WriteIndexFile(Segment& seg);

  Env* const env_;
  Clock* const clock_;
  const std::string dir_;
  const std::string name_;
  const FileLogOptions options_;
  const LogMetrics metrics_;

  std::vector<Shard> shards_;  // sized once in Open

  mutable std::mutex mu_;  // segments, published ends, writers_, consumers_
  std::deque<Writer*> writers_;
  std::condition_variable append_cv_;
  uint64_t append_seq_ = 0;
  std::set<FileConsumer*> consumers_;
  bool closing_ = false;
  std::condition_variable closing_cv_;

  std::mutex io_mu_;  // the leader's file state; also taken by the interval sync thread
  Status failed_;     // guarded by io_mu_: after a write or sync error the stream stays failed
  std::string encode_buf_;
  std::thread housekeeping_;
  std::atomic<bool> rolled_{false};  // set by a roll

  friend class FileConsumer;
};

class FileConsumer final : public Consumer {
 public:
  FileConsumer(FileStream* stream, std::string name, std::string path, std::vector<uint64_t> committed)
      : stream_(stream),
        name_(std::move(name)),
        path_(std::move(path)),
        committed_(committed),
        positions_(committed.size()) {
    for (size_t i = 0; i < committed.size(); ++i) positions_[i] = committed[i];
  }
  ~FileConsumer() override { stream_->Unregister(this); }

  Result<std::span<StoredRecord>> Poll(size_t max_records, std::chrono::milliseconds wait) override;
  Status Commit(const std::vector<std::pair<uint32_t, uint64_t>>& next_offsets) override;

  Status Seek(uint32_t shard, uint64_t offset) override {
    if (shard >= positions_.size()) return Status::InvalidArgument("no shard " + std::to_string(shard));
    positions_[shard] = offset;
    return Status::OK();
  }
  std::vector<uint64_t> Committed() const override {
    std::lock_guard lock(mu_);
    return committed_;
  }
  uint64_t Position(uint32_t shard) const { return positions_[shard].load(); }
  std::vector<uint64_t> Positions() const override {
    std::vector<uint64_t> out;
    for (const auto& p : positions_) out.push_back(p.load());
    return out;
  }
  void Wakeup() override {
    wakeup_ = true;
    stream_->NotifyReaders();
  }

  const std::string& name() const { return name_; }
  uint64_t Lag(const std::vector<uint64_t>& ends) const {
    uint64_t lag = 0;
    for (size_t i = 0; i < ends.size() && i < positions_.size(); ++i) {
      uint64_t p = positions_[i].load();
      if (ends[i] > p) lag += ends[i] - p;
    }
    return lag;
  }

  //! Reads a checkpoint file; NotFound when there is none.
  static Result<std::vector<uint64_t>> ReadCheckpoint(Env* env, const std::string& path, uint32_t shards);

 private:
  FileStream* stream_;
  const std::string name_;
  const std::string path_;
  mutable std::mutex mu_;  // committed_
  std::vector<uint64_t> committed_;
  std::vector<std::atomic<uint64_t>> positions_;  // read by the lag gauge from other threads
  uint32_t next_shard_ = 0;
  std::atomic<bool> wakeup_{false};
  batch::RecordBuffer records_;  // what Poll returned last, and the bytes it points into
};

}  // namespace sp::file_log
