// Crashes at every named step of delivery and compaction (common/crash_point.h): the daemon dies
// as under kill -9 at the armed step while readings arrive over HTTP ingest; it is started again,
// the rest arrives, and after a clean stop the readings view must hold exactly what the log holds,
// deduplicated on (device, seq, ts): the same row count and sum of seq per device. Every reading
// the daemon acknowledged must be among them. Each point runs with the lake in a folder and in a
// real S3-compatible server (replaced objects deleted at once in both). SOAK=1 runs each 20 times,
// otherwise 3.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/http.h"
#include "support/s3_lake.h"

namespace sp::testing {
namespace {

constexpr int kBatches = 30;
constexpr int kPerBatch = 20;
constexpr const char* kToken = "crash-test-token";

// Small objects, compaction of every two, deletion at once: every step runs many times a second.
constexpr const char* kConfig = R"(
[http]
token = "crash-test-token"
[delivery]
size_hint_bytes = 1024
interval_s = 1
[compaction]
objects = 2
delete_after_s = 0
)";

using Key = std::tuple<std::string, int64_t, std::string>;             // device, seq, ts
using PerDevice = std::map<std::string, std::pair<int64_t, int64_t>>;  // count, sum of seq

// Batch b: 20 readings of 4 devices over three hours, seq unique per batch and device.
std::string Batch(int b) {
  std::string body;
  for (int i = 0; i < kPerBatch; ++i) {
    const int seq = b * kPerBatch + i;
    char line[256];
    std::snprintf(
        line, sizeof line,
        R"({"client_id":"dev%d","timestamp":"2022-07-14 %02d:%02d:%02d","temperature":%d.5,"humidity":50,"count":%d})",
        i % 4, 6 + b % 3, seq / 60 % 60, seq % 60, seq % 40, seq);
    body += line;
    body += '\n';
  }
  return body;
}

// What the log holds, deduplicated: from `sensorpipe log tail`, whose lines carry the key (the
// device), the record's timestamp (ts) and the reading with its seq.
PerDevice FromLog(const std::string& config) {
  auto out = RunCommand({BinDir() + "/sensorpipe", "log", "tail", "--config", config, "--from", "oldest"}, kDeadline);
  EXPECT_TRUE(out.ok() && out->exit_code == 0) << (out.ok() ? out->err : out.status().ToString());
  std::set<Key> seen;
  PerDevice per;
  std::istringstream in(out.ok() ? out->out : "");
  std::string line;
  auto field = [&](const std::string& name, char end) {
    size_t at = line.find("\"" + name + "\":");
    if (at == std::string::npos) return std::string();
    at += name.size() + 3;
    if (line[at] == '"') ++at;
    return line.substr(at, line.find(end, at) - at);
  };
  while (std::getline(in, line)) {
    const std::string device = field("key", '"'), ts = field("timestamp", '"'), seq = field("seq", ',');
    if (!seen.insert({device, std::stoll(seq), ts}).second) continue;
    per[device].first += 1;
    per[device].second += std::stoll(seq);
  }
  return per;
}

PerDevice FromReadings(const Daemon& daemon) {
  auto csv = daemon.Query("SELECT device, count(*), sum(seq)::BIGINT FROM readings GROUP BY device ORDER BY device");
  EXPECT_TRUE(csv.ok()) << csv.status().ToString();
  PerDevice per;
  std::istringstream in(csv.ok() ? *csv : "");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::string device, count, sum;
    std::istringstream cells(line);
    std::getline(cells, device, ',');
    std::getline(cells, count, ',');
    std::getline(cells, sum, ',');
    per[device] = {std::stoll(count), std::stoll(sum)};
  }
  return per;
}

class LakeCrash : public ::testing::TestWithParam<std::tuple<const char*, bool>> {
 protected:
  static void SetUpTestSuite() { SharedS3Server::Start({.buckets = {"lake"}}); }
  static void TearDownTestSuite() { SharedS3Server::Stop(); }
};

TEST_P(LakeCrash, ReadingsHoldWhatTheLogHoldsExactlyOnce) {
  const auto [point_name, s3] = GetParam();
  const std::string point = point_name;
  if (s3) {
    ASSERT_NE(SharedS3Server::Get(), nullptr) << SharedS3Server::Error();
  }
  const int runs = std::getenv("SOAK") ? 20 : 3;
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  int crashed = 0;
  for (int run = 0; run < runs; ++run) {
    SCOPED_TRACE("crash point " + point + ", run " + std::to_string(run) + ", seed " + std::to_string(seed));
    TempDir dir;
    std::string config = kConfig;
    if (s3) {
      // Each run has a prefix of its own in the one bucket.
      const std::string prefix = point + "-" + std::to_string(run);
      ASSERT_OK(KeepRawFolders(*SharedS3Server::Get(), "lake", prefix,
                               {"dt=2022-07-14/hour=06", "dt=2022-07-14/hour=07", "dt=2022-07-14/hour=08"}));
      config += S3LakeToml(*SharedS3Server::Get(), "lake", prefix);
    }
    // Which hit of the point kills the daemon: the first few, so it dies early or mid-way.
    const std::string armed = "SP_CRASH_POINT=" + point + ":" + std::to_string(1 + rng() % 4);
    // No broker: readings come over HTTP ingest, which answers after the durable append.
    const std::string no_broker = NoBrokerUrl();
    auto started = Daemon::Start(dir.Sub("sp"), no_broker, config, {armed});
    std::unique_ptr<Daemon> daemon;
    if (started.ok()) daemon = std::move(*started);
    std::set<int> acked;
    int b = 0;
    for (; daemon && b < kBatches && daemon->process().Running(); ++b) {
      auto r = HttpPost(daemon->http_port(), "/v1/ingest", Batch(b), kToken);
      if (r.ok() && r->status == 200) acked.insert(b);
      if (b % 5 == 4) HttpPost(daemon->http_port(), "/v1/ingest", Batch(b - 1), kToken);  // a redelivery
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
    }
    // Give delivery and compaction time to reach the point with what arrived.
    if (daemon) WaitUntil([&] { return !daemon->process().Running(); }, std::chrono::seconds(20));
    if (!daemon || !daemon->process().Running()) {
      ++crashed;
      const std::string log = ReadFile(dir.Sub("sp/sensorpipe.log"));
      EXPECT_NE(log.find("crash point " + point + " reached"), std::string::npos) << log;
    }
    if (!daemon) {
      // Died while starting (a compaction of what the previous start left): start it plainly.
      ASSERT_OK_AND_ASSIGN(daemon, Daemon::Start(dir.Sub("sp"), no_broker, config));
    } else {
      ASSERT_OK(daemon->Restart());
    }
    for (; b < kBatches; ++b) {
      ASSERT_OK_AND_ASSIGN(HttpResponse r, HttpPost(daemon->http_port(), "/v1/ingest", Batch(b), kToken));
      ASSERT_EQ(r.status, 200) << r.body;
      acked.insert(b);
    }
    ASSERT_OK_AND_ASSIGN(int code, daemon->Stop());
    ASSERT_EQ(code, 0) << daemon->process().Log();

    const PerDevice log = FromLog(daemon->config_path());
    const PerDevice readings = FromReadings(*daemon);
    EXPECT_EQ(readings, log) << daemon->process().Log();
    int64_t logged = 0;
    for (const auto& [device, cs] : log) logged += cs.first;
    EXPECT_GE(logged, static_cast<int64_t>(acked.size()) * kPerBatch) << "an acknowledged reading is missing";
    // And after a compaction of everything by the CLI, still the same.
    ASSERT_OK_AND_ASSIGN(
        CommandOutput compact,
        RunCommand({BinDir() + "/sensorpipe", "compact", "--now", "--config", daemon->config_path()}, kDeadline));
    ASSERT_EQ(compact.exit_code, 0) << compact.err;
    EXPECT_EQ(FromReadings(*daemon), log);
  }
  // Every run must have crashed at the point, or the test proves nothing about it.
  EXPECT_EQ(crashed, runs);
  std::printf(
      "SOAK lake crash point %s (%s): %d runs, %d crashed there, readings equal the deduplicated log every time\n",
      point.c_str(), s3 ? "S3" : "folder", runs, crashed);
}

INSTANTIATE_TEST_SUITE_P(Points, LakeCrash,
                         ::testing::Combine(::testing::Values("delivery.after_put", "delivery.after_catalog",
                                                              "compact.after_begin", "compact.after_write",
                                                              "compact.after_put", "compact.after_commit",
                                                              "compact.mid_delete"),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           std::string name = std::get<0>(info.param);
                           for (char& c : name) {
                             if (c == '.') c = '_';
                           }
                           return name + (std::get<1>(info.param) ? "_s3" : "_folder");
                         });

}  // namespace
}  // namespace sp::testing
