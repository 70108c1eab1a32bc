// A record of a stream, as producers append it and consumers read it back. It lives in common so
// that a producer (the rules' readings) or a consumer (the rollup) can build or read one without
// knowing the log that carries it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sp {

//! What a producer appends.
struct Record {
  std::string key;          // partition key: the device id for readings
  int64_t timestamp_us = 0;  // event time, UTC microseconds
  std::string value;         // the payload, opaque to the log (readings: one NDJSON line, no newline)
};

//! What a consumer reads back: key and value point into the consumer's read buffers, so they
//! are valid only until its next Poll (see Consumer::Poll). OwnedRecord keeps a copy.
struct StoredRecord {
  uint32_t shard = 0;
  uint64_t offset = 0;  // position within the shard, dense from 0
  int64_t timestamp_us = 0;
  std::string_view key;
  std::string_view value;
};

//! A StoredRecord that owns its bytes, for keeping past the next Poll.
struct OwnedRecord {
  uint32_t shard = 0;
  uint64_t offset = 0;
  int64_t timestamp_us = 0;
  std::string key;
  std::string value;

  static OwnedRecord From(const StoredRecord& r) {
    return {r.shard, r.offset, r.timestamp_us, std::string(r.key), std::string(r.value)};
  }
  StoredRecord view() const { return {shard, offset, timestamp_us, key, value}; }
};

}  // namespace sp
