// Encoding and decoding of log batches (docs/format/log.md). Pure functions over bytes, so the
// recovery and corruption tests can feed them anything.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "log/log.h"

namespace sp::batch {

inline constexpr size_t kHeaderSize = 40;
inline constexpr size_t kLengthPrefix = 8;       // crc + length
inline constexpr uint32_t kMaxLength = 64 << 20;  // a batch never exceeds this
// Keys and values a writer puts in one batch, unless one record alone is larger: readers take
// whole batches (docs/format/log.md).
inline constexpr size_t kMaxRecordBytes = 64 << 10;

struct Header {
  uint32_t length = 0;  // bytes after the length field
  uint64_t first_offset = 0;
  uint32_t count = 0;
  int64_t first_timestamp_us = 0;
  int64_t max_timestamp_us = 0;
  uint64_t total_size() const { return kLengthPrefix + length; }
};

//! Decoded records and the batch bytes they point into, both reused from one read to the next:
//! once they have grown, reading allocates nothing. The bytes live in chunks that never move, so
//! records stay valid while more batches are read, until Clear.
class RecordBuffer {
 public:
  //! Room for a batch of `size` bytes, valid until Clear.
  char* BatchRoom(size_t size);
  //! The next record slot.
  StoredRecord& Add() {
    if (size_ == records_.size()) records_.emplace_back();
    return records_[size_++];
  }
  //! Drops the records from n on (n <= size()); their bytes stay until Clear.
  void Truncate(size_t n) { size_ = n; }
  //! Drops every record, frees the room of batches larger than a chunk, and keeps at most
  //! kKeptChunks chunks.
  void Clear();
  size_t size() const { return size_; }
  const StoredRecord& back() const { return records_[size_ - 1]; }
  std::span<StoredRecord> records() { return {records_.data(), size_}; }

 private:
  static constexpr size_t kChunkBytes = 1 << 20;
  static constexpr size_t kKeptChunks = 4;
  std::vector<StoredRecord> records_;
  size_t size_ = 0;
  std::vector<std::unique_ptr<char[]>> chunks_;  // kChunkBytes each, kept
  size_t chunk_ = 0;                             // the chunk being filled
  size_t chunk_used_ = 0;                        // bytes of it in use
  std::vector<std::unique_ptr<char[]>> large_;   // batches over kChunkBytes, freed by Clear
};

//! Appends one batch holding records (all bound for the same shard) to out.
void Encode(uint64_t first_offset, std::span<const Record* const> records, std::string* out);
//! Reads the header of the batch at the start of bytes (at least kHeaderSize of them) without
//! checking the CRC. Corruption when the fixed fields are impossible.
Result<Header> DecodeHeader(std::string_view bytes);
//! Checks the CRC of a whole batch and decodes its records with offset >= min_offset, adding
//! them to out with the given shard; their keys and values point into whole_batch, which must
//! outlive them. On an error out holds what it held before.
Status Decode(std::string_view whole_batch, uint32_t shard, uint64_t min_offset, RecordBuffer* out);
//! True when whole_batch's CRC matches.
bool CrcMatches(std::string_view whole_batch);

}  // namespace sp::batch
