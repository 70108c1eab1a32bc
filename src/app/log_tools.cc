#include "app/log_tools.h"

#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <span>
#include <thread>

#include "app/daemon.h"
#include "app/lake.h"
#include "common/json_writer.h"
#include "common/metrics.h"
#include "common/time.h"
#include "common/timestamp.h"
#include "log/file_log.h"
#include "rollup/feeder.h"

namespace sp {

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "sensorpipe: %s\n", std::string(s.message()).c_str());
  return 1;
}

// Where the log is and how it syncs, nothing more: a tool neither rolls segments by age nor applies
// retention, which stay the daemon's.
Result<std::unique_ptr<Log>> OpenLog(const DaemonConfig& config, bool read_only, Metrics* metrics) {
  FileLogOptions o;
  o.dir = config.log.dir;
  o.shards = config.log.shards;
  o.fsync = config.log.fsync;
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
  return Status::InvalidArgument(
      "--from takes oldest, latest, OFFSET, after:OFFSET or a time like \"2022-07-13 15:00:00\" "
      "(UTC) or \"2022-07-14T00:00:00+09:00\", not '" +
      from + "'");
}

std::atomic<bool> g_interrupted{false};

// One shard's records from a position to the end of the log as opened, in offset order, through a
// consumer of its own (its other shards parked at their end): a consumer's records are valid only
// until its next Poll, so merging shards record by record needs one per shard.
class ShardCursor {
 public:
  static Result<ShardCursor> Open(Stream* stream, uint32_t shard, uint64_t from) {
    ShardCursor c;
    // Never committed: the tools leave no checkpoint behind.
    SP_ASSIGN_OR_RETURN(c.consumer_,
                        stream->OpenConsumer("sensorpipe-log-tail-" + std::to_string(shard), StartFrom::kLatest));
    SP_RETURN_IF_ERROR(c.consumer_->Seek(shard, from));
    SP_RETURN_IF_ERROR(c.Fill());
    return c;
  }
  //! The next record, or nullptr at the end.
  const StoredRecord* Peek() const { return next_ < records_.size() ? &records_[next_] : nullptr; }
  Status Advance() { return ++next_ < records_.size() ? Status::OK() : Fill(); }

 private:
  Status Fill() {
    next_ = 0;
    SP_ASSIGN_OR_RETURN(records_, consumer_->Poll(1000, std::chrono::milliseconds(0)));
    return Status::OK();
  }
  std::unique_ptr<Consumer> consumer_;
  std::span<StoredRecord> records_;
  size_t next_ = 0;
};

// True when a comes before b in the order the tools print: by event time, a tie to the lower shard.
bool Before(const StoredRecord& a, const StoredRecord& b) {
  return a.timestamp_us != b.timestamp_us ? a.timestamp_us < b.timestamp_us : a.shard < b.shard;
}

void PrintRecord(const std::string& stream, const StoredRecord& r, std::string& line) {
  line.clear();
  line += "{\"stream\":";
  AppendJsonString(line, stream);
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
}

// Prints the records of `shards` from positions[shard] to the end of the log as opened, merged in
// Before order with each shard in offset order, and moves positions past them. Stops early when
// `left` (if set) reaches 0, or on an interrupt.
Status PrintMerged(Stream* stream, const std::string& name, const std::vector<uint32_t>& shards,
                   std::vector<uint64_t>& positions, std::optional<int64_t>& left) {
  std::vector<ShardCursor> cursors;
  for (uint32_t shard : shards) {
    SP_ASSIGN_OR_RETURN(ShardCursor c, ShardCursor::Open(stream, shard, positions[shard]));
    if (c.Peek() != nullptr) cursors.push_back(std::move(c));
  }
  std::string line;
  while (!cursors.empty() && left != 0 && !g_interrupted) {
    auto first = std::min_element(cursors.begin(), cursors.end(), [](const ShardCursor& a, const ShardCursor& b) {
      return Before(*a.Peek(), *b.Peek());
    });
    const StoredRecord& r = *first->Peek();
    PrintRecord(name, r, line);
    positions[r.shard] = r.offset + 1;
    if (left) --*left;
    SP_RETURN_IF_ERROR(first->Advance());
    if (first->Peek() == nullptr) cursors.erase(first);
  }
  return Status::OK();
}

// Moves positions (the shards' ends) back so that PrintMerged prints the stream's last n records:
// walking back from the ends, the record latest in Before order goes first, which keeps each
// shard in offset order. Reads no more than the last n records of each shard.
Status MoveBackBy(Stream* stream, const std::vector<ShardStats>& stats, const std::vector<uint32_t>& shards, int64_t n,
                  std::vector<uint64_t>& positions) {
  struct Tail {
    uint32_t shard;
    uint64_t from;
    std::vector<int64_t> times;  // event times of the records from `from` to the end
  };
  std::vector<Tail> tails;
  for (uint32_t shard : shards) {
    const ShardStats& s = stats[shard];
    Tail t{shard, s.end_offset - std::min<uint64_t>(static_cast<uint64_t>(n), s.end_offset - s.oldest_offset), {}};
    SP_ASSIGN_OR_RETURN(ShardCursor c, ShardCursor::Open(stream, shard, t.from));
    while (c.Peek() != nullptr) {
      t.times.push_back(c.Peek()->timestamp_us);
      SP_RETURN_IF_ERROR(c.Advance());
    }
    tails.push_back(std::move(t));
  }
  for (int64_t i = 0; i < n; ++i) {
    Tail* last = nullptr;
    for (Tail& t : tails) {
      if (t.times.empty()) continue;
      if (last == nullptr || t.times.back() > last->times.back() ||
          (t.times.back() == last->times.back() && t.shard > last->shard)) {
        last = &t;
      }
    }
    if (last == nullptr) break;
    last->times.pop_back();
  }
  for (const Tail& t : tails) positions[t.shard] = t.from + t.times.size();
  return Status::OK();
}

}  // namespace

int LogStat(const DaemonConfig& config) {
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
      std::printf("  consumer %-20s lag %llu records (next offsets %s)%s\n", c.name.c_str(),
                  static_cast<unsigned long long>(lag), next.c_str(),
                  c.name == kRollupConsumer ? "; the dashboard's rollup: in memory, rebuilt from the lake at each "
                                              "start, its position saved every few seconds"
                                            : "");
    }
  }
  return 0;
}

int LogTail(const DaemonConfig& config, const TailOptions& options) {
  signal(SIGINT, [](int) { g_interrupted = true; });
  signal(SIGTERM, [](int) { g_interrupted = true; });
  // Without --from, as tail(1): the last -n records, or all of them. From latest: the last -n, or
  // none (Kafka's LATEST: with -f, only what comes next). -n after any other start is a limit.
  const std::string start = options.from.empty() ? (options.limit ? "latest" : "oldest") : options.from;
  const bool from_end = start == "latest";
  std::optional<int64_t> left = from_end ? std::nullopt : options.limit;
  std::vector<uint32_t> shards;
  std::vector<uint64_t> positions;
  while (true) {
    // A fresh read-only look each round: the daemon keeps appending in its own process.
    Metrics metrics;
    auto log = OpenLog(config, /*read_only=*/true, &metrics);
    if (!log.ok()) return Fail(log.status());
    auto stream = (*log)->OpenStream(options.stream);
    if (!stream.ok()) return Fail(stream.status());
    const auto stats = (*stream)->Stats();
    if (shards.empty()) {
      if (options.shard && *options.shard >= stats.size()) {
        return Fail(
            Status::InvalidArgument("stream " + options.stream + " has " + std::to_string(stats.size()) + " shards"));
      }
      for (const ShardStats& s : stats) {
        if (!options.shard || *options.shard == s.shard) shards.push_back(s.shard);
        auto p = Position(start, *stream, s);
        if (!p.ok()) return Fail(p.status());
        positions.push_back(*p);
      }
      if (from_end && options.limit) {
        if (Status s = MoveBackBy(*stream, stats, shards, *options.limit, positions); !s.ok()) return Fail(s);
      }
    }
    Status printed = PrintMerged(*stream, options.stream, shards, positions, left);
    std::fflush(stdout);
    if (!printed.ok()) return Fail(printed);
    if (!options.follow || g_interrupted || left == 0) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int Replay(const DaemonConfig& config, const std::string& stream_name, const std::string& consumer_name,
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
  if (std::none_of(consumers->begin(), consumers->end(),
                   [&](const ConsumerInfo& c) { return c.name == consumer_name; })) {
    return Fail(Status::NotFound("stream " + stream_name + " has no consumer " + consumer_name));
  }
  if (consumer_name == kRollupConsumer) {
    return Fail(
        Status::InvalidArgument("the rollup is rebuilt from the lake and the log at every start of the daemon: "
                                "there is nothing to replay"));
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
    auto compacting = FileLock::Acquire(config.compaction.lock_path, /*wait=*/true);
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
