// What the log's tests share: a log on real files opened with one stream, and file helpers.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "common/testing.h"
#include "log/file_log.h"

namespace sp {

inline Record Rec(std::string key, int64_t ts, std::string value) {
  return Record{std::move(key), ts, std::move(value)};
}

struct Harness {
  explicit Harness(std::string dir, uint32_t shards = 4, uint64_t segment_bytes = 64 << 20) {
    options.dir = std::move(dir);
    options.shards = shards;
    options.segment_bytes = segment_bytes;
  }
  Status Open() {
    log.reset();
    metrics = std::make_unique<Metrics>();
    auto l = OpenFileLog(Env::Default(), clock, metrics.get(), options);
    if (!l.ok()) return l.status();
    log = std::move(l).value();
    auto s = log->OpenStream("readings");
    if (!s.ok()) return s.status();
    stream = *s;
    return Status::OK();
  }
  // Everything a fresh consumer reads from the oldest record.
  std::vector<OwnedRecord> ReadAll(const std::string& name = "reader") {
    auto c = stream->OpenConsumer(name, StartFrom::kOldest);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    std::vector<OwnedRecord> all;
    while (true) {
      auto got = (*c)->Poll(1000, std::chrono::milliseconds(0));
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (!got.ok() || got->empty()) break;
      for (const StoredRecord& r : *got) all.push_back(OwnedRecord::From(r));
    }
    return all;
  }
  FileLogOptions options;
  Clock* clock = Clock::Default();
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Log> log;
  Stream* stream = nullptr;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
inline void Spit(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

}  // namespace sp
