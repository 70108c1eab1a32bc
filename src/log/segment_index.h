// A segment's sparse index: one entry per kIntervalBytes of batches, so memory stays small however
// small the batches are, and a read from an offset or a time seeks to the entry before it and
// walks at most kIntervalBytes of batch headers. Sealed segments keep it in a `<base>.index` file
// (docs/format/log.md) so opening a large log reads no segment bodies; a missing or corrupt index
// file is rebuilt from the segment's headers.
#pragma once

#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sp {

struct IndexEntry {
  uint64_t first_offset = 0;        // of the batch at position
  uint64_t position = 0;            // in the segment file
  int64_t max_ts_before = INT64_MIN;  // the shard's largest event time before this batch
};

class SegmentIndex {
 public:
  static constexpr uint64_t kIntervalBytes = 4096;

  //! Records the batch at position: first offset, record count, size in bytes, its largest event
  //! time; running_max_before is the shard's largest event time before it.
  void Add(uint64_t position, uint64_t first_offset, uint32_t count, uint64_t size, int64_t batch_max_ts,
           int64_t running_max_before);
  //! The entry to walk from to find offset: the last one at or before it; null when none is.
  const IndexEntry* ForOffset(uint64_t offset) const;
  //! The entry to walk from to find the first batch where the running maximum event time reaches
  //! timestamp_us: the last one before which it had not; the first entry when none.
  const IndexEntry* ForTime(int64_t timestamp_us) const;

  uint64_t size() const { return size_; }              // bytes of whole batches
  uint64_t end_offset() const { return end_offset_; }  // offset after the last batch
  int64_t max_ts() const { return max_ts_; }           // the shard's running maximum at the end
  size_t entries() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  //! The `.index` file's bytes for the segment based at base.
  std::string Encode(uint64_t base) const;
  //! Reads an `.index` file; Corruption unless its CRC, base and segment size all agree.
  static Result<SegmentIndex> Decode(std::string_view bytes, uint64_t base, uint64_t segment_size);

 private:
  std::vector<IndexEntry> entries_;
  uint64_t size_ = 0;
  uint64_t end_offset_ = 0;
  int64_t max_ts_ = INT64_MIN;
};

}  // namespace sp
