// A process that appends to a log under load, for kill -9 tests: two threads append batches
// under fsync = "batch" and print each record's value to stdout only after its Append returned.
// Usage: log_appender DIR RUN
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "log/file_log.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: log_appender DIR RUN\n");
    return 2;
  }
  sp::Metrics metrics;
  sp::FileLogOptions o;
  o.dir = argv[1];
  o.shards = 2;
  o.segment_bytes = 1 << 16;  // rolls happen under load too
  auto log = sp::OpenFileLog(sp::Env::Default(), sp::Clock::Default(), &metrics, o);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    return 1;
  }
  auto stream = (*log)->OpenStream("readings");
  if (!stream.ok()) return 1;
  std::mutex out_mu;
  auto work = [&](int thread) {
    for (int seq = 0;; seq += 3) {
      std::vector<sp::Record> batch;
      for (int k = 0; k < 3; ++k) {
        batch.push_back({"t" + std::to_string(thread), seq + k,
                         std::string(argv[2]) + "-" + std::to_string(thread) + "-" + std::to_string(seq + k)});
      }
      if (!(*stream)->Append(batch).ok()) return;
      std::lock_guard lock(out_mu);
      for (const auto& r : batch) std::printf("%s\n", r.value.c_str());
      std::fflush(stdout);
    }
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  return 1;
}
