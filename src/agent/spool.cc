#include "agent/spool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/settings.h"

namespace sp {

namespace {

constexpr std::string_view kSegmentMagic = "SPSPOOL1";
constexpr std::string_view kAckedMagic = "SPACKED1";
constexpr size_t kHeaderBytes = 16;   // magic, first_seq
constexpr size_t kRecordHeader = 16;  // crc, length, seq
constexpr size_t kAckedBytes = 28;
constexpr uint32_t kMaxPayload = 16 << 20;
constexpr std::string_view kSegmentSuffix = ".spool";

uint32_t RecordCrc(uint64_t seq, std::string_view payload) {
  std::string s;
  PutFixed64(&s, seq);
  return crc32c::Extend(crc32c::Value(s), payload.data(), payload.size());
}

}  // namespace

Result<SpoolSync> SpoolSync::Parse(std::string_view text) {
  if (text == "always") return SpoolSync{Mode::kAlways, 0};
  if (text == "none") return SpoolSync{Mode::kNone, 0};
  if (auto ms = ParseIntervalMs(text)) return SpoolSync{Mode::kInterval, *ms};
  return Status::InvalidArgument("expected \"always\", \"interval:<ms>\" or \"none\", got \"" + std::string(text) +
                                 "\"");
}

Result<std::unique_ptr<Spool>> Spool::Open(Env* env, Clock* clock, const std::string& dir, SpoolOptions options) {
  SP_RETURN_IF_ERROR(env->CreateDirs(dir));
  std::unique_ptr<Spool> spool(new Spool(env, clock, dir, options));
  auto lock = FileLock::Acquire(JoinPath(dir, "LOCK"), /*wait=*/false);
  if (!lock.ok()) return Status::Unavailable("the spool " + dir + " is in use by another agent");
  spool->lock_ = std::move(*lock);
  spool->segment_limit_ = std::clamp<uint64_t>(options.max_bytes / 8, 4096, 1 << 20);
  SP_RETURN_IF_ERROR(spool->Recover());
  return spool;
}

Spool::~Spool() {
  if (Status s = Flush(); !s.ok()) spdlog::error("agent: spool: {}", s.ToString());
}

std::string Spool::SegmentPath(uint64_t first_seq) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020" PRIu64 "%s", first_seq, kSegmentSuffix.data());
  return JoinPath(dir_, name);
}

Status Spool::Recover() {
  // ACKED first: it may say that readings in the segments were acknowledged already.
  const std::string acked_path = JoinPath(dir_, "ACKED");
  if (env_->FileExists(acked_path)) {
    SP_ASSIGN_OR_RETURN(std::string a, env_->ReadFile(acked_path));
    if (a.size() == kAckedBytes && a.starts_with(kAckedMagic) &&
        DecodeFixed32(a.data() + 24) == crc32c::Value(std::string_view(a).substr(0, 24))) {
      acked_below_ = acked_written_ = DecodeFixed64(a.data() + 8);
      stats_.overflowed = DecodeFixed64(a.data() + 16);
    } else {
      spdlog::warn("agent: spool: {} is damaged; readings already acknowledged may be sent again", acked_path);
    }
  }
  SP_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->GetChildren(dir_));
  std::vector<uint64_t> firsts;
  for (const std::string& name : names) {
    if (name.size() != 20 + kSegmentSuffix.size() || !name.ends_with(kSegmentSuffix)) continue;
    uint64_t first = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + 20, first);
    if (ec == std::errc() && end == name.data() + 20) firsts.push_back(first);
  }
  std::sort(firsts.begin(), firsts.end());
  next_seq_ = acked_below_;
  std::string data;
  for (uint64_t first : firsts) {
    const std::string path = SegmentPath(first);
    SP_ASSIGN_OR_RETURN(data, env_->ReadFile(path));
    if (data.size() < kHeaderBytes || !data.starts_with(kSegmentMagic) || DecodeFixed64(data.data() + 8) != first) {
      // Not even a header: the file was being created when the power went.
      spdlog::warn("agent: spool: removing {}, which has no valid header", path);
      SP_RETURN_IF_ERROR(env_->RemoveFile(path));
      next_seq_ = std::max(next_seq_, first);  // its name still says how far the sequence went
      continue;
    }
    // Readings are dense from first; the first one that does not check out ends the segment.
    uint64_t seq = first, at = kHeaderBytes;
    while (at + kRecordHeader <= data.size()) {
      const uint32_t crc = DecodeFixed32(data.data() + at);
      const uint32_t length = DecodeFixed32(data.data() + at + 4);
      if (length > kMaxPayload || at + kRecordHeader + length > data.size() ||
          DecodeFixed64(data.data() + at + 8) != seq ||
          crc != RecordCrc(seq, std::string_view(data).substr(at + kRecordHeader, length))) {
        break;
      }
      at += kRecordHeader + length;
      ++seq;
    }
    if (seq == first) {
      // Not one reading: nothing to keep (the file was just created, or all of it was torn).
      SP_RETURN_IF_ERROR(env_->RemoveFile(path));
      next_seq_ = std::max(next_seq_, first);
      continue;
    }
    if (at < data.size()) {
      spdlog::warn("agent: spool: {} ends in {} bytes of a torn write; cut there after reading {}", path,
                   data.size() - at, seq - 1);
      SP_RETURN_IF_ERROR(env_->Truncate(path, at));
    }
    segments_[first] = Segment{first, seq, at};
    stats_.bytes += at;
    next_seq_ = std::max(next_seq_, seq);
  }
  // Every reading not acknowledged is in a segment: below the first one, or with none, there is
  // nothing left to send.
  acked_below_ = segments_.empty() ? next_seq_ : std::max(acked_below_, segments_.begin()->first);
  // Appends continue in a new segment: the newest one may end in a cut, and a fresh file keeps
  // "one writer, only appends" simple.
  SP_RETURN_IF_ERROR(Roll());
  SP_RETURN_IF_ERROR(RemoveAcknowledgedSegments());
  if (pending() > 0) {
    spdlog::info("agent: spool: {} readings from a previous run are waiting to be sent ({} to {})", pending(),
                 acked_below_, next_seq_ - 1);
  }
  return Status::OK();
}

Status Spool::Roll() {
  if (active_ && segments_.rbegin()->second.end_seq == segments_.rbegin()->first) return Status::OK();  // empty
  if (active_) {
    // The old segment's tail is synced first, so that a power cut cannot keep the new segment
    // while losing readings before it (one sync per segment, not per reading).
    if (options_.sync.mode != SpoolSync::Mode::kNone) SP_RETURN_IF_ERROR(Sync());
    SP_RETURN_IF_ERROR(active_->Close());
  }
  const uint64_t first = next_seq_;
  const std::string path = SegmentPath(first);
  SP_ASSIGN_OR_RETURN(active_, env_->NewWritableFile(path));
  std::string header(kSegmentMagic);
  PutFixed64(&header, first);
  SP_RETURN_IF_ERROR(active_->Append(header));
  segments_[first] = Segment{first, first, header.size()};
  stats_.bytes += header.size();
  stats_.bytes_written += header.size();
  unsynced_ = new_file_ = true;
  return Status::OK();
}

Status Spool::Append(std::string_view payload) {
  if (payload.size() > kMaxPayload) return Status::InvalidArgument("a reading of more than 16 MiB");
  const uint64_t need = kRecordHeader + payload.size();
  if (segments_.rbegin()->second.bytes + need > segment_limit_) SP_RETURN_IF_ERROR(Roll());
  while (stats_.bytes + need > options_.max_bytes && segments_.size() > 1) SP_RETURN_IF_ERROR(DropOldest());

  std::string record;
  record.reserve(need);
  PutFixed32(&record, RecordCrc(next_seq_, payload));
  PutFixed32(&record, static_cast<uint32_t>(payload.size()));
  PutFixed64(&record, next_seq_);
  record.append(payload);
  SP_RETURN_IF_ERROR(active_->Append(record));
  Segment& seg = segments_.rbegin()->second;
  seg.bytes += need;
  seg.end_seq = ++next_seq_;
  stats_.bytes += need;
  stats_.bytes_written += need;
  ++stats_.appended;
  unsynced_ = true;
  if (options_.sync.mode == SpoolSync::Mode::kAlways) return Sync();
  return Tick();
}

Status Spool::DropOldest() {
  const Segment oldest = segments_.begin()->second;
  uint64_t lost = 0;
  for (uint64_t s = std::max(oldest.first_seq, acked_below_); s < oldest.end_seq; ++s) lost += !IsAcked(s);
  SP_RETURN_IF_ERROR(RemoveOldestSegment());
  acked_below_ = std::max(acked_below_, segments_.begin()->first);
  acked_above_.erase(acked_above_.begin(), acked_above_.lower_bound(acked_below_));
  if (lost > 0) {
    stats_.overflowed += lost;
    spdlog::warn(
        "agent: spool: full ({} bytes): dropped {} unsent readings {} to {} ({} dropped since the spool "
        "was created)",
        options_.max_bytes, lost, oldest.first_seq, oldest.end_seq - 1, stats_.overflowed);
  }
  return WriteAcked();
}

Status Spool::RemoveOldestSegment() {
  const Segment oldest = segments_.begin()->second;
  if (reader_segment_ == oldest.first_seq) reader_.reset();
  SP_RETURN_IF_ERROR(env_->RemoveFile(SegmentPath(oldest.first_seq)));
  segments_.erase(segments_.begin());
  stats_.bytes -= oldest.bytes;
  return Status::OK();
}

Status Spool::Read(uint64_t seq, std::string* payload) {
  if (IsAcked(seq) || seq >= next_seq_) return Status::NotFound("reading " + std::to_string(seq) + " is not spooled");
  auto it = segments_.upper_bound(seq);
  if (it == segments_.begin()) return Status::NotFound("reading " + std::to_string(seq) + " was dropped");
  --it;
  const Segment& seg = it->second;
  if (seq >= seg.end_seq) return Status::NotFound("reading " + std::to_string(seq) + " was lost to a torn write");
  if (!reader_ || reader_segment_ != seg.first_seq || reader_seq_ > seq) {
    SP_ASSIGN_OR_RETURN(reader_, env_->NewRandomAccessFile(SegmentPath(seg.first_seq)));
    reader_segment_ = seg.first_seq;
    reader_seq_ = seg.first_seq;
    reader_offset_ = kHeaderBytes;
  }
  // Appends may be unsynced, but they were written, so a read sees them.
  char header[kRecordHeader];
  while (true) {
    SP_ASSIGN_OR_RETURN(size_t n, reader_->Read(reader_offset_, kRecordHeader, header));
    if (n != kRecordHeader) return Status::Corruption("spool segment " + SegmentPath(seg.first_seq) + " is short");
    const uint32_t length = DecodeFixed32(header + 4);
    if (length > kMaxPayload) return Status::Corruption("spool segment " + SegmentPath(seg.first_seq) + " is damaged");
    if (reader_seq_ == seq) {
      payload->resize(length);
      SP_ASSIGN_OR_RETURN(n, reader_->Read(reader_offset_ + kRecordHeader, length, payload->data()));
      if (n != length || DecodeFixed32(header) != RecordCrc(seq, *payload)) {
        return Status::Corruption("reading " + std::to_string(seq) + " in the spool is damaged");
      }
    }
    reader_offset_ += kRecordHeader + length;
    if (reader_seq_++ == seq) return Status::OK();
  }
}

Status Spool::Ack(uint64_t seq) {
  if (IsAcked(seq) || seq >= next_seq_) return Status::OK();  // a duplicate PUBACK, or a dropped reading
  acked_above_.insert(seq);
  while (!acked_above_.empty() && *acked_above_.begin() == acked_below_) {
    acked_above_.erase(acked_above_.begin());
    ++acked_below_;
  }
  return RemoveAcknowledgedSegments();
}

Status Spool::RemoveAcknowledgedSegments() {
  // The newest segment stays, even when all of it is acknowledged: it is being appended to.
  bool removed = false;
  while (segments_.size() > 1 && segments_.begin()->second.end_seq <= acked_below_) {
    SP_RETURN_IF_ERROR(RemoveOldestSegment());
    removed = true;
  }
  // Without ACKED the restart would still be right (W >= the first segment's first_seq), but it
  // would resend the newest segment's acknowledged readings.
  return removed ? WriteAcked() : Status::OK();
}

Status Spool::Sync() {
  if (!unsynced_) return Status::OK();
  SP_RETURN_IF_ERROR(active_->Sync());
  // A new segment's name must be durable too, or the power cut takes the whole file.
  if (new_file_) SP_RETURN_IF_ERROR(env_->SyncDir(dir_));
  new_file_ = false;
  ++stats_.syncs;
  unsynced_ = false;
  last_sync_us_ = clock_->MonotonicMicros();
  return Status::OK();
}

Status Spool::Tick() {
  const int64_t now = clock_->MonotonicMicros();
  if (options_.sync.mode == SpoolSync::Mode::kInterval && unsynced_ &&
      now - last_sync_us_ >= options_.sync.interval_ms * 1000) {
    SP_RETURN_IF_ERROR(Sync());
  }
  // ACKED at most once a minute otherwise: it only saves resending, so it need not cost a write
  // per acknowledgement.
  if (acked_below_ != acked_written_ && now - acked_written_us_ >= 60'000'000) return WriteAcked();
  return Status::OK();
}

Status Spool::Flush() {
  if (options_.sync.mode != SpoolSync::Mode::kNone) SP_RETURN_IF_ERROR(Sync());
  return acked_below_ != acked_written_ ? WriteAcked() : Status::OK();
}

Status Spool::WriteAcked() {
  std::string a(kAckedMagic);
  PutFixed64(&a, acked_below_);
  PutFixed64(&a, stats_.overflowed);
  PutFixed32(&a, crc32c::Value(a));
  // Temp file and rename, no fsync: after a power cut ACKED is this one, an older one or absent,
  // and an older one only means resending readings the broker already has.
  const std::string path = JoinPath(dir_, "ACKED");
  {
    SP_ASSIGN_OR_RETURN(auto f, env_->NewWritableFile(path + ".tmp"));
    SP_RETURN_IF_ERROR(f->Append(a));
    SP_RETURN_IF_ERROR(f->Close());
  }
  SP_RETURN_IF_ERROR(env_->RenameFile(path + ".tmp", path));
  stats_.bytes_written += a.size();
  acked_written_ = acked_below_;
  acked_written_us_ = clock_->MonotonicMicros();
  return Status::OK();
}

}  // namespace sp
