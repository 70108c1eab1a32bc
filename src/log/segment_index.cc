#include "log/segment_index.h"

#include <algorithm>

#include "common/crc32c.h"

namespace sp {

namespace {
void Put(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t Get(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}
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
  Put(&out, 1, 4);
  Put(&out, base, 8);
  Put(&out, size_, 8);
  Put(&out, end_offset_, 8);
  Put(&out, static_cast<uint64_t>(max_ts_), 8);
  Put(&out, entries_.size(), 4);
  for (const auto& e : entries_) {
    Put(&out, e.first_offset, 8);
    Put(&out, e.position, 8);
    Put(&out, static_cast<uint64_t>(e.max_ts_before), 8);
  }
  Put(&out, crc32c::Value(out), 4);
  return out;
}

Result<SegmentIndex> SegmentIndex::Decode(std::string_view in, uint64_t base, uint64_t segment_size) {
  if (in.size() < kHead + 4 || in.substr(0, 4) != "SPIX" || Get(in, 4, 4) != 1) return Status::Corruption("not an index");
  const uint64_t count = Get(in, 40, 4);
  if (in.size() != kHead + count * kEntry + 4 || Get(in, in.size() - 4, 4) != crc32c::Value(in.substr(0, in.size() - 4))) {
    return Status::Corruption("index fails its CRC");
  }
  SegmentIndex idx;
  idx.size_ = Get(in, 16, 8);
  idx.end_offset_ = Get(in, 24, 8);
  idx.max_ts_ = static_cast<int64_t>(Get(in, 32, 8));
  if (Get(in, 8, 8) != base || idx.size_ != segment_size) return Status::Corruption("index of another segment");
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = kHead + i * kEntry;
    idx.entries_.push_back({Get(in, at, 8), Get(in, at + 8, 8), static_cast<int64_t>(Get(in, at + 16, 8))});
  }
  return idx;
}

}  // namespace sp
