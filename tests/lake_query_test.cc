// Queries while compactions run (docs/architecture.md, "Guarantees": a query sees each record
// exactly once while compaction runs). A known set of N readings, each (device, seq, ts) unique, over four hours,
// goes in over HTTP ingest; then batches of it come again and again as redeliveries, so delivery
// keeps putting raw objects of rows the lake already holds, the daemon's compactor keeps merging
// every two objects of an hour with the hour's Parquet file (replaced files deleted after a short
// grace period), and `sensorpipe compact --now` runs from the CLI as well. Meanwhile a loop of
// `sensorpipe query` processes counts the readings, and every answer must hold each row exactly
// once: as many rows as distinct keys, never more than N, never fewer than an earlier answer (the
// lake only grows), and N once all arrived. With the lake in a folder and in a real S3-compatible
// server. SOAK=1 runs 30 rounds of redeliveries and compactions, otherwise 4.
#include <gtest/gtest.h>

#include <atomic>
#include <cinttypes>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/http.h"
#include "support/s3_lake.h"

namespace sp::testing {
namespace {

constexpr int kHours = 4;
constexpr int kBatches = 20;
constexpr int kPerBatch = 30;
constexpr int64_t kRows = kBatches * kPerBatch;
constexpr const char* kToken = "query-test-token";

// Small objects and compaction of every two keep swaps and deletions frequent. Replaced files go
// after 5 s: a query process has read its files within about a second of listing them here (its
// whole run takes one to two), and the test runs long enough for many deletions among the queries.
constexpr const char* kConfig = R"(
[http]
token = "query-test-token"
[delivery]
size_hint_bytes = 1024
interval_s = 1
[compaction]
objects = 2
delete_after_s = 5
)";

// Rows, then distinct keys: equal when each row is there once.
constexpr const char* kCount = "SELECT count(*) AS n, count(DISTINCT (device, seq, ts)) AS d FROM readings";

// Batch b: kPerBatch readings of 4 devices in hour 6 + b % kHours; seq unique over all batches.
std::string Batch(int b) {
  std::string body;
  for (int i = 0; i < kPerBatch; ++i) {
    const int seq = b * kPerBatch + i;
    char line[256];
    std::snprintf(line, sizeof line,
                  R"({"client_id":"dev%d","timestamp":"2022-07-14 %02d:%02d:%02d","temperature":%d.5,"count":%d})",
                  i % 4, 6 + b % kHours, seq / 60 % 60, seq % 60, seq % 40, seq);
    body += line;
    body += '\n';
  }
  return body;
}

// A loop of `sensorpipe query` processes in a thread of its own, checking every answer.
class QueryLoop {
 public:
  explicit QueryLoop(const Daemon& daemon) : daemon_(daemon), thread_([this] { Run(); }) {}
  ~QueryLoop() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int answers() const { return answers_; }
  int64_t last() const { return last_; }
  std::vector<std::string> wrong() {
    std::lock_guard lock(mu_);
    return wrong_;
  }

 private:
  void Run() {
    while (!stop_) {
      auto csv = daemon_.Query(kCount);
      std::string error;
      int64_t n = -1, d = -1;
      if (!csv.ok() || std::sscanf(csv->c_str(), "n,d\n%" SCNd64 ",%" SCNd64, &n, &d) != 2) {
        error = "query failed: " + (csv.ok() ? *csv : csv.status().ToString());
      } else if (n != d || n < last_ || n > kRows) {
        error = std::to_string(n) + " rows, " + std::to_string(d) + " distinct, after an answer of " +
                std::to_string(last_) + " (" + std::to_string(kRows) + " sent)";
      }
      ++answers_;
      if (!error.empty()) {
        std::lock_guard lock(mu_);
        wrong_.push_back("answer " + std::to_string(answers_.load()) + ": " + error);
        continue;
      }
      last_ = n;
    }
  }

  const Daemon& daemon_;
  std::atomic<bool> stop_ = false;
  std::atomic<int> answers_ = 0;
  std::atomic<int64_t> last_ = 0;
  std::mutex mu_;
  std::vector<std::string> wrong_;
  std::thread thread_;  // last: starts once the rest is set up
};

class QueriesDuringCompaction : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() { SharedS3Server::Start({.buckets = {"lake"}}); }
  static void TearDownTestSuite() { SharedS3Server::Stop(); }
};

TEST_P(QueriesDuringCompaction, EveryAnswerHoldsEachRowOnce) {
  const bool s3 = GetParam();
  std::string config = kConfig;
  if (s3) {
    ASSERT_NE(SharedS3Server::Get(), nullptr) << SharedS3Server::Error();
    std::vector<std::string> partitions;
    for (int h = 0; h < kHours; ++h) partitions.push_back("dt=2022-07-14/hour=0" + std::to_string(6 + h));
    ASSERT_OK(KeepRawFolders(*SharedS3Server::Get(), "lake", "query", partitions));
    config += S3LakeToml(*SharedS3Server::Get(), "lake", "query");
  }
  const int rounds = std::getenv("SOAK") ? 30 : 4;
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto daemon, Daemon::Start(dir.Sub("sp"), NoBrokerUrl(), config));  // HTTP ingest only
  const std::string bin = BinDir() + "/sensorpipe";
  auto post = [&](int b) {
    ASSERT_OK_AND_ASSIGN(HttpResponse r, HttpPost(daemon->http_port(), "/v1/ingest", Batch(b), kToken));
    ASSERT_EQ(r.status, 200) << r.body;
  };

  QueryLoop queries(*daemon);
  for (int b = 0; b < kBatches; ++b) {
    ASSERT_NO_FATAL_FAILURE(post(b));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(WaitUntil([&] { return queries.last() == kRows; }, kDeadline))
      << "the lake has " << queries.last() << " of " << kRows << " rows\n"
      << daemon->process().Log();
  const int before = queries.answers();
  const double compactions = daemon->Metric("sensorpipe_compactions_total");
  for (int round = 0; round < rounds; ++round) {
    // Redeliveries of rows the lake holds: new raw objects in hours that have Parquet files.
    for (int i = 0; i < 6; ++i) {
      ASSERT_NO_FATAL_FAILURE(post(static_cast<int>(rng() % kBatches)));
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    ASSERT_OK_AND_ASSIGN(CommandOutput compact,
                         RunCommand({bin, "compact", "--now", "--config", daemon->config_path()}, kDeadline));
    ASSERT_EQ(compact.exit_code, 0) << compact.err;
  }
  // Past the grace period of the last round's replaced files, so they are deleted while queried.
  const int deleting = queries.answers();
  const double deleted = daemon->Metric("sensorpipe_lake_objects_deleted_total");
  ASSERT_TRUE(WaitUntil(
      [&] {
        return daemon->Metric("sensorpipe_lake_objects_deleted_total") > deleted && queries.answers() >= deleting + 5;
      },
      kDeadline));
  queries.Stop();
  EXPECT_EQ(queries.wrong(), std::vector<std::string>{});
  EXPECT_GT(daemon->Metric("sensorpipe_compactions_total"), compactions);
  const int during = queries.answers() - before;
  EXPECT_GE(during, rounds * 2) << "too few answers while compactions ran to prove anything";

  ASSERT_OK_AND_ASSIGN(int code, daemon->Stop());
  ASSERT_EQ(code, 0) << daemon->process().Log();
  ASSERT_OK_AND_ASSIGN(std::string after, daemon->Query(kCount));
  EXPECT_EQ(after, "n,d\n" + std::to_string(kRows) + "," + std::to_string(kRows) + "\n");
  std::printf(
      "SOAK queries during compaction (%s): %d rounds, %d answers while compacting, each row once in every one\n",
      s3 ? "S3" : "folder", rounds, during);
}

INSTANTIATE_TEST_SUITE_P(Lakes, QueriesDuringCompaction, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "s3" : "folder"; });

}  // namespace
}  // namespace sp::testing
