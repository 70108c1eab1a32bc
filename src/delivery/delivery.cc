#include "delivery/delivery.h"

#include <spdlog/spdlog.h>
#include <zlib.h>
#include <zstd.h>

#include <cinttypes>
#include <cstdio>
#include <set>

#include "common/crash_point.h"
#include "common/thread_name.h"
#include "common/time.h"

namespace sp {

Delivery::Delivery(Stream* stream, ObjectStore* store, Catalog* catalog, Clock* clock, Metrics* metrics,
                   DeliveryOptions options, std::unique_ptr<Consumer> consumer)
    : stream_(stream),
      store_(store),
      catalog_(catalog),
      clock_(clock),
      options_(std::move(options)),
      consumer_(std::move(consumer)),
      zstd_(ZSTD_createCCtx()) {
  const Labels view = {{"view", options_.prefix}};
  delivered_ = metrics->GetCounter("sensorpipe_records_delivered_total", "Records written to lake objects.", view);
  objects_ = metrics->GetCounter("sensorpipe_lake_objects_written_total", "Lake objects written.", view);
  bytes_ =
      metrics->GetCounter("sensorpipe_lake_bytes_written_total", "Compressed bytes of lake objects written.", view);
  expired_ = metrics->GetCounter("sensorpipe_delivery_expired_records_total",
                                 "Records deleted by log retention before this view read them (lost to it).", view);
  flush_errors_ = metrics->GetCounter("sensorpipe_delivery_flush_errors_total",
                                      "Failed flushes to the object store (retried; nothing is lost).", view);
}

Delivery::~Delivery() {
  stopping_ = true;
  if (consumer_) consumer_->Wakeup();
  if (thread_.joinable()) thread_.join();
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_));
}

Result<std::unique_ptr<Delivery>> Delivery::Open(Stream* stream, ObjectStore* store, Catalog* catalog, Clock* clock,
                                                 Metrics* metrics, DeliveryOptions options) {
  SP_ASSIGN_OR_RETURN(auto consumer, stream->OpenConsumer(options.consumer_name, StartFrom::kOldest));
  std::unique_ptr<Delivery> d(
      new Delivery(stream, store, catalog, clock, metrics, std::move(options), std::move(consumer)));
  SP_RETURN_IF_ERROR(d->Recover());
  return d;
}

std::string Delivery::ObjectKey(const std::string& prefix, const std::string& partition, const std::string& stream,
                                uint32_t shard, uint64_t first, uint64_t last, const char* format) {
  char name[96];
  std::snprintf(name, sizeof name, "-%04u-%020" PRIu64 "-%020" PRIu64 ".%s", shard, first, last, format);
  return prefix + "/" + partition + "/" + stream + name;
}

Status Delivery::Recover() {
  // The catalog's offsets are the truth: a flush commits them with its objects, and writes the
  // log checkpoint only after, so a crash can leave the checkpoint behind the catalog, never ahead.
  SP_ASSIGN_OR_RETURN(auto offsets, catalog_->DeliveryOffsets(options_.consumer_name));
  const std::vector<uint64_t> committed = consumer_->Committed();
  if (offsets.empty()) {
    for (uint64_t c : committed) {
      if (c > 0) {
        return Status::InvalidArgument(
            "delivery " + options_.consumer_name +
            " has a log checkpoint but no offsets in the catalog (a lake "
            "written before the catalog, or a catalog that was removed): stop the daemon and run `sensorpipe replay "
            "--consumer " +
            options_.consumer_name + " --from oldest` to rebuild this view from the log");
      }
    }
  }
  // Objects no catalog row names belong to a flush whose transaction never committed (a crash
  // between its puts and its catalog commit). They are not deleted: the first flush after the start
  // redoes that flush, buffering exactly the records up to the last one such an object holds per
  // shard, so it puts the same names with the same bytes. An engine that lists the raw folder
  // itself never sees two objects holding one record. An orphan that starts before the catalog's
  // offset (which no flush makes) cannot be redone, and goes.
  SP_ASSIGN_OR_RETURN(std::set<std::string> known, catalog_->KnownPaths(options_.prefix + "/"));
  SP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, store_->List(options_.prefix + "/"));
  const std::string marker = "/" + stream_->name() + "-";
  for (const ObjectInfo& o : objects) {
    const size_t at = o.key.rfind(marker);
    if (known.count(o.key) || at == std::string::npos) continue;
    unsigned shard;
    uint64_t first, last;
    const bool named =
        std::sscanf(o.key.c_str() + at + marker.size(), "%4u-%20" SCNu64 "-%20" SCNu64, &shard, &first, &last) == 3;
    const uint64_t start = named && offsets.count(shard) ? offsets.at(shard) : 0;
    if (named && first >= start) {
      spdlog::info("delivery {}: {} never committed; the next flush writes it again from the log",
                   options_.consumer_name, o.key);
      redo_until_[shard] = std::max(redo_until_[shard], last + 1);
      continue;
    }
    spdlog::info("delivery {}: removing {}, which never committed", options_.consumer_name, o.key);
    SP_RETURN_IF_ERROR(store_->Delete(o.key));
  }
  for (const auto& [shard, next] : offsets) {
    if (shard < committed.size() && committed[shard] != next) SP_RETURN_IF_ERROR(consumer_->Seek(shard, next));
  }
  return Status::OK();
}

int64_t Delivery::BucketOf(int64_t timestamp_us) const {
  const int64_t width = options_.partitioning == DeliveryOptions::kEventHour ? 3'600'000'000 : 86'400'000'000;
  // Floor, also before 1970.
  return (timestamp_us >= 0 ? timestamp_us / width : (timestamp_us - width + 1) / width) * width;
}

std::string Delivery::PartitionName(int64_t bucket_us, uint32_t device) const {
  CivilTime c = ToCivil(bucket_us);
  char buf[32];
  if (options_.partitioning == DeliveryOptions::kEventHour) {
    std::snprintf(buf, sizeof buf, "dt=%04d-%02d-%02d/hour=%02d", c.year, c.month, c.day, c.hour);
  } else {
    std::snprintf(buf, sizeof buf, "dt=%04d-%02d-%02d", c.year, c.month, c.day);
  }
  // Device ids are safe names (docs/format/record.md): fine in a path and an S3 key as they are.
  return device == 0 ? std::string(buf) : std::string(buf) + "/device=" + devices_[device - 1];
}

uint32_t Delivery::DeviceId(std::string_view device) {
  if (!options_.partition_by_device) return 0;
  auto at = device_ids_.find(device);
  if (at != device_ids_.end()) return at->second;
  devices_.emplace_back(device);
  return device_ids_.emplace(devices_.back(), static_cast<uint32_t>(devices_.size())).first->second;
}

void Delivery::Room(size_t bound) {
  // Grown, never shrunk: resizing a string up zero-fills it, megabytes a flush (a tenth of
  // delivery's instructions at P13).
  if (compressed_.size() < bound) compressed_.resize(bound);
}

Status Delivery::Compress(const std::string& lines) {
  if (options_.compression == DeliveryOptions::kZstd) {
    Room(ZSTD_compressBound(lines.size()));
    size_t n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(zstd_), compressed_.data(), compressed_.size(), lines.data(),
                                 lines.size(), options_.zstd_level);
    if (ZSTD_isError(n)) return Status::IOError(std::string("zstd: ") + ZSTD_getErrorName(n));
    compressed_size_ = n;
    return Status::OK();
  }
  // gzip -6, with no name or time in the header, so the same lines always give the same bytes.
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return Status::IOError("zlib: init");
  Room(deflateBound(&z, lines.size()));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(lines.data()));
  z.avail_in = static_cast<uInt>(lines.size());
  z.next_out = reinterpret_cast<Bytef*>(compressed_.data());
  z.avail_out = static_cast<uInt>(compressed_.size());
  const int rc = deflate(&z, Z_FINISH);
  compressed_size_ = z.total_out;
  deflateEnd(&z);
  return rc == Z_STREAM_END ? Status::OK() : Status::IOError("zlib: deflate failed");
}

int64_t Delivery::FlushAgeUs() const {
  // A record must be in an object within interval_s of reaching the log, and writing and
  // committing the objects takes time too: flush that much earlier (a tenth, at most 1 s).
  const int64_t interval = int64_t{options_.interval_s} * 1'000'000;
  return interval - std::min<int64_t>(interval / 10, 1'000'000);
}

bool Delivery::FlushDue() const {
  if (buffered_bytes_ == 0) return false;
  return buffered_bytes_ >= options_.size_hint_bytes || clock_->MonotonicMicros() - oldest_us_ >= FlushAgeUs();
}

Status Delivery::RunOnce(std::chrono::milliseconds wait) {
  size_t polled;
  return RunOnce(wait, &polled);
}

Status Delivery::SkipExpired(const Status& why) {
  // Retention deleted records this view had not read: they can never reach the lake. Say so
  // loudly, count them, and go on from the oldest record still there rather than stall forever.
  const auto positions = consumer_->Positions();
  for (const ShardStats& s : stream_->Stats()) {
    if (s.shard < positions.size() && positions[s.shard] < s.oldest_offset) {
      const uint64_t lost = s.oldest_offset - positions[s.shard];
      expired_->Inc(lost);
      spdlog::error(
          "delivery {}: {} records of shard {} expired from the log before delivery ({}); going on at "
          "offset {}",
          options_.consumer_name, lost, s.shard, why.message(), s.oldest_offset);
      SP_RETURN_IF_ERROR(consumer_->Seek(s.shard, s.oldest_offset));
      next_offsets_[s.shard] = s.oldest_offset;
    }
  }
  return Status::OK();
}

Status Delivery::RunOnce(std::chrono::milliseconds wait, size_t* polled) {
  *polled = 0;
  if (buffered_bytes_ > 0) {
    // Wake up when the oldest buffered record is due, not up to `wait` later.
    const int64_t until_due_us = oldest_us_ + FlushAgeUs() - clock_->MonotonicMicros();
    wait = std::min(wait, std::chrono::milliseconds(std::max<int64_t>(0, until_due_us / 1000)));
  }
  auto polled_records = consumer_->Poll(options_.poll_records, wait);
  if (!polled_records.ok() && polled_records.status().IsOutOfRange()) {
    SP_RETURN_IF_ERROR(SkipExpired(polled_records.status()));
    *polled = 1;  // progress was made: a draining Stop goes on
    return Status::OK();
  }
  SP_ASSIGN_OR_RETURN(std::span<StoredRecord> records, polled_records);
  *polled = records.size();
  for (const StoredRecord& r : records) {
    auto redo = redo_until_.find(r.shard);
    if (redo != redo_until_.end() && r.offset >= redo->second) {
      held_.push_back(OwnedRecord::From(r));  // after the redone flush; the next Poll reuses r's bytes
      continue;
    }
    Add(r);
  }
  if (redo_until_.empty()) return FlushDue() ? Flush() : Status::OK();
  // Redoing a flush that never committed: flush when, and only when, every shard it covered has
  // reached the last record its objects held, so the objects come out as they were.
  for (const auto& [shard, until] : redo_until_) {
    if (next_offsets_[shard] < until) return Status::OK();
  }
  SP_RETURN_IF_ERROR(Flush());
  redo_until_.clear();
  for (const OwnedRecord& r : held_) Add(r.view());
  held_.clear();
  return FlushDue() ? Flush() : Status::OK();
}

void Delivery::Add(const StoredRecord& r) {
  if (buffered_bytes_ == 0) oldest_us_ = clock_->MonotonicMicros();
  auto [at, added] = buffers_.try_emplace({BucketOf(r.timestamp_us), DeviceId(r.key), r.shard});
  Buffer& b = at->second;
  if (added && !spare_lines_.empty()) {
    b.lines = std::move(spare_lines_.back());
    spare_lines_.pop_back();
  }
  if (b.records == 0) {
    b.first = r.offset;
    b.min_ts = b.max_ts = r.timestamp_us;
  }
  b.last = r.offset;
  b.min_ts = std::min(b.min_ts, r.timestamp_us);
  b.max_ts = std::max(b.max_ts, r.timestamp_us);
  ++b.records;
  b.lines += r.value;
  b.lines += '\n';
  buffered_bytes_ += r.value.size() + 1;
  next_offsets_[r.shard] = r.offset + 1;
}

Status Delivery::Flush() {
  if (buffers_.empty()) return Status::OK();
  const char* format = options_.compression == DeliveryOptions::kZstd ? "ndjson.zst" : "ndjson.gz";
  uint64_t records = 0;
  std::vector<DataFile> files;
  for (const auto& [where, b] : buffers_) {
    const auto [bucket, device, shard] = where;
    SP_RETURN_IF_ERROR(Compress(b.lines));
    DataFile& f = files.emplace_back();
    f.view = stream_->name();
    f.partition = PartitionName(bucket, device);
    f.path = ObjectKey(options_.prefix, f.partition, stream_->name(), shard, b.first, b.last, format);
    f.format = format;
    f.records = b.records;
    f.bytes = compressed_size_;
    f.min_ts = b.min_ts;
    f.max_ts = b.max_ts;
    f.offsets = {{shard, b.first, b.last}};
    // Rewriting an object that exists (after a failed flush) gives the same name and bytes.
    Status s = store_->Put(f.path, std::string_view(compressed_.data(), compressed_size_));
    if (!s.ok()) {
      flush_errors_->Inc();
      return s.WithContext("delivery " + options_.consumer_name);
    }
    SP_CRASH_POINT("delivery.after_put");
    objects_->Inc();
    bytes_->Inc(compressed_size_);
    records += b.records;
  }
  // Only now, with every object durable, may the offsets move past their records: in the catalog
  // first, with the objects, then in the log's checkpoint, which follows the catalog.
  Status s = catalog_->CommitDelivery(options_.consumer_name, files, next_offsets_);
  if (!s.ok()) {
    flush_errors_->Inc();
    return s.WithContext("delivery " + options_.consumer_name);
  }
  SP_CRASH_POINT("delivery.after_catalog");
  // The flush is done. A checkpoint that fails to write is only behind: the next flush writes it,
  // and a start takes the catalog's offsets anyway.
  s = consumer_->Commit(std::vector<std::pair<uint32_t, uint64_t>>(next_offsets_.begin(), next_offsets_.end()));
  if (!s.ok()) spdlog::warn("delivery {}: log checkpoint: {}", options_.consumer_name, s.ToString());
  if (on_commit_) on_commit_();
  delivered_->Inc(records);
  for (auto& [where, b] : buffers_) {
    b.lines.clear();
    spare_lines_.push_back(std::move(b.lines));
  }
  buffers_.clear();
  buffered_bytes_ = 0;
  oldest_us_ = 0;
  return Status::OK();
}

Status Delivery::Start() {
  thread_ = std::thread([this] {
    NameThisThread("sp-delivery");
    Loop();
  });
  return Status::OK();
}

void Delivery::Loop() {
  auto backoff = std::chrono::milliseconds(100);
  while (!stopping_) {
    Status s = RunOnce(std::chrono::milliseconds(200));
    if (s.ok()) {
      backoff = std::chrono::milliseconds(100);
      continue;
    }
    // The buffers and the checkpoint stay as they were, so nothing is lost; try again later.
    spdlog::error("{}; retrying in {} ms", s.ToString(), backoff.count());
    for (auto t = std::chrono::milliseconds(0); t < backoff && !stopping_; t += std::chrono::milliseconds(20)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
  }
}

Status Delivery::Stop() {
  stopping_ = true;
  consumer_->Wakeup();
  if (thread_.joinable()) thread_.join();
  // Drain what the producers appended before they stopped, then write it all.
  size_t polled = 1;
  while (polled > 0) SP_RETURN_IF_ERROR(RunOnce(std::chrono::milliseconds(0), &polled));
  return Flush();
}

}  // namespace sp
