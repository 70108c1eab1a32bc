// The embedded log (docs/format/log.md). One FileStream per stream; appends are group-committed by
// a leader (the first queued appender writes and syncs for everyone queued behind it, as LevelDB's
// writer queue does); readers see only what the leader has published after its writes completed.
#include "log/file_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/thread_name.h"
#include "log/batch.h"
#include "log/segment_index.h"

namespace sp {

namespace {

std::string SegmentName(uint64_t base) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.log", static_cast<unsigned long long>(base));
  return buf;
}

std::string ShardDirName(uint32_t shard) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04u", shard);
  return buf;
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
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
  SegmentIndex index;               // of the published batches
  bool index_file = false;          // sealed, and its .index file is written
  std::shared_ptr<RandomAccessFile> reader;  // opened on first read
};

std::string IndexPath(const std::string& segment_path) {
  return segment_path.substr(0, segment_path.size() - 4) + ".index";
}

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
  uint64_t allocated = 0;  // the active file's size: its data, then the zeros written ahead of it
  bool dirty = false;      // written since the last sync
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

  Result<std::span<StoredRecord>> Poll(size_t max_records, std::chrono::milliseconds wait) override {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    records_.Clear();
    const uint32_t n = stream_->shard_count();
    while (true) {
      // Take the sequence number before reading, so an append published during the read still
      // wakes the wait below.
      uint64_t seen = stream_->append_seq();
      for (uint32_t i = 0; i < n && records_.size() < max_records; ++i) {
        uint32_t s = (next_shard_ + i) % n;
        SP_ASSIGN_OR_RETURN(uint64_t next, stream_->Read(s, positions_[s], max_records - records_.size(), &records_));
        positions_[s] = next;
      }
      next_shard_ = (next_shard_ + 1) % n;  // fairness: start with another shard next time
      if (records_.size() > 0 || wakeup_.exchange(false)) return records_.records();
      if (!stream_->WaitForAppend(seen, deadline, &wakeup_)) {
        wakeup_ = false;
        return records_.records();
      }
    }
  }

  Status Commit(const std::vector<std::pair<uint32_t, uint64_t>>& next_offsets) override {
    std::vector<uint64_t> next = committed_;
    for (auto [shard, offset] : next_offsets) {
      if (shard >= next.size()) return Status::InvalidArgument("no shard " + std::to_string(shard));
      next[shard] = offset;
    }
    std::string data = "SPCK";
    PutFixed32(&data, 1);
    PutFixed32(&data, static_cast<uint32_t>(next.size()));
    for (uint64_t v : next) PutFixed64(&data, v);
    PutFixed32(&data, crc32c::Value(data));
    SP_RETURN_IF_ERROR(stream_->env()->WriteFileAtomic(path_, data));
    std::lock_guard lock(mu_);
    committed_ = std::move(next);
    return Status::OK();
  }

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
  static Result<std::vector<uint64_t>> ReadCheckpoint(Env* env, const std::string& path, uint32_t shards) {
    if (!env->FileExists(path)) return Status::NotFound(path);
    SP_ASSIGN_OR_RETURN(std::string data, env->ReadFile(path));
    auto get32 = [&](size_t at) { return DecodeFixed32(data.data() + at); };
    if (data.size() < 16 || data.compare(0, 4, "SPCK") != 0 || get32(4) != 1) {
      return Status::Corruption("checkpoint " + path + " is not a version 1 checkpoint");
    }
    uint32_t n = get32(8);
    if (data.size() != 16 + 8ull * n ||
        get32(data.size() - 4) != crc32c::Value(std::string_view(data).substr(0, data.size() - 4))) {
      return Status::Corruption("checkpoint " + path + " fails its CRC");
    }
    if (n != shards) {
      return Status::Corruption("checkpoint " + path + " has " + std::to_string(n) + " shards, the stream " +
                                std::to_string(shards));
    }
    std::vector<uint64_t> next(n);
    for (uint32_t i = 0; i < n; ++i) next[i] = DecodeFixed64(data.data() + 12 + 8 * i);
    return next;
  }

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

Status FileStream::Open(uint32_t configured_shards) {
  const std::string meta_path = JoinPath(dir_, "STREAM");
  if (options_.read_only && !env_->FileExists(meta_path)) return Status::NotFound("no stream " + name_ + " in " + dir_);
  if (!options_.read_only) SP_RETURN_IF_ERROR(env_->CreateDirs(dir_));
  uint32_t shards = configured_shards;
  if (env_->FileExists(meta_path)) {
    SP_ASSIGN_OR_RETURN(std::string meta, env_->ReadFile(meta_path));
    unsigned stored = 0;
    if (std::sscanf(meta.c_str(), "sensorpipe-stream 1\nshards %u", &stored) != 1 || stored == 0) {
      return Status::Corruption(meta_path + " is not a stream description");
    }
    if (stored != configured_shards && !options_.read_only) {
      spdlog::warn("log: stream {} keeps its {} shards (the config asks for {})", name_, stored, configured_shards);
    }
    shards = stored;
  } else {
    SP_RETURN_IF_ERROR(env_->WriteFileAtomic(meta_path, "sensorpipe-stream 1\nshards " + std::to_string(shards) + "\n"));
    SP_RETURN_IF_ERROR(env_->SyncDir(DirName(dir_)));
  }
  shards_.resize(shards);
  for (uint32_t i = 0; i < shards; ++i) {
    shards_[i].dir = JoinPath(dir_, ShardDirName(i));
    SP_RETURN_IF_ERROR(RecoverShard(i));
  }
  if (options_.read_only) return Status::OK();
  SP_RETURN_IF_ERROR(env_->CreateDirs(JoinPath(dir_, "consumers")));
  SP_RETURN_IF_ERROR(EnforceRetention());
  const bool interval = options_.fsync.kind == FsyncPolicy::Kind::kInterval;
  if (interval || options_.retention_ms > 0 || options_.retention_bytes > 0) {
    housekeeping_ = std::thread([this] {
      NameThisThread("sp-log");
      Housekeeping();
    });
  }
  return Status::OK();
}

Status FileStream::RecoverShard(uint32_t shard_id) {
  Shard& s = shards_[shard_id];
  if (!options_.read_only) SP_RETURN_IF_ERROR(env_->CreateDirs(s.dir));
  SP_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->GetChildren(s.dir));
  std::vector<uint64_t> bases;
  for (const auto& n : names) {
    unsigned long long base;
    char tail;
    if (n.size() == 24 && std::sscanf(n.c_str(), "%20llu.lo%c", &base, &tail) == 2 && tail == 'g') bases.push_back(base);
  }
  std::sort(bases.begin(), bases.end());
  if (bases.empty()) bases.push_back(0);

  uint64_t expected = bases.front();
  for (size_t i = 0; i < bases.size(); ++i) {
    const bool last = i + 1 == bases.size();
    Segment seg;
    seg.base = bases[i];
    seg.path = JoinPath(s.dir, SegmentName(seg.base));
    if (!env_->FileExists(seg.path)) {
      if (options_.read_only) break;
      SP_ASSIGN_OR_RETURN(auto f, env_->NewWritableFile(seg.path));
      SP_RETURN_IF_ERROR(f->Sync());
      SP_RETURN_IF_ERROR(env_->SyncDir(s.dir));
    }
    if (seg.base != expected) {
      spdlog::error("log: {} shard {}: offsets {} to {} are missing before segment {}", name_, shard_id, expected,
                    seg.base, seg.path);
    }
    expected = seg.base;
    SP_ASSIGN_OR_RETURN(auto file, env_->NewRandomAccessFile(seg.path));
    SP_ASSIGN_OR_RETURN(uint64_t file_size, file->Size());
    // A sealed segment's .index file, when it checks out, spares reading the segment at all.
    if (!last && env_->FileExists(IndexPath(seg.path))) {
      auto bytes = env_->ReadFile(IndexPath(seg.path));
      auto idx = bytes.ok() ? SegmentIndex::Decode(*bytes, seg.base, file_size) : Result<SegmentIndex>(bytes.status());
      if (idx.ok() && (idx->empty() || idx->ForOffset(seg.base) != nullptr)) {
        seg.index = std::move(idx).value();
        seg.index_file = true;
        s.max_ts = std::max(s.max_ts, seg.index.max_ts());
        expected = std::max(bases[i + 1], seg.index.end_offset());
        s.segments.push_back(std::move(seg));
        continue;
      }
      spdlog::warn("log: {} shard {}: rebuilding the index of {} from the segment ({})", name_, shard_id, seg.path,
                   idx.ok() ? "it does not match" : idx.status().ToString());
    }
    // Walk the batches. The last segment is checked in full (its tail may be torn by a crash);
    // sealed ones were synced before the roll, so their headers suffice to index them.
    uint64_t pos = 0;
    std::string buf;
    while (pos + batch::kHeaderSize <= file_size) {
      buf.resize(batch::kHeaderSize);
      SP_ASSIGN_OR_RETURN(size_t n, file->Read(pos, batch::kHeaderSize, buf.data()));
      if (n < batch::kHeaderSize) break;
      auto h = batch::DecodeHeader(buf);
      if (!h.ok() || h->first_offset != expected || pos + h->total_size() > file_size) break;
      if (last) {
        buf.resize(h->total_size());
        SP_ASSIGN_OR_RETURN(n, file->Read(pos, buf.size(), buf.data()));
        if (n < buf.size() || !batch::CrcMatches(buf)) break;
      }
      seg.index.Add(pos, h->first_offset, h->count, h->total_size(), h->max_timestamp_us, s.max_ts);
      s.max_ts = std::max(s.max_ts, h->max_timestamp_us);
      pos += h->total_size();
      expected = h->first_offset + h->count;
    }
    if (pos < file_size && options_.read_only) {
      // Perhaps a batch the writer is appending right now, or its zero tail: read up to it,
      // touch nothing.
    } else if (pos < file_size) {
      if (last) {
        // Cut the log at the last valid batch. Nothing after it was ever acknowledged under
        // fsync = "batch": an append returns only after its batch is synced, and a later batch can
        // only be valid if this one was. All of the rest goes, even where it is only the zero
        // tail: pages of a lost group written after a torn one may have survived, and left in the
        // file they could later pass for batches (docs/format/log.md, "Recovery at open"). Only
        // non-zero bytes are damage; zeros after them are the tail of a log not closed cleanly.
        SP_ASSIGN_OR_RETURN(uint64_t damaged_end, EndOfNonZero(*file, pos, file_size));
        if (damaged_end > pos) {
          spdlog::warn("log: {} shard {}: cutting {} torn or corrupt bytes after offset {} in {}", name_, shard_id,
                       damaged_end - pos, expected, seg.path);
          metrics_.recovered_bytes->Inc(damaged_end - pos);
        }
        SP_RETURN_IF_ERROR(env_->Truncate(seg.path, pos));
      } else {
        metrics_.corrupt_batches->Inc();
        spdlog::error("log: {} shard {}: sealed segment {} is damaged after position {}; skipping to the next segment",
                      name_, shard_id, seg.path, pos);
      }
    }
    if (!last) {
      expected = std::max(expected, bases[i + 1]);
      if (!options_.read_only) SP_RETURN_IF_ERROR(WriteIndexFile(seg));
    }
    s.segments.push_back(std::move(seg));
  }
  if (s.segments.empty()) return Status::OK();  // read-only, a shard never written
  s.active_base = s.segments.back().base;
  s.next_offset = expected;
  s.published_end = expected;
  if (options_.read_only) return Status::OK();
  SP_ASSIGN_OR_RETURN(s.active, env_->NewAppendableFile(s.segments.back().path));
  s.allocated = s.active->Size();
  s.active_since_us = clock_->MonotonicMicros();
  return Status::OK();
}

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
    const bool old = options_.segment_ms > 0 && clock_->MonotonicMicros() - s.active_since_us >= options_.segment_ms * 1000;
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

Result<uint64_t> FileStream::Read(uint32_t shard, uint64_t from, size_t max, batch::RecordBuffer* out) {
  // Find where to start under the lock; read the file without it.
  std::shared_ptr<RandomAccessFile> file;
  uint64_t pos, seg_end, end, next_base;
  {
    std::lock_guard lock(mu_);
    Shard& s = shards_[shard];
    end = s.published_end;
    if (from >= end || s.segments.empty()) return from;
    auto seg = std::upper_bound(s.segments.begin(), s.segments.end(), from,
                                [](uint64_t off, const Segment& g) { return off < g.base; });
    if (seg == s.segments.begin()) {
      return Status::OutOfRange("shard " + std::to_string(shard) + ": offset " + std::to_string(from) +
                                " was deleted by retention; the oldest is " + std::to_string(s.segments.front().base));
    }
    --seg;
    next_base = std::next(seg) == s.segments.end() ? end : std::next(seg)->base;
    const IndexEntry* entry = seg->index.ForOffset(from);
    if (entry == nullptr) return next_base;  // an empty segment, or one damaged from its start
    pos = entry->position;
    seg_end = seg->index.size();
    SP_ASSIGN_OR_RETURN(file, ReaderOf(*seg));
  }
  // Walk the batch headers from the index entry; decode from the batch holding `from` on.
  const size_t limit = out->size() + max;  // out may already hold other shards' records
  uint64_t next = from;
  bool cut = false;
  char header[batch::kHeaderSize];
  while (pos < seg_end && out->size() < limit) {
    SP_ASSIGN_OR_RETURN(size_t n, file->Read(pos, sizeof header, header));
    auto h = n == sizeof header ? batch::DecodeHeader(std::string_view(header, n))
                                : Result<batch::Header>(Status::Corruption("short header"));
    if (!h.ok() || pos + h->total_size() > seg_end) {
      // The walk lost the batch boundaries: find the next batch that checks out in full.
      metrics_.corrupt_batches->Inc();
      SP_ASSIGN_OR_RETURN(uint64_t found, NextValidBatch(*file, pos + 1, seg_end, next));
      spdlog::error("log: {} shard {}: damaged batch header at position {}; going on at position {}", name_, shard,
                    pos, found);
      if (found >= seg_end) {
        next = next_base;
        break;
      }
      pos = found;
      continue;
    }
    const uint64_t batch_next = h->first_offset + h->count;
    if (batch_next <= next) {  // entirely before the start: skip it unread
      pos += h->total_size();
      continue;
    }
    // Whole batches once the poll holds records: a batch cut at the limit would be read, checked
    // and decoded again by the next poll.
    if (out->size() > 0 && out->size() + (batch_next - std::max(next, h->first_offset)) > limit) break;
    // Read into room that stays put until the consumer's next Poll: the records point into it.
    char* room = out->BatchRoom(h->total_size());
    SP_ASSIGN_OR_RETURN(n, file->Read(pos, h->total_size(), room));
    pos += h->total_size();
    const size_t before = out->size();
    Status st = batch::Decode(std::string_view(room, n), shard, next, out);
    if (!st.ok()) {
      // Damage inside a sealed batch: report it and go on at the next batch.
      metrics_.corrupt_batches->Inc();
      spdlog::error("log: {} shard {}: {}; skipping to offset {}", name_, shard, st.ToString(), batch_next);
      next = batch_next;
      continue;
    }
    // Keep only up to the limit; the rest is read again next time from `next`.
    if (out->size() > limit) {
      out->Truncate(limit);
      cut = true;
    }
    next = out->size() > before ? out->back().offset + 1 : batch_next;
  }
  // Having walked the whole segment, the next read starts in the next one.
  if (pos >= seg_end && !cut) next = std::max(next, next_base);
  return std::min(next, end);
}

bool FileStream::WaitForAppend(uint64_t seen, std::chrono::steady_clock::time_point deadline,
                               const std::atomic<bool>* wakeup) {
  std::unique_lock lock(mu_);
  return append_cv_.wait_until(lock, deadline, [&] { return append_seq_ != seen || wakeup->load(); }) &&
         !wakeup->load();
}

Result<std::unique_ptr<Consumer>> FileStream::OpenConsumer(const std::string& name, StartFrom from) {
  if (!ValidName(name)) return Status::InvalidArgument("bad consumer name '" + name + "'");
  {
    std::lock_guard lock(mu_);
    for (FileConsumer* c : consumers_) {
      if (c->name() == name) return Status::InvalidArgument("consumer " + name + " is already open");
    }
  }
  const std::string path = JoinPath(JoinPath(dir_, "consumers"), name + ".ckpt");
  auto committed = FileConsumer::ReadCheckpoint(env_, path, shard_count());
  std::vector<uint64_t> start;
  if (committed.ok()) {
    start = *committed;
  } else if (committed.status().IsNotFound()) {
    std::lock_guard lock(mu_);
    for (const auto& s : shards_) {
      start.push_back(from == StartFrom::kOldest && !s.segments.empty() ? s.segments.front().base : s.published_end);
    }
  } else {
    return committed.status();
  }
  auto consumer = std::make_unique<FileConsumer>(this, name, path, start);
  std::lock_guard lock(mu_);
  consumers_.insert(consumer.get());
  return std::unique_ptr<Consumer>(std::move(consumer));
}

Result<uint64_t> FileStream::OffsetForTime(uint32_t shard, int64_t timestamp_us) {
  if (shard >= shards_.size()) return Status::InvalidArgument("no shard " + std::to_string(shard));
  std::shared_ptr<RandomAccessFile> file;
  uint64_t pos, seg_end;
  int64_t running;
  {
    std::lock_guard lock(mu_);
    Shard& s = shards_[shard];
    // The running maximum only grows, so the first batch where it reaches the target holds the
    // first record at or after it.
    auto seg = std::find_if(s.segments.begin(), s.segments.end(),
                            [&](const Segment& g) { return !g.index.empty() && g.index.max_ts() >= timestamp_us; });
    if (seg == s.segments.end()) return s.published_end;
    const IndexEntry* entry = seg->index.ForTime(timestamp_us);
    pos = entry->position;
    running = entry->max_ts_before;
    seg_end = seg->index.size();
    SP_ASSIGN_OR_RETURN(file, ReaderOf(*seg));
  }
  std::string buf;
  while (pos < seg_end) {
    buf.resize(batch::kHeaderSize);
    SP_ASSIGN_OR_RETURN(size_t n, file->Read(pos, buf.size(), buf.data()));
    if (n < buf.size()) break;
    SP_ASSIGN_OR_RETURN(batch::Header h, batch::DecodeHeader(buf));
    running = std::max(running, h.max_timestamp_us);
    if (running >= timestamp_us) {
      buf.resize(h.total_size());
      SP_ASSIGN_OR_RETURN(n, file->Read(pos, buf.size(), buf.data()));
      buf.resize(n);
      batch::RecordBuffer records;
      SP_RETURN_IF_ERROR(batch::Decode(buf, shard, h.first_offset, &records));
      for (const auto& r : records.records()) {
        if (r.timestamp_us >= timestamp_us) return r.offset;
      }
      return h.first_offset + h.count;
    }
    pos += h.total_size();
  }
  return Status::Corruption("shard " + std::to_string(shard) + ": the time index and the segment disagree");
}

Result<uint64_t> FileStream::NextValidBatch(const RandomAccessFile& file, uint64_t from, uint64_t end,
                                           uint64_t min_offset) {
  // Only on damage: read the rest of the segment and try every position. A batch counts only if
  // its whole CRC matches and its offsets lie ahead, so bytes inside a value that happen to look
  // like a header are not mistaken for one.
  std::string rest(end - std::min(from, end), '\0');
  SP_ASSIGN_OR_RETURN(size_t n, file.Read(from, rest.size(), rest.data()));
  rest.resize(n);
  for (size_t p = 0; p + batch::kHeaderSize <= rest.size(); ++p) {
    auto h = batch::DecodeHeader(std::string_view(rest).substr(p));
    if (!h.ok() || p + h->total_size() > rest.size() || h->first_offset + h->count <= min_offset) continue;
    if (batch::CrcMatches(std::string_view(rest).substr(p, h->total_size()))) return from + p;
  }
  return end;
}

Result<uint64_t> FileStream::EndOfNonZero(const RandomAccessFile& file, uint64_t from, uint64_t end) {
  uint64_t last = from;
  std::string buf(64 << 10, '\0');
  for (uint64_t pos = from; pos < end;) {
    SP_ASSIGN_OR_RETURN(size_t n, file.Read(pos, std::min<uint64_t>(buf.size(), end - pos), buf.data()));
    if (n == 0) break;
    for (size_t i = n; i > 0; --i) {
      if (buf[i - 1] != '\0') {
        last = pos + i;
        break;
      }
    }
    pos += n;
  }
  return last;
}

Result<std::shared_ptr<RandomAccessFile>> FileStream::ReaderOf(Segment& seg) {
  if (!seg.reader) {
    SP_ASSIGN_OR_RETURN(auto f, env_->NewRandomAccessFile(seg.path));
    seg.reader = std::move(f);
  }
  return seg.reader;
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

std::vector<ShardStats> FileStream::Stats() const {
  std::lock_guard lock(mu_);
  std::vector<ShardStats> out;
  for (uint32_t i = 0; i < shards_.size(); ++i) {
    const Shard& s = shards_[i];
    ShardStats st;
    st.shard = i;
    st.oldest_offset = s.segments.empty() ? s.published_end : s.segments.front().base;
    st.end_offset = s.published_end;
    st.segments = s.segments.size();
    for (const auto& seg : s.segments) st.bytes += seg.index.size();
    out.push_back(st);
  }
  return out;
}

Result<std::vector<ConsumerInfo>> FileStream::Consumers() const {
  const std::string dir = JoinPath(dir_, "consumers");
  std::vector<ConsumerInfo> out;
  if (!env_->FileExists(dir)) return out;
  SP_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->GetChildren(dir));
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (n.size() <= 5 || n.compare(n.size() - 5, 5, ".ckpt") != 0) continue;
    SP_ASSIGN_OR_RETURN(auto committed, FileConsumer::ReadCheckpoint(env_, JoinPath(dir, n), shard_count()));
    out.push_back({n.substr(0, n.size() - 5), std::move(committed)});
  }
  return out;
}

std::vector<std::pair<std::string, double>> FileStream::Lags() const {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> ends;
  for (const auto& s : shards_) ends.push_back(s.published_end);
  std::vector<std::pair<std::string, double>> out;
  for (const FileConsumer* c : consumers_) out.emplace_back(c->name(), static_cast<double>(c->Lag(ends)));
  return out;
}

class FileLog final : public Log {
 public:
  FileLog(Env* env, Clock* clock, Metrics* metrics, FileLogOptions options)
      : env_(env), clock_(clock), metrics_(metrics), options_(std::move(options)) {
    m_.segments_deleted = metrics->GetCounter("sensorpipe_log_segments_deleted_total",
                                              "Segments deleted by retention (age or size).");
    m_.appended_bytes = metrics->GetCounter("sensorpipe_log_appended_bytes_total", "Bytes of batches appended to the log.");
    m_.syncs = metrics->GetCounter("sensorpipe_log_syncs_total", "fdatasync calls made by the log.");
    m_.recovered_bytes = metrics->GetCounter("sensorpipe_log_recovered_bytes_total",
                                             "Bytes of torn or corrupt log tails cut at open.");
    m_.corrupt_batches = metrics->GetCounter("sensorpipe_log_corrupt_batches_total",
                                             "Damaged batches found in sealed segments and skipped by readers.");
    metrics->SetGaugeCallback("sensorpipe_consumer_lag_records", "Records appended but not yet read, per consumer.",
                              [this] {
                                std::vector<std::pair<Labels, double>> out;
                                std::lock_guard lock(mu_);
                                for (const auto& [name, stream] : streams_) {
                                  for (auto& [consumer, lag] : stream->Lags()) {
                                    out.push_back({{{"stream", name}, {"consumer", consumer}}, lag});
                                  }
                                }
                                return out;
                              });
  }
  ~FileLog() override { metrics_->RemoveCallback("sensorpipe_consumer_lag_records"); }

  Result<std::vector<std::string>> ListStreams() override {
    SP_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->GetChildren(options_.dir));
    std::vector<std::string> out;
    for (const auto& n : names) {
      if (ValidName(n) && env_->FileExists(JoinPath(JoinPath(options_.dir, n), "STREAM"))) out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<Stream*> OpenStream(const std::string& name) override {
    if (!ValidName(name)) return Status::InvalidArgument("bad stream name '" + name + "'");
    std::lock_guard lock(mu_);
    auto it = streams_.find(name);
    if (it != streams_.end()) return it->second.get();
    // A stream's own durability policy, when the config names one, else the log's.
    FileLogOptions options = options_;
    if (auto it = options_.stream_fsync.find(name); it != options_.stream_fsync.end()) options.fsync = it->second;
    auto stream = std::make_unique<FileStream>(env_, clock_, JoinPath(options_.dir, name), name, options, m_);
    SP_RETURN_IF_ERROR(stream->Open(options_.shards));
    Stream* raw = stream.get();
    streams_.emplace(name, std::move(stream));
    return raw;
  }

 private:
  Env* env_;
  Clock* clock_;
  Metrics* metrics_;
  const FileLogOptions options_;
  LogMetrics m_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<FileStream>> streams_;
};

}  // namespace

Result<std::unique_ptr<Log>> OpenFileLog(Env* env, Clock* clock, Metrics* metrics, FileLogOptions options) {
  if (options.shards == 0) return Status::InvalidArgument("a stream needs at least one shard");
  if (options.read_only) {
    if (!env->FileExists(options.dir)) return Status::NotFound("no log in " + options.dir);
  } else {
    SP_RETURN_IF_ERROR(env->CreateDirs(options.dir));
  }
  return std::unique_ptr<Log>(new FileLog(env, clock, metrics, std::move(options)));
}

}  // namespace sp
