// Recovery at open (docs/format/log.md, "Recovery at open"): a shard's segments are indexed, from
// their .index files where those check out, and the last segment is cut at its last valid batch.
#include <spdlog/spdlog.h>

#include "log/file_log_internal.h"

namespace sp::file_log {

Status FileStream::RecoverShard(uint32_t shard_id) {
  Shard& s = shards_[shard_id];
  if (!options_.read_only) SP_RETURN_IF_ERROR(env_->CreateDirs(s.dir));
  SP_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->GetChildren(s.dir));
  std::vector<uint64_t> bases;
  for (const auto& n : names) {
    unsigned long long base;
    char tail;
    if (n.size() == 24 && std::sscanf(n.c_str(), "%20llu.lo%c", &base, &tail) == 2 && tail == 'g') {
      bases.push_back(base);
    }
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

}  // namespace sp::file_log
