#include "rollup/feeder.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <thread>
#include <utility>

#include "common/thread_name.h"
#include "common/timestamp.h"
#include "rules/reading.h"

namespace sp {

namespace {

constexpr const char* kBucketsMetric = "sensorpipe_rollup_buckets";
constexpr size_t kLingerBelow = 1024;  // records per poll under which the feeder lingers
// How often the position is saved for `sensorpipe log stat`.
constexpr auto kSaveEvery = std::chrono::seconds(5);

// A readings record (docs/format/record.md) as the rollup needs it; false when the line is not
// one (never expected: ingest wrote it).
bool ParseReading(simdjson::ondemand::parser& parser, const TimestampParser& utc, const StoredRecord& record,
                  std::string* padded, RollupReading* out) {
  out->device = record.key;
  out->ts_us = record.timestamp_us;
  // The writer's own compact form first, cheaper than a JSON parser, which was most of the
  // rollup's share of ingest's CPU.
  if (ReadingLineFields f; ParseReadingLine(record.value, &f)) {
    out->received_us = f.received_at_us;
    out->seq = f.seq;
    out->values = f.numbers;
    return true;
  }
  // simdjson reads a few bytes past the end: a copy into one reused buffer with that room costs
  // less than growing each record's own string (a reallocation per reading).
  padded->assign(record.value);
  padded->reserve(record.value.size() + simdjson::SIMDJSON_PADDING);
  simdjson::padded_string_view json(padded->data(), padded->size(), padded->capacity());
  simdjson::ondemand::document doc;
  if (parser.iterate(json).get(doc) != simdjson::SUCCESS) return false;
  simdjson::ondemand::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return false;
  out->received_us = 0;
  out->seq.reset();
  out->values.fill(std::nullopt);
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
    if (key == kReadingColumns[kReceivedAtColumn].name) {
      std::string_view text;
      if (field.value().get_string().get(text) != simdjson::SUCCESS || !utc.ParseText(text, &out->received_us)) {
        return false;
      }
    } else if (key == kReadingColumns[kSeqColumn].name) {
      int64_t seq;
      if (field.value().get_int64().get(seq) == simdjson::SUCCESS) out->seq = seq;
    } else {
      for (size_t i = 0; i < kMetricCount; ++i) {
        if (key != kMetricNames[i]) continue;
        double v;
        if (field.value().get_double().get(v) == simdjson::SUCCESS) out->values[i] = v;
        break;
      }
    }
  }
  return true;
}

}  // namespace

RollupFeeder::RollupFeeder(Rollup* rollup, Rollup::Options options, LakeAggregates* lake, Stream* readings,
                           OffsetsFn lake_offsets, Metrics* metrics)
    : rollup_(rollup),
      options_(options),
      lake_(lake),
      readings_(readings),
      lake_offsets_(std::move(lake_offsets)),
      metrics_(metrics),
      taken_(metrics->GetCounter("sensorpipe_rollup_records_total", "Readings the rollup took in from the log.")),
      lost_(metrics->GetCounter("sensorpipe_rollup_lost_records_total",
                                "Log records retention deleted before the rollup read them.")),
      duplicates_(
          metrics->GetCounter("sensorpipe_rollup_duplicates_total", "Redelivered readings the rollup counted once.")),
      loaded_(metrics->GetGauge("sensorpipe_rollup_loaded", "1 once the rollup is rebuilt from the lake.")) {
  metrics->SetGaugeCallback(kBucketsMetric, "Per-device buckets the rollup holds, by tier.", [rollup] {
    return std::vector<std::pair<Labels, double>>{
        {{{"tier", "minute"}}, static_cast<double>(rollup->BucketCount(Rollup::Tier::kMinute))},
        {{{"tier", "hour"}}, static_cast<double>(rollup->BucketCount(Rollup::Tier::kHour))}};
  });
}

RollupFeeder::~RollupFeeder() {
  Stop();
  metrics_->RemoveCallback(kBucketsMetric);
}

Status RollupFeeder::Start() {
  SP_ASSIGN_OR_RETURN(consumer_, readings_->OpenConsumer(kRollupConsumer, StartFrom::kOldest));
  thread_ = std::thread([this] {
    NameThisThread("sp-rollup");
    Run();
  });
  return Status::OK();
}

void RollupFeeder::Stop() {
  stop_ = true;
  if (consumer_) consumer_->Wakeup();
  if (thread_.joinable()) thread_.join();
}

void RollupFeeder::Run() {
  while (!stop_) {
    Status s = Load();
    if (s.ok()) s = Follow();
    if (stop_) break;
    // The lake or the log failed: rebuild from scratch after a pause (the rollup keeps answering
    // meanwhile with what it has).
    spdlog::warn("rollup: {}; rebuilding in 5 s", s.ToString());
    for (int i = 0; i < 50 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Status RollupFeeder::Load() {
  // The lake's rows and the offsets they end at must be of one instant. Delivery commits files
  // and offsets in one transaction, so equal offsets before and after the reads mean no delivery
  // commit happened in between (compaction only rewrites the same rows).
  const auto started = std::chrono::steady_clock::now();
  std::map<uint32_t, uint64_t> offsets;
  Rollup::Snapshot snapshot;
  for (int attempt = 1;; ++attempt) {
    SP_ASSIGN_OR_RETURN(offsets, lake_offsets_());
    SP_ASSIGN_OR_RETURN(snapshot, lake_->Snapshot(options_));
    SP_ASSIGN_OR_RETURN(auto after, lake_offsets_());
    if (after == offsets) break;
    if (stop_) return Status::Aborted("stopping");
    spdlog::info("rollup: delivery committed while the lake was read (attempt {}); reading again", attempt);
  }
  for (const ShardStats& shard : readings_->Stats()) {
    auto it = offsets.find(shard.shard);
    SP_RETURN_IF_ERROR(consumer_->Seek(shard.shard, it == offsets.end() ? shard.oldest_offset : it->second));
  }
  size_t buckets = 0;
  for (const auto& [d, b] : snapshot.minutes) buckets += b.size();
  const size_t devices = snapshot.devices.size();
  rollup_->Load(std::move(snapshot));
  loaded_->Set(1);
  spdlog::info("rollup: loaded {} devices and {} minute buckets from the lake in {} ms", devices, buckets,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                   .count());
  return Status::OK();
}

Status RollupFeeder::Follow() {
  SP_ASSIGN_OR_RETURN(TimestampParser utc, TimestampParser::Create("UTC"));
  simdjson::ondemand::parser parser;
  std::vector<RollupReading> batch;
  std::string padded;
  // The rollup resumes from the lake's offsets at every start, never from a checkpoint, but saves
  // its position in one all the same: `sensorpipe log stat`, another process, lists every consumer
  // with its lag from the checkpoints, as Kafka's consumer groups are listed from their commits.
  // The first save is unconditional, so that the rollup is listed as soon as it follows the log.
  std::chrono::steady_clock::time_point saved_at;
  bool saved = false;
  auto save_position = [&] {
    saved_at = std::chrono::steady_clock::now();
    const std::vector<uint64_t> positions = consumer_->Positions();
    if (std::exchange(saved, true) && positions == consumer_->Committed()) return;
    std::vector<std::pair<uint32_t, uint64_t>> next;
    for (uint32_t shard = 0; shard < positions.size(); ++shard) next.emplace_back(shard, positions[shard]);
    if (Status s = consumer_->Commit(next); !s.ok()) spdlog::warn("rollup: saving its position: {}", s.ToString());
  };
  while (!stop_) {
    if (std::chrono::steady_clock::now() - saved_at >= kSaveEvery) save_position();
    auto polled = consumer_->Poll(4096, std::chrono::milliseconds(500));
    if (!polled.ok() && polled.status().code() == Status::Code::kOutOfRange) {
      // Retention deleted records before they were read: skip to what is left, and say how many.
      const std::vector<uint64_t> positions = consumer_->Positions();
      for (const ShardStats& shard : readings_->Stats()) {
        if (shard.shard < positions.size() && positions[shard.shard] < shard.oldest_offset) {
          lost_->Inc(shard.oldest_offset - positions[shard.shard]);
          SP_RETURN_IF_ERROR(consumer_->Seek(shard.shard, shard.oldest_offset));
        }
      }
      continue;
    }
    SP_RETURN_IF_ERROR(polled.status());
    batch.resize(polled->size());
    size_t n = 0;
    for (const StoredRecord& record : *polled) {
      if (ParseReading(parser, utc, record, &padded, &batch[n])) ++n;
    }
    batch.resize(n);
    if (n > 0) duplicates_->Inc(rollup_->Add(batch));
    taken_->Inc(n);
    // A trickle is let gather for a moment: at ingest's pace every group commit would wake the
    // rollup for a few records, and the work per wake-up (the lock, the change for live panels)
    // cost more than the records. 100 ms is nothing to a panel that refreshes each second.
    if (polled->size() > 0 && polled->size() < kLingerBelow && !stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  save_position();
  return Status::OK();
}

}  // namespace sp
