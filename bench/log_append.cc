// P5: log appends of 100-byte records with group commit under fsync = "batch", with one shard
// and with four, against B-SYNC (append + fdatasync of 64 KiB blocks, the disk's durable write
// bandwidth) on the same disk, alternating A B A B ... Prints medians and the ratio.
// Usage: log_append_bench DIR [ROUNDS=5] [SECONDS_PER_ROUND=3]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "log/file_log.h"
#include "median.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// B-SYNC: 64 KiB writes, each followed by fdatasync. Returns bytes per second.
double BaselineSync(const std::string& dir, double seconds) {
  const std::string path = dir + "/bsync.dat";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string block(64 << 10, 'x');
  uint64_t bytes = 0;
  const auto start = Clock::now();
  while (Seconds(start, Clock::now()) < seconds) {
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0) break;
    bytes += block.size();
  }
  const double rate = bytes / Seconds(start, Clock::now());
  ::close(fd);
  std::filesystem::remove(path);
  return rate;
}

// sensorpipe: `producers` threads append batches of `batch` 100-byte records. Returns records/s.
double LogAppend(const std::string& dir, uint32_t shards, int producers, int batch, double seconds) {
  std::filesystem::remove_all(dir + "/log");
  sp::Metrics metrics;
  sp::FileLogOptions o;
  o.dir = dir + "/log";
  o.shards = shards;
  auto log = sp::OpenFileLog(sp::Env::Default(), sp::Clock::Default(), &metrics, o).value();
  sp::Stream* stream = log->OpenStream("bench").value();
  std::atomic<uint64_t> records{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      std::vector<sp::Record> recs(batch);
      for (int i = 0; i < batch; ++i) {
        recs[i].key = "device-" + std::to_string((p * batch + i) % 1000);
        recs[i].value = std::string(100 - recs[i].key.size(), 'v');  // 100 bytes of key and value
        recs[i].timestamp_us = i;
      }
      while (!stop) {
        if (!stream->Append(recs).ok()) return;
        records += recs.size();
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double rate = records / Seconds(start, Clock::now());
  log.reset();
  std::filesystem::remove_all(dir + "/log");
  return rate;
}

// Fills a one-shard log with `records` 100-byte records for the read phase.
std::unique_ptr<sp::Log> FillLog(const std::string& dir, sp::Metrics* metrics, int records) {
  std::filesystem::remove_all(dir + "/read");
  sp::FileLogOptions o;
  o.dir = dir + "/read";
  o.shards = 1;
  o.fsync.kind = sp::FsyncPolicy::Kind::kNone;  // the read phase measures reads
  auto log = sp::OpenFileLog(sp::Env::Default(), sp::Clock::Default(), metrics, o).value();
  sp::Stream* stream = log->OpenStream("bench").value();
  std::vector<sp::Record> recs(1000, sp::Record{"device-1", 0, std::string(92, 'v')});
  for (int i = 0; i < records; i += 1000) (void)stream->Append(recs);
  return log;
}

// Baseline for reads: read(2) of the same segment files in 1 MiB chunks. Returns bytes/s.
double RawRead(const std::string& dir) {
  std::string buf(1 << 20, '\0');
  uint64_t bytes = 0;
  const auto start = Clock::now();
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir + "/read")) {
    if (e.path().extension() != ".log") continue;
    int fd = ::open(e.path().c_str(), O_RDONLY);
    for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) > 0;) bytes += n;
    ::close(fd);
  }
  return bytes / Seconds(start, Clock::now());
}

// A consumer reading everything from the oldest record. Returns records/s.
double ConsumerRead(sp::Stream* stream, int round) {
  auto c = stream->OpenConsumer("reader-" + std::to_string(round), sp::StartFrom::kOldest).value();
  uint64_t records = 0;
  const auto start = Clock::now();
  while (true) {
    auto got = c->Poll(10000, std::chrono::milliseconds(0));
    if (!got.ok() || got->empty()) break;
    records += got->size();
  }
  return records / Seconds(start, Clock::now());
}

// Append (fsync = "batch") to consumer wake-up, for single records at about 2,000 a second:
// microseconds from the producer's call to the consumer holding the record, p50 and p99.
std::pair<double, double> TailLatency(const std::string& dir) {
  std::filesystem::remove_all(dir + "/tail");
  sp::Metrics metrics;
  sp::FileLogOptions o;
  o.dir = dir + "/tail";
  o.shards = 1;
  auto log = sp::OpenFileLog(sp::Env::Default(), sp::Clock::Default(), &metrics, o).value();
  sp::Stream* stream = log->OpenStream("bench").value();
  auto consumer = stream->OpenConsumer("tail", sp::StartFrom::kLatest).value();
  constexpr int kRecords = 4000;
  std::vector<double> latency;
  std::thread reader([&] {
    while (static_cast<int>(latency.size()) < kRecords) {
      auto got = consumer->Poll(100, std::chrono::seconds(5));
      const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
      if (!got.ok() || got->empty()) break;
      for (const auto& r : *got) latency.push_back((now - std::stoll(std::string(r.value))) / 1000.0);
    }
  });
  for (int i = 0; i < kRecords; ++i) {
    const auto sent = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    (void)stream->Append(std::vector<sp::Record>{{"d", i, std::to_string(sent)}});
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  reader.join();
  std::sort(latency.begin(), latency.end());
  if (latency.empty()) return {0, 0};
  return {latency[latency.size() / 2], latency[latency.size() * 99 / 100]};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: log_append_bench DIR [ROUNDS=5] [SECONDS_PER_ROUND=3]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 3;
  std::filesystem::create_directories(dir);
  std::vector<double> base, one, four;
  for (int r = 1; r <= rounds; ++r) {
    base.push_back(BaselineSync(dir, seconds));
    one.push_back(LogAppend(dir, 1, 4, 1000, seconds));
    four.push_back(LogAppend(dir, 4, 4, 1000, seconds));
    std::fprintf(stderr, "round %d: B-SYNC %.0f MB/s; log 1 shard %.0f rec/s; log 4 shards %.0f rec/s\n", r,
                 base.back() / 1e6, one.back(), four.back());
  }
  // Reads from the oldest record, alternating with the raw read of the same files.
  sp::Metrics metrics;
  auto read_log = FillLog(dir, &metrics, 2'000'000);
  sp::Stream* read_stream = read_log->OpenStream("bench").value();
  const auto read_stats = read_stream->Stats()[0];
  const double bytes_per_record = static_cast<double>(read_stats.bytes) / static_cast<double>(read_stats.end_offset);
  std::vector<double> raw, consumer;
  for (int r = 1; r <= rounds; ++r) {
    raw.push_back(RawRead(dir));
    consumer.push_back(ConsumerRead(read_stream, r));
    std::fprintf(stderr, "read round %d: raw read %.0f MB/s; consumer %.0f records/s\n", r, raw.back() / 1e6,
                 consumer.back());
  }
  read_log.reset();
  std::filesystem::remove_all(dir + "/read");
  const auto [p50, p99] = TailLatency(dir);
  std::filesystem::remove_all(dir + "/tail");
  std::fprintf(stderr, "tail latency, append call to consumer wake-up (fsync batch): p50 %.0f us, p99 %.0f us\n", p50, p99);

  const double b = Median(base), o = Median(one), f = Median(four);
  const double rr = Median(raw), cr = Median(consumer);
  // The ratio: the log's durable payload bandwidth (100-byte records) over the disk's.
  const double ratio = o * 100 / b;
  std::printf("{\"name\": \"log_append\", \"unit\": \"records/s\", \"rounds\": %d, \"seconds_per_round\": %g,\n"
              " \"baseline\": {\"what\": \"B-SYNC 64 KiB write + fdatasync\", \"median_bytes_per_s\": %.0f, "
              "\"min\": %.0f, \"max\": %.0f},\n"
              " \"one_shard\": {\"median\": %.0f, \"min\": %.0f, \"max\": %.0f},\n"
              " \"four_shards\": {\"median\": %.0f, \"min\": %.0f, \"max\": %.0f},\n"
              " \"read\": {\"raw_read_bytes_per_s\": %.0f, \"consumer_records_per_s\": %.0f, \"ratio\": %.3f, "
              "\"ratio_means\": \"consumer bytes/s (records x bytes on disk per record) over raw read(2) bytes/s of the same files\"},\n"
              " \"tail_latency_us\": {\"p50\": %.0f, \"p99\": %.0f, \"what\": \"append call to consumer wake-up, fsync batch, 2k records/s\"},\n"
              " \"ratio\": %.3f, \"ratio_means\": \"one-shard payload bytes/s over B-SYNC bytes/s\"}\n",
              rounds, seconds, b, *std::min_element(base.begin(), base.end()), *std::max_element(base.begin(), base.end()),
              o, *std::min_element(one.begin(), one.end()), *std::max_element(one.begin(), one.end()), f,
              *std::min_element(four.begin(), four.end()), *std::max_element(four.begin(), four.end()), rr, cr,
              cr * bytes_per_record / rr, p50, p99, ratio);
  std::fprintf(stderr, "log_append: ratio=%.2f (target 1M records/s) value=%.0f records/s (4 shards: %.0f)\n", ratio, o, f);
  return 0;
}
