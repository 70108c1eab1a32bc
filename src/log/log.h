// The log stage: sensorpipe's source of truth, in place of Kinesis Data Streams. A Log holds named
// streams; a stream has N shards, and a record goes to the shard its partition key hashes to, so
// one device's records keep their order. Consumers are named and independent, each with its own
// durable checkpoint per shard. The embedded implementation (file_log.h) keeps segments under
// data_dir/log; the scale-out one will put Kafka behind the same interface, so nothing here may
// assume files. Streams and consumers are thread-safe unless a method says otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/record.h"
#include "common/status.h"

namespace sp {

//! Where a consumer with no checkpoint for a shard starts.
enum class StartFrom { kOldest, kLatest };

//! A named reader of one stream. One thread uses a consumer at a time (Wakeup excepted).
class Consumer {
 public:
  virtual ~Consumer() = default;
  //! Up to max_records records from any shards, in offset order within each shard, continuing
  //! after what it returned before. Waits up to `wait` when none are available and returns an
  //! empty span then; an append wakes it at once. OutOfRange when retention deleted records at
  //! the read position of a shard: the caller decides (Seek to Stream::Stats' oldest_offset, and
  //! count the loss), the log never skips them silently.
  //! The records, and the bytes their keys and values point into, belong to the consumer and stay
  //! valid until its next Poll, which reuses both: reading a record copies and allocates nothing
  //! (a malloc and free per record were a fifth of a consumer's CPU, the copies a tenth of what
  //! was left). Copy out (OwnedRecord) what must outlive that.
  virtual Result<std::span<StoredRecord>> Poll(size_t max_records, std::chrono::milliseconds wait) = 0;
  //! Makes the checkpoint durable: after a restart this consumer resumes at next_offsets[shard]
  //! for every shard named. Positions not yet polled are accepted (replay sets them back).
  virtual Status Commit(const std::vector<std::pair<uint32_t, uint64_t>>& next_offsets) = 0;
  //! Moves the read position of a shard (not the checkpoint) to offset.
  virtual Status Seek(uint32_t shard, uint64_t offset) = 0;
  //! The durable checkpoint: next offset per shard.
  virtual std::vector<uint64_t> Committed() const = 0;
  //! The read position: next offset Poll reads, per shard.
  virtual std::vector<uint64_t> Positions() const = 0;
  //! Makes a Poll waiting in another thread return now. Safe from any thread.
  virtual void Wakeup() = 0;
};

//! What one shard holds, for tools and metrics.
struct ShardStats {
  uint32_t shard = 0;
  uint64_t oldest_offset = 0;  // first retained record
  uint64_t end_offset = 0;     // next to be written
  uint64_t segments = 0;       // storage units (files, for the embedded log)
  uint64_t bytes = 0;
};

//! A named consumer's durable checkpoint.
struct ConsumerInfo {
  std::string name;
  std::vector<uint64_t> committed;  // next offset per shard
};

//! A sharded, append-only stream of records.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual const std::string& name() const = 0;
  virtual uint32_t shard_count() const = 0;
  //! The shard a partition key maps to; stable across restarts and versions.
  virtual uint32_t ShardFor(std::string_view key) const = 0;
  //! Appends records and returns once they are durable under the stream's fsync policy.
  //! Concurrent callers share one group commit. Each record's shard keeps the given order.
  virtual Status Append(std::span<const Record> records) = 0;
  //! The next offset to be written, per shard (the "latest" position).
  virtual std::vector<uint64_t> EndOffsets() const = 0;
  //! Opens the named consumer, resuming from its checkpoint; shards without one start at `from`.
  virtual Result<std::unique_ptr<Consumer>> OpenConsumer(const std::string& name, StartFrom from) = 0;
  virtual std::vector<ShardStats> Stats() const = 0;
  //! The first offset of shard whose event time is at or after timestamp_us, among records
  //! appended after the shard's largest event time reached it (event time can arrive out of
  //! order; like Kafka's time index, this never misses a record that came later). The end offset
  //! when there is none. With Consumer::Seek this is Kinesis's AT_TIMESTAMP iterator.
  virtual Result<uint64_t> OffsetForTime(uint32_t shard, int64_t timestamp_us) = 0;
  //! Every consumer that ever committed a checkpoint, open or not.
  virtual Result<std::vector<ConsumerInfo>> Consumers() const = 0;
};

//! A set of streams, created on first open.
class Log {
 public:
  virtual ~Log() = default;
  //! The stream called name (letters, digits, '-', '_'), created with the log's defaults if absent.
  //! The Log owns it; the pointer stays valid until the Log is destroyed.
  virtual Result<Stream*> OpenStream(const std::string& name) = 0;
  //! Names of the streams that exist, sorted.
  virtual Result<std::vector<std::string>> ListStreams() = 0;
};

}  // namespace sp
