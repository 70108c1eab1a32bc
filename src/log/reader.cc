// Reading: a shard's published batches for consumers (damage in a sealed segment is skipped, never
// fatal), the time index's lookup, and consumers with their durable checkpoints.
#include <spdlog/spdlog.h>

#include "common/coding.h"
#include "log/file_log_internal.h"

namespace sp::file_log {

Result<std::span<StoredRecord>> FileConsumer::Poll(size_t max_records, std::chrono::milliseconds wait) {
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

Status FileConsumer::Commit(const std::vector<std::pair<uint32_t, uint64_t>>& next_offsets) {
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

Result<std::vector<uint64_t>> FileConsumer::ReadCheckpoint(Env* env, const std::string& path, uint32_t shards) {
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
      spdlog::error("log: {} shard {}: damaged batch header at position {}; going on at position {}", name_, shard, pos,
                    found);
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

Result<std::shared_ptr<RandomAccessFile>> FileStream::ReaderOf(Segment& seg) {
  if (!seg.reader) {
    SP_ASSIGN_OR_RETURN(auto f, env_->NewRandomAccessFile(seg.path));
    seg.reader = std::move(f);
  }
  return seg.reader;
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

}  // namespace sp::file_log
