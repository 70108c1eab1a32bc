#include "app/log_tools.h"

#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <thread>

#include "app/daemon.h"
#include "app/lake.h"
#include "common/json_writer.h"
#include "common/metrics.h"
#include "common/time.h"
#include "log/file_log.h"
#include "rules/timestamp.h"

namespace sp {

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "sensorpipe: %s\n", std::string(s.message()).c_str());
  return 1;
}

Result<std::unique_ptr<Log>> OpenLog(const Config& config, bool read_only, Metrics* metrics) {
  FileLogOptions o;
  o.dir = config.LogDir();
  o.shards = static_cast<uint32_t>(config.log.shards);
  o.fsync = config.log.fsync_policy;
  o.read_only = read_only;
  return OpenFileLog(Env::Default(), Clock::Default(), metrics, o);
}

// "oldest", "latest", an offset (or after:OFFSET), or a time ("2022-07-13 15:00:00" in UTC, or ISO 8601 with an
// offset): the position to start from in one shard (Kinesis's TRIM_HORIZON, LATEST,
// AT_SEQUENCE_NUMBER and AT_TIMESTAMP).
Result<uint64_t> Position(const std::string& from, Stream* stream, const ShardStats& s) {
  if (from == "oldest") return s.oldest_offset;
  if (from == "latest") return s.end_offset;
  // OFFSET is AT_SEQUENCE_NUMBER; after:OFFSET is AFTER_SEQUENCE_NUMBER.
  const bool after = from.rfind("after:", 0) == 0;
  const std::string digits = after ? from.substr(6) : from;
  uint64_t offset = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), offset);
  if (ec == std::errc() && end == digits.data() + digits.size() && !digits.empty()) {
    return std::clamp(offset + (after ? 1 : 0), s.oldest_offset, s.end_offset);
  }
  static const auto utc = TimestampParser::Create("UTC");
  int64_t ts;
  if (utc.ok() && utc->ParseText(from, &ts)) {
    SP_ASSIGN_OR_RETURN(uint64_t at, stream->OffsetForTime(s.shard, ts));
    return std::clamp(at, s.oldest_offset, s.end_offset);
  }
  return Status::InvalidArgument("--from takes oldest, latest, OFFSET, after:OFFSET or a time like \"2022-07-13 15:00:00\" "
                                 "(UTC) or \"2022-07-14T00:00:00+09:00\", not '" + from + "'");
}

std::atomic<bool> g_interrupted{false};

}  // namespace

int LogStat(const Config& config) {
  Metrics metrics;
  auto log = OpenLog(config, /*read_only=*/true, &metrics);
  if (!log.ok()) return Fail(log.status());
  auto names = (*log)->ListStreams();
  if (!names.ok()) return Fail(names.status());
  for (const auto& name : *names) {
    auto stream = (*log)->OpenStream(name);
    if (!stream.ok()) return Fail(stream.status());
    const auto stats = (*stream)->Stats();
    uint64_t records = 0, bytes = 0;
    for (const auto& s : stats) records += s.end_offset - s.oldest_offset, bytes += s.bytes;
    std::printf("stream %s: %zu shard%s, %llu records, %llu bytes\n", name.c_str(), stats.size(),
                stats.size() == 1 ? "" : "s", static_cast<unsigned long long>(records),
                static_cast<unsigned long long>(bytes));
    std::printf("  %5s %14s %14s %9s %14s\n", "shard", "oldest", "end", "segments", "bytes");
    for (const auto& s : stats) {
      std::printf("  %5u %14llu %14llu %9llu %14llu\n", s.shard, static_cast<unsigned long long>(s.oldest_offset),
                  static_cast<unsigned long long>(s.end_offset), static_cast<unsigned long long>(s.segments),
                  static_cast<unsigned long long>(s.bytes));
    }
    auto consumers = (*stream)->Consumers();
    if (!consumers.ok()) return Fail(consumers.status());
    for (const auto& c : *consumers) {
      uint64_t lag = 0;
      std::string next;
      for (size_t i = 0; i < c.committed.size() && i < stats.size(); ++i) {
        if (stats[i].end_offset > c.committed[i]) lag += stats[i].end_offset - c.committed[i];
        next += (i ? "," : "") + std::to_string(c.committed[i]);
      }
      std::printf("  consumer %-20s lag %llu records (next offsets %s)\n", c.name.c_str(),
                  static_cast<unsigned long long>(lag), next.c_str());
    }
  }
  return 0;
}

int LogTail(const Config& config, const TailOptions& options) {
  signal(SIGINT, [](int) { g_interrupted = true; });
  signal(SIGTERM, [](int) { g_interrupted = true; });
  std::vector<uint64_t> positions;
  int64_t printed = 0;
  std::string line;
  while (true) {
    // A fresh read-only look each round: the daemon keeps appending in its own process.
    Metrics metrics;
    auto log = OpenLog(config, /*read_only=*/true, &metrics);
    if (!log.ok()) return Fail(log.status());
    auto stream = (*log)->OpenStream(options.stream);
    if (!stream.ok()) return Fail(stream.status());
    const auto stats = (*stream)->Stats();
    if (options.shard && *options.shard >= stats.size()) {
      return Fail(Status::InvalidArgument("stream " + options.stream + " has " + std::to_string(stats.size()) + " shards"));
    }
    if (positions.empty()) {
      for (const auto& s : stats) {
        auto p = Position(options.from, *stream, s);
        if (!p.ok()) return Fail(p.status());
        positions.push_back(*p);
      }
    }
    auto consumer = (*stream)->OpenConsumer("sensorpipe-log-tail", StartFrom::kOldest);  // never committed
    if (!consumer.ok()) return Fail(consumer.status());
    for (uint32_t i = 0; i < stats.size(); ++i) {
      // Shards not asked for are parked at their end.
      (void)(*consumer)->Seek(i, options.shard && *options.shard != i ? stats[i].end_offset : positions[i]);
    }
    while (!g_interrupted) {
      auto records = (*consumer)->Poll(1000, std::chrono::milliseconds(0));
      if (!records.ok()) return Fail(records.status());
      if (records->empty()) break;
      for (const StoredRecord& r : *records) {
        if (options.shard && r.shard != *options.shard) continue;
        line.clear();
        line += "{\"stream\":";
        AppendJsonString(line, options.stream);
        line += ",\"shard\":" + std::to_string(r.shard) + ",\"offset\":" + std::to_string(r.offset) + ",\"timestamp\":\"";
        line += FormatTimestamp(r.timestamp_us);
        line += "\",\"key\":";
        AppendJsonString(line, r.key);
        line += ",\"value\":";
        // The streams sensorpipe writes hold JSON objects; anything else is shown as a string.
        if (!r.value.empty() && r.value.front() == '{' && r.value.back() == '}') {
          line += r.value;
        } else {
          AppendJsonString(line, r.value);
        }
        line += "}\n";
        std::fwrite(line.data(), 1, line.size(), stdout);
        positions[r.shard] = r.offset + 1;
        if (options.limit > 0 && ++printed >= options.limit) return 0;
      }
    }
    std::fflush(stdout);
    if (!options.follow || g_interrupted) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int Replay(const Config& config, const std::string& stream_name, const std::string& consumer_name,
           const std::string& from) {
  // The daemon must not run: it holds the consumer open and would overwrite the checkpoint.
  auto lock = LockDataDir(config.data_dir);
  if (!lock.ok()) return Fail(lock.status().WithContext("stop the daemon before a replay"));
  Metrics metrics;
  auto log = OpenLog(config, /*read_only=*/false, &metrics);
  if (!log.ok()) return Fail(log.status());
  auto names = (*log)->ListStreams();
  if (!names.ok()) return Fail(names.status());
  if (std::find(names->begin(), names->end(), stream_name) == names->end()) {
    return Fail(Status::NotFound("no stream " + stream_name));
  }
  auto stream = (*log)->OpenStream(stream_name);
  if (!stream.ok()) return Fail(stream.status());
  auto consumers = (*stream)->Consumers();
  if (!consumers.ok()) return Fail(consumers.status());
  if (std::none_of(consumers->begin(), consumers->end(), [&](const ConsumerInfo& c) { return c.name == consumer_name; })) {
    return Fail(Status::NotFound("stream " + stream_name + " has no consumer " + consumer_name));
  }
  auto consumer = (*stream)->OpenConsumer(consumer_name, StartFrom::kOldest);
  if (!consumer.ok()) return Fail(consumer.status());
  std::vector<uint64_t> positions, oldest;
  for (const auto& s : (*stream)->Stats()) {
    auto p = Position(from, *stream, s);
    if (!p.ok()) return Fail(p.status());
    positions.push_back(*p);
    oldest.push_back(s.oldest_offset);
  }
  if (consumer_name.rfind("lake-", 0) == 0) {
    // A lake view: the catalog holds its offsets and files; rewinding ends the files that hold
    // records to be delivered again, which may move the start further back.
    auto compacting = FileLock::Acquire(CompactorOptionsFrom(config).lock_path, /*wait=*/true);
    if (!compacting.ok()) return Fail(compacting.status());
    auto lake = OpenLake(config, Clock::Default());
    if (!lake.ok()) return Fail(lake.status());
    auto rewound = RewindView(lake->catalog.get(), lake->store.get(), consumer_name, stream_name, positions, oldest);
    if (!rewound.ok()) return Fail(rewound.status());
    positions = rewound->resume;
    std::printf("%zu lake files holding records from there on were removed; they are rewritten from the log\n",
                rewound->files_removed);
  }
  std::vector<std::pair<uint32_t, uint64_t>> next;
  for (uint32_t shard = 0; shard < positions.size(); ++shard) next.emplace_back(shard, positions[shard]);
  if (Status s = (*consumer)->Commit(next); !s.ok()) return Fail(s);
  std::string list;
  for (auto [shard, offset] : next) list += (list.empty() ? "" : ",") + std::to_string(offset);
  std::printf("consumer %s of %s now starts at offsets %s; the view is rebuilt from there when the daemon starts\n",
              consumer_name.c_str(), stream_name.c_str(), list.c_str());
  return 0;
}

}  // namespace sp
