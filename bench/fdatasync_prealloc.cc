// What a group commit's fdatasync costs when the file grows with every commit, against writing
// into space already extended ahead of the data, on this disk. Measured for the log's active
// segment (docs/format/log.md, "The zero tail"): a growing file makes every fdatasync also journal
// the inode (i_size, and the delayed block allocation of the new pages).
//
// Variants, alternating A B C D every round, each paced at RATE commits a second:
// - grow:       write WRITE_BYTES at the end of the file, fdatasync.
// - zeroed:     the file is kept ahead of the data with written zeros: when less than half of STEP
//               would be left after a commit's write, STEP more zeros are written after it in the
//               same commit and its one fdatasync makes both durable (what the log does).
//               pwrite WRITE_BYTES at the data's end, fdatasync.
// - zeroed_sep: the same, but the zeros are written and fdatasync'ed on their own before the
//               commit's write (one more fdatasync every STEP / 2 bytes).
// - falloc:     like zeroed_sep with fallocate(2) instead of written zeros: the extents are
//               "unwritten", so the first write into them still changes metadata.
// Per commit: CPU time of the process (user + system, getrusage, as the daemon's CPU is counted)
// and wall time of write + fdatasync, extensions included.
//
// Then the log itself, driven as the daemon drives it at QoS 0 (4 shards, fsync = "batch",
// appends of 480 records of 108 bytes over 100 devices, so each append syncs 4 batches of ~13 KiB)
// at LOG_APPENDS a second, with zero_tail_bytes = STEP and = 0 alternating: CPU per record.
// Medians over rounds.
// Usage: fdatasync_prealloc_bench DIR [ROUNDS=5] [SECONDS=3] [RATE=2000] [WRITE_BYTES=10240] [STEP=1048576]
//        [LOG_APPENDS=250]
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
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

enum class Variant { kGrow, kZeroed, kZeroedSeparate, kFalloc };
const char* Name(Variant v) {
  return v == Variant::kGrow             ? "grow"
         : v == Variant::kZeroed         ? "zeroed"
         : v == Variant::kZeroedSeparate ? "zeroed_sep"
                                         : "falloc";
}

double CpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// Sleeps until the next of `rate` slots a second; no catching up in bursts when behind.
void Pace(Clock::time_point* next, double rate) {
  *next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  if (*next > Clock::now()) {
    std::this_thread::sleep_until(*next);
  } else {
    *next = Clock::now();
  }
}

struct RoundResult {
  double cpu_us = 0;   // per commit, including extensions
  double wall_us = 0;  // per commit: write + fdatasync (+ extension when one was due)
  double rate = 0;     // commits per second achieved
  int extensions = 0;
};

[[noreturn]] void Die(const char* what) {
  std::perror(what);
  std::exit(1);
}

// Makes [size, size + step) of fd real space: zeros written, or fallocate'd; synced when `sync`.
void Extend(int fd, Variant v, uint64_t size, uint64_t step, const std::string& zeros, bool sync = true) {
  if (v == Variant::kFalloc) {
    if (::fallocate(fd, 0, static_cast<off_t>(size), static_cast<off_t>(step)) != 0) Die("fallocate");
  } else {
    for (uint64_t done = 0; done < step;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), step - done));
      if (::pwrite(fd, zeros.data(), n, static_cast<off_t>(size + done)) != static_cast<ssize_t>(n)) Die("pwrite");
      done += n;
    }
  }
  if (sync && ::fdatasync(fd) != 0) Die("fdatasync");
}

RoundResult Run(const std::string& dir, Variant v, double seconds, double rate, size_t write_bytes, uint64_t step) {
  const std::string path = dir + "/segment." + Name(v);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("open");
  const std::string data(write_bytes, 'x');
  const std::string zeros(step, '\0');
  uint64_t end = 0, allocated = 0;
  RoundResult r;
  if (v != Variant::kGrow) {
    Extend(fd, v, 0, step, zeros);  // before the clock starts, as a segment's creation would
    allocated = step;
  }
  double wall = 0;
  int commits = 0;
  const double cpu0 = CpuSeconds();
  const auto start = Clock::now();
  auto next = start;
  while (Clock::now() - start < std::chrono::duration<double>(seconds)) {
    const auto t0 = Clock::now();
    if (v != Variant::kGrow && v != Variant::kZeroed && allocated - end < step / 2) {
      Extend(fd, v, allocated, step, zeros);
      allocated += step;
      ++r.extensions;
    }
    if (::pwrite(fd, data.data(), data.size(), static_cast<off_t>(end)) != static_cast<ssize_t>(data.size())) {
      Die("pwrite");
    }
    if (v == Variant::kZeroed && allocated - end - data.size() < step / 2) {
      Extend(fd, v, allocated, step, zeros, false);  // made durable by the commit's own fdatasync below
      allocated += step;
      ++r.extensions;
    }
    if (::fdatasync(fd) != 0) Die("fdatasync");
    end += data.size();
    wall += std::chrono::duration<double>(Clock::now() - t0).count();
    ++commits;
    Pace(&next, rate);
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  r.cpu_us = (CpuSeconds() - cpu0) * 1e6 / commits;
  r.wall_us = wall * 1e6 / commits;
  r.rate = commits / elapsed;
  ::close(fd);
  ::unlink(path.c_str());
  return r;
}

struct LogResult {
  double cpu_us_per_record = 0;
  double records_per_s = 0;
};

LogResult LogRound(const std::string& dir, uint64_t zero_tail, double seconds, double appends_per_s) {
  std::filesystem::remove_all(dir + "/log");
  sp::Metrics metrics;
  sp::FileLogOptions o;
  o.dir = dir + "/log";
  o.shards = 4;
  o.zero_tail_bytes = zero_tail;
  auto log = sp::OpenFileLog(sp::Env::Default(), sp::Clock::Default(), &metrics, o).value();
  sp::Stream* stream = log->OpenStream("readings").value();
  std::vector<sp::Record> records(480);
  for (size_t i = 0; i < records.size(); ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "dev%03zu", i % 100);
    records[i] = {key, static_cast<int64_t>(i), std::string(100, 'v')};
  }
  uint64_t appended = 0;
  const double cpu0 = CpuSeconds();
  const auto start = Clock::now();
  auto next = start;
  while (Clock::now() - start < std::chrono::duration<double>(seconds)) {
    if (!stream->Append(records).ok()) Die("log append");
    appended += records.size();
    Pace(&next, appends_per_s);
  }
  LogResult r;
  r.cpu_us_per_record = (CpuSeconds() - cpu0) * 1e6 / static_cast<double>(appended);
  r.records_per_s = static_cast<double>(appended) / std::chrono::duration<double>(Clock::now() - start).count();
  log.reset();
  std::filesystem::remove_all(dir + "/log");
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: fdatasync_prealloc_bench DIR [ROUNDS=5] [SECONDS=3] [RATE=2000] [WRITE_BYTES=10240] "
                 "[STEP=1048576]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 3;
  const double rate = argc > 4 ? std::atof(argv[4]) : 2000;
  const size_t write_bytes = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 10240;
  const uint64_t step = argc > 6 ? std::strtoull(argv[6], nullptr, 10) : 1 << 20;
  const double log_appends = argc > 7 ? std::atof(argv[7]) : 250;
  const Variant variants[] = {Variant::kGrow, Variant::kZeroed, Variant::kZeroedSeparate, Variant::kFalloc};
  constexpr int kVariants = 4;
  std::vector<double> cpu[kVariants], wall[kVariants], achieved[kVariants];
  for (int round = 1; round <= rounds; ++round) {
    std::fprintf(stderr, "round %d:", round);
    for (int i = 0; i < kVariants; ++i) {
      const RoundResult r = Run(dir, variants[i], seconds, rate, write_bytes, step);
      cpu[i].push_back(r.cpu_us);
      wall[i].push_back(r.wall_us);
      achieved[i].push_back(r.rate);
      std::fprintf(stderr, " %s %.1f us CPU, %.1f us wall, %.0f/s (%d extensions);", Name(variants[i]), r.cpu_us,
                   r.wall_us, r.rate, r.extensions);
    }
    std::fprintf(stderr, "\n");
  }
  // The ratio: CPU per commit of what the log does (zeroed) over growing the file.
  std::printf(
      "{\"name\": \"fdatasync_prealloc\", \"unit\": \"us per commit\", \"rounds\": %d, \"seconds\": %g, "
      "\"rate\": %g, \"write_bytes\": %zu, \"step\": %llu",
      rounds, seconds, rate, write_bytes, static_cast<unsigned long long>(step));
  for (int i = 0; i < kVariants; ++i) {
    std::printf(",\n \"%s\": {\"cpu_us\": %.2f, \"wall_us\": %.1f, \"commits_per_s\": %.0f}", Name(variants[i]),
                Median(cpu[i]), Median(wall[i]), Median(achieved[i]));
  }
  // The log, with and without its zero tail.
  std::vector<double> log_cpu[2], log_rate[2];
  for (int round = 1; round <= rounds; ++round) {
    std::fprintf(stderr, "log round %d:", round);
    for (int zeroed = 0; zeroed < 2; ++zeroed) {
      const LogResult r = LogRound(dir, zeroed ? step : 0, seconds, log_appends);
      log_cpu[zeroed].push_back(r.cpu_us_per_record);
      log_rate[zeroed].push_back(r.records_per_s);
      std::fprintf(stderr, " %s %.3f us CPU per record, %.0f records/s;", zeroed ? "zero tail" : "growing",
                   r.cpu_us_per_record, r.records_per_s);
    }
    std::fprintf(stderr, "\n");
  }
  for (int zeroed = 0; zeroed < 2; ++zeroed) {
    std::printf(",\n \"log_%s\": {\"cpu_us_per_record\": %.4f, \"records_per_s\": %.0f}",
                zeroed ? "zero_tail" : "growing", Median(log_cpu[zeroed]), Median(log_rate[zeroed]));
  }
  const double ratio = Median(cpu[1]) / Median(cpu[0]);
  const double log_ratio = Median(log_cpu[1]) / Median(log_cpu[0]);
  std::printf(",\n \"ratio\": %.3f, \"log_ratio\": %.3f}\n", ratio, log_ratio);
  std::fprintf(stderr, "medians (us per commit, CPU / wall):");
  for (int i = 0; i < kVariants; ++i) {
    std::fprintf(stderr, " %s %.1f / %.1f;", Name(variants[i]), Median(cpu[i]), Median(wall[i]));
  }
  std::fprintf(stderr, "\n");
  std::fprintf(stderr, "log medians (us CPU per record): growing %.3f; zero tail %.3f\n", Median(log_cpu[0]),
               Median(log_cpu[1]));
  std::fprintf(stderr, "fdatasync_prealloc: ratio=%.2f (target < 1) value=%.1f us CPU per commit\n", ratio,
               Median(cpu[1]));
  std::fprintf(stderr, "fdatasync_prealloc_log: ratio=%.2f (target < 1) value=%.3f us CPU per record\n", log_ratio,
               Median(log_cpu[1]));
  return 0;
}
