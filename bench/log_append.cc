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

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
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
  const double b = Median(base), o = Median(one), f = Median(four);
  // The ratio: the log's durable payload bandwidth (100-byte records) over the disk's.
  const double ratio = o * 100 / b;
  std::printf("{\"name\": \"log_append\", \"unit\": \"records/s\", \"rounds\": %d, \"seconds_per_round\": %g,\n"
              " \"baseline\": {\"what\": \"B-SYNC 64 KiB write + fdatasync\", \"median_bytes_per_s\": %.0f, "
              "\"min\": %.0f, \"max\": %.0f},\n"
              " \"one_shard\": {\"median\": %.0f, \"min\": %.0f, \"max\": %.0f},\n"
              " \"four_shards\": {\"median\": %.0f, \"min\": %.0f, \"max\": %.0f},\n"
              " \"ratio\": %.3f, \"ratio_means\": \"one-shard payload bytes/s over B-SYNC bytes/s\"}\n",
              rounds, seconds, b, *std::min_element(base.begin(), base.end()), *std::max_element(base.begin(), base.end()),
              o, *std::min_element(one.begin(), one.end()), *std::max_element(one.begin(), one.end()), f,
              *std::min_element(four.begin(), four.end()), *std::max_element(four.begin(), four.end()), ratio);
  std::fprintf(stderr, "log_append: ratio=%.2f (target 1M records/s) value=%.0f records/s (4 shards: %.0f)\n", ratio, o, f);
  return 0;
}
