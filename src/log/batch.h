// Encoding and decoding of log batches (docs/format/log.md). Pure functions over bytes, so the
// recovery and corruption tests can feed them anything.
#pragma once

#include <cstdint>
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

struct Header {
  uint32_t length = 0;  // bytes after the length field
  uint64_t first_offset = 0;
  uint32_t count = 0;
  int64_t first_timestamp_us = 0;
  int64_t max_timestamp_us = 0;
  uint64_t total_size() const { return kLengthPrefix + length; }
};

//! Decoded records in slots reused from one read to the next: a slot's strings keep their
//! capacity, so decoding a record allocates nothing once the slots have grown.
class RecordSlots {
 public:
  //! The next slot, still holding what its last use left there.
  StoredRecord& Add() {
    if (size_ == slots_.size()) slots_.emplace_back();
    return slots_[size_++];
  }
  //! Drops the records from n on (n <= size()); their slots keep their strings.
  void Truncate(size_t n) { size_ = n; }
  size_t size() const { return size_; }
  const StoredRecord& back() const { return slots_[size_ - 1]; }
  //! The records held, valid until the next Add or Truncate.
  std::span<StoredRecord> records() { return {slots_.data(), size_}; }

 private:
  std::vector<StoredRecord> slots_;
  size_t size_ = 0;
};

//! Appends one batch holding records (all bound for the same shard) to out.
void Encode(uint64_t first_offset, std::span<const Record* const> records, std::string* out);
//! Reads the header of the batch at the start of bytes (at least kHeaderSize of them) without
//! checking the CRC. Corruption when the fixed fields are impossible.
Result<Header> DecodeHeader(std::string_view bytes);
//! Checks the CRC of a whole batch and decodes its records with offset >= min_offset, adding
//! them to out with the given shard. On an error out holds what it held before.
Status Decode(std::string_view whole_batch, uint32_t shard, uint64_t min_offset, RecordSlots* out);
//! True when whole_batch's CRC matches.
bool CrcMatches(std::string_view whole_batch);

}  // namespace sp::batch
