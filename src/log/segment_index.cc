#include "log/segment_index.h"

#include <algorithm>

#include "common/coding.h"
#include "common/crc32c.h"

namespace sp {

namespace {
constexpr size_t kHead = 4 + 4 + 8 + 8 + 8 + 8 + 4;  // magic, version, base, size, end, max_ts, count
constexpr size_t kEntry = 24;
}  // namespace

void SegmentIndex::Add(uint64_t position, uint64_t first_offset, uint32_t count, uint64_t size, int64_t batch_max_ts,
                       int64_t running_max_before) {
  if (entries_.empty() || position >= entries_.back().position + kIntervalBytes) {
    entries_.push_back({first_offset, position, running_max_before});
  }
  size_ = position + size;
  end_offset_ = first_offset + count;
  max_ts_ = std::max(running_max_before, batch_max_ts);
}

const IndexEntry* SegmentIndex::ForOffset(uint64_t offset) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), offset,
                             [](uint64_t o, const IndexEntry& e) { return o < e.first_offset; });
  return it == entries_.begin() ? nullptr : &*std::prev(it);
}

const IndexEntry* SegmentIndex::ForTime(int64_t timestamp_us) const {
  if (entries_.empty()) return nullptr;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), timestamp_us,
                             [](const IndexEntry& e, int64_t ts) { return e.max_ts_before < ts; });
  return it == entries_.begin() ? &entries_.front() : &*std::prev(it);
}

std::string SegmentIndex::Encode(uint64_t base) const {
  std::string out = "SPIX";
  PutFixed32(&out, 1);
  PutFixed64(&out, base);
  PutFixed64(&out, size_);
  PutFixed64(&out, end_offset_);
  PutFixed64(&out, static_cast<uint64_t>(max_ts_));
  PutFixed32(&out, static_cast<uint32_t>(entries_.size()));
  for (const auto& e : entries_) {
    PutFixed64(&out, e.first_offset);
    PutFixed64(&out, e.position);
    PutFixed64(&out, static_cast<uint64_t>(e.max_ts_before));
  }
  PutFixed32(&out, crc32c::Value(out));
  return out;
}

Result<SegmentIndex> SegmentIndex::Decode(std::string_view in, uint64_t base, uint64_t segment_size) {
  if (in.size() < kHead + 4 || in.substr(0, 4) != "SPIX" || DecodeFixed32(in.data() + 4) != 1)
    return Status::Corruption("not an index");
  const uint64_t count = DecodeFixed32(in.data() + 40);
  if (in.size() != kHead + count * kEntry + 4 ||
      DecodeFixed32(in.data() + in.size() - 4) != crc32c::Value(in.substr(0, in.size() - 4))) {
    return Status::Corruption("index fails its CRC");
  }
  SegmentIndex idx;
  idx.size_ = DecodeFixed64(in.data() + 16);
  idx.end_offset_ = DecodeFixed64(in.data() + 24);
  idx.max_ts_ = static_cast<int64_t>(DecodeFixed64(in.data() + 32));
  if (DecodeFixed64(in.data() + 8) != base || idx.size_ != segment_size)
    return Status::Corruption("index of another segment");
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = kHead + i * kEntry;
    idx.entries_.push_back({DecodeFixed64(in.data() + at), DecodeFixed64(in.data() + at + 8),
                            static_cast<int64_t>(DecodeFixed64(in.data() + at + 16))});
  }
  return idx;
}

}  // namespace sp
