// The delivery stage, in place of Firehose to S3: a named consumer of one log stream that buffers
// records per partition (event hour in UTC, or day) and shard, and writes each buffer as one
// zstd-compressed NDJSON object when the buffers reach their size hint or the oldest record its
// age limit, and on a clean stop. Object names are log positions. A flush commits its objects and
// the consumer's offsets to the catalog in one transaction, after every object is durable, and
// objects of a flush that never committed are removed at start, so each record reaches the lake
// exactly once (docs/format/lake.md, docs/format/catalog.md).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "catalog/catalog.h"
#include "common/env.h"
#include "common/metrics.h"
#include "log/log.h"
#include "store/object_store.h"

namespace sp {

struct DeliveryOptions {
  std::string consumer_name = "lake-raw";
  std::string prefix = "raw";  // top folder in the object store
  enum Partitioning { kEventHour, kDay } partitioning = kEventHour;
  bool partition_by_device = false;  // one more level: .../device=<id>/
  enum Compression { kZstd, kGzip } compression = kZstd;
  size_t size_hint_bytes = 5 << 20;  // uncompressed bytes buffered before a flush
  int interval_s = 60;               // oldest buffered record's age before a flush
  int zstd_level = 3;
  size_t poll_records = 4096;
};

class Delivery {
 public:
  //! Opens the consumer at the catalog's offsets and removes objects left by a flush that did not
  //! commit. Nothing is owned; all must outlive the Delivery.
  static Result<std::unique_ptr<Delivery>> Open(Stream* stream, ObjectStore* store, Catalog* catalog, Clock* clock,
                                                Metrics* metrics, DeliveryOptions options);
  //! Called after each commit of new objects (the compactor's wake-up).
  void OnCommit(std::function<void()> f) { on_commit_ = std::move(f); }
  ~Delivery();

  //! Runs in a background thread until Stop.
  Status Start();
  //! Reads the stream to its current end, flushes everything and commits. Call after the
  //! producers stopped, so that every acknowledged record is in the lake.
  Status Stop();
  //! One round: poll (waiting up to `wait`), buffer, flush when due. For tests and Stop.
  Status RunOnce(std::chrono::milliseconds wait);
  //! Writes every buffer now and commits.
  Status Flush();

  //! The object key for records of one shard in one partition, named by their first and last offsets.
  static std::string ObjectKey(const std::string& prefix, const std::string& partition, const std::string& stream,
                               uint32_t shard, uint64_t first, uint64_t last, const char* format = "ndjson.zst");

 private:
  struct Buffer {
    std::string lines;  // NDJSON, uncompressed
    uint64_t first = 0, last = 0;
    size_t records = 0;
    int64_t min_ts = 0, max_ts = 0;
  };
  Delivery(Stream* stream, ObjectStore* store, Catalog* catalog, Clock* clock, Metrics* metrics,
           DeliveryOptions options, std::unique_ptr<Consumer> consumer);
  Status Recover();
  Status RunOnce(std::chrono::milliseconds wait, size_t* polled);
  Status SkipExpired(const Status& why);
  //! Buffers one record.
  void Add(const StoredRecord& r);
  //! The start of the partition (event hour or day, UTC) a timestamp falls in.
  int64_t BucketOf(int64_t timestamp_us) const;
  //! Its folder: dt=YYYY-MM-DD/hour=HH or dt=YYYY-MM-DD, then device=<id> when partitioned so.
  std::string PartitionName(int64_t bucket_us, uint32_t device) const;
  //! The buffers' key for a record's device: 0 unless partitioned by device.
  uint32_t DeviceId(std::string_view device);
  //! Compresses lines into compressed_.
  Status Compress(const std::string& lines);
  //! Makes compressed_ at least bound bytes.
  void Room(size_t bound);
  //! How long the oldest buffered record may wait before a flush.
  int64_t FlushAgeUs() const;
  bool FlushDue() const;
  void Loop();

  Stream* stream_;
  ObjectStore* store_;
  Catalog* catalog_;
  Clock* clock_;
  const DeliveryOptions options_;
  std::unique_ptr<Consumer> consumer_;

  // By (partition start, device id, shard): integers, so buffering a record formats nothing.
  std::map<std::tuple<int64_t, uint32_t, uint32_t>, Buffer> buffers_;
  std::map<std::string, uint32_t, std::less<>> device_ids_;  // looked up by string_view: no allocation
  std::vector<std::string> devices_;                         // by id - 1
  // Emptied buffers and the compression output, kept with their capacity: buffers of megabytes
  // grown afresh after every flush cost a page fault per 4 KiB (a few % of the daemon's CPU).
  std::vector<std::string> spare_lines_;
  std::string compressed_;                     // room for the compression output (see Room)
  size_t compressed_size_ = 0;                 // the last output's bytes at its start
  std::map<uint32_t, uint64_t> next_offsets_;  // per shard: after the last polled record
  // While redoing a flush that never committed (Recover): per shard, the offset after the last
  // record its objects held, and the records polled past it, buffered once the redo is flushed.
  std::map<uint32_t, uint64_t> redo_until_;
  std::vector<OwnedRecord> held_;
  size_t buffered_bytes_ = 0;
  int64_t oldest_us_ = 0;  // monotonic time the oldest buffered record was polled; 0 when empty
  void* zstd_ = nullptr;   // ZSTD_CCtx, reused

  Counter* delivered_;
  Counter* objects_;
  Counter* bytes_;
  Counter* flush_errors_;
  Counter* expired_;

  std::function<void()> on_commit_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sp
