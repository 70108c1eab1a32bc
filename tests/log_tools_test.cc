// The log's tools as a user meets them, on real log files and a real daemon: `log tail` answers
// with the last records like tail(1), `log stat` lists every consumer with its lag (the rollup's
// too), and a command run without a config beside the demo's says where that config is.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "common/metrics.h"
#include "common/testing.h"
#include "log/file_log.h"
#include "support/daemon.h"
#include "support/http.h"
#include "support/process.h"

namespace sp::testing {
namespace {

constexpr int64_t kT0 = 1'657'771'200'000'000;  // 2022-07-14 04:00:00 UTC, in µs

CommandOutput Sensorpipe(std::vector<std::string> args) {
  args.insert(args.begin(), BinDir() + "/sensorpipe");
  auto out = RunCommand(args, kDeadline);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : CommandOutput{};
}

// The `i` of each {"i":N} value printed, in order.
std::vector<int> Values(const std::string& out) {
  static const std::regex value(R"("value":\{"i":(\d+)\})");
  std::vector<int> values;
  for (std::sregex_iterator it(out.begin(), out.end(), value), end; it != end; ++it)
    values.push_back(std::stoi((*it)[1]));
  return values;
}

// A log of two shards written with the log's own code, as the daemon writes it, for the tools to read.
class LogTail : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(config_) << "data_dir = \"data\"\n[log]\nshards = 2\n";
    FileLogOptions options;
    options.dir = dir_.Sub("data/log");
    options.shards = 2;
    ASSERT_OK_AND_ASSIGN(log_, OpenFileLog(Env::Default(), Clock::Default(), &metrics_, options));
    ASSERT_OK_AND_ASSIGN(stream_, log_->OpenStream("readings"));
    // A key for each shard.
    for (int k = 0; keys_[0].empty() || keys_[1].empty(); ++k) {
      const std::string key = "dev-" + std::to_string(k);
      if (keys_[stream_->ShardFor(key)].empty()) keys_[stream_->ShardFor(key)] = key;
    }
    // Readings 0 to 9, a second apart, the even ones in shard 0 and the odd ones in shard 1.
    for (int i = 0; i < 10; ++i) Append(i, i % 2, kT0 + i * 1'000'000);
  }

  void Append(int i, int shard, int64_t ts_us) {
    const Record r{keys_[shard], ts_us, "{\"i\":" + std::to_string(i) + "}"};
    ASSERT_OK(stream_->Append(std::span<const Record>(&r, 1)));
  }

  std::vector<int> Tail(std::vector<std::string> args) {
    args.insert(args.begin(), {"log", "tail", "--config", config_});
    CommandOutput out = Sensorpipe(args);
    EXPECT_EQ(out.exit_code, 0) << out.err;
    return Values(out.out);
  }

  TempDir dir_;
  const std::string config_ = dir_.Sub("sp.toml");
  Metrics metrics_;
  std::unique_ptr<Log> log_;
  Stream* stream_ = nullptr;
  std::string keys_[2];
};

TEST_F(LogTail, PrintsTheLastRecordsLikeTail) {
  using V = std::vector<int>;
  EXPECT_EQ(Tail({"-n", "3"}), (V{7, 8, 9}));
  EXPECT_EQ(Tail({"--from", "latest", "-n", "3"}), (V{7, 8, 9}));
  EXPECT_EQ(Tail({"-n", "100"}), (V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(Tail({"-n", "0"}), V{});
  EXPECT_EQ(Tail({"-n", "3", "--shard", "1"}), (V{5, 7, 9}));
  // Without -n: all of them; from latest: none (only what comes next, with -f).
  EXPECT_EQ(Tail({}), (V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(Tail({"--from", "latest"}), V{});
  // From any other start, -n is a limit, and the shards are merged the same way.
  EXPECT_EQ(Tail({"--from", "oldest", "-n", "3"}), (V{0, 1, 2}));
  EXPECT_EQ(Tail({"--from", "2", "-n", "3"}), (V{4, 5, 6}));  // offset 2 of each shard
  EXPECT_EQ(Tail({"--from", "2022-07-14 04:00:05"}), (V{5, 6, 7, 8, 9}));
}

TEST_F(LogTail, KeepsEachShardInOffsetOrderAndMergesByEventTime) {
  // An old reading arrives last in shard 0 (a day replayed): its shard keeps it last, and across
  // shards it comes where its shard's order and its event time put it.
  Append(10, 0, kT0 - 3'600'000'000);
  using V = std::vector<int>;
  EXPECT_EQ(Tail({"--shard", "0", "-n", "2"}), (V{8, 10}));
  EXPECT_EQ(Tail({}), (V{0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 9}));
  // The last two: the latest event times, counted back from each shard's end.
  EXPECT_EQ(Tail({"-n", "2"}), (V{7, 9}));
  EXPECT_EQ(Tail({"--from", "oldest", "-n", "1"}), (V{0}));
}

TEST_F(LogTail, FollowsAfterTheLastRecords) {
  const std::string out = dir_.Sub("tail.out");
  ASSERT_OK_AND_ASSIGN(
      auto tail, Process::Start({BinDir() + "/sensorpipe", "log", "tail", "--config", config_, "-n", "2", "-f"}, out));
  ASSERT_TRUE(WaitUntil([&] { return Values(tail->Log()).size() == 2; }, kDeadline)) << tail->Log();
  Append(10, 1, kT0 + 10'000'000);
  Append(11, 0, kT0 + 11'000'000);
  ASSERT_TRUE(WaitUntil([&] { return Values(tail->Log()).size() == 4; }, kDeadline)) << tail->Log();
  ASSERT_OK(tail->Signal(SIGINT));
  ASSERT_OK_AND_ASSIGN(int code, tail->Wait(kDeadline));
  EXPECT_EQ(code, 0);
  EXPECT_EQ(Values(tail->Log()), (std::vector<int>{8, 9, 10, 11})) << tail->Log();
}

// Like Kafka's consumer groups, every consumer is listed with its lag: the lake's deliveries, and
// the dashboard's rollup, which keeps its state in memory but saves its position for this.
TEST(LogStat, ListsEveryConsumerWithTheRollup) {
  TempDir dir;
  // Readings come over HTTP.
  ASSERT_OK_AND_ASSIGN(
      auto daemon, Daemon::Start(dir.Sub("sp"), NoBrokerUrl(), "[http]\ntoken = \"t\"\n[delivery]\ninterval_s = 1\n"));
  std::string body;
  for (int i = 0; i < 3; ++i) {
    body += R"({"client_id":"pi","timestamp":"2022-07-14T04:00:0)" + std::to_string(i) +
            R"(Z","temperature":20})"
            "\n";
  }
  ASSERT_OK_AND_ASSIGN(HttpResponse posted, HttpPost(daemon->http_port(), "/v1/ingest", body, "t"));
  ASSERT_EQ(posted.status, 200) << posted.body;

  const std::regex rollup(R"(consumer rollup +lag 0 records \(next offsets 3\); the dashboard's rollup: in memory)");
  const std::regex lake(R"(consumer lake-raw +lag 0 records \(next offsets 3\))");
  CommandOutput stat;
  EXPECT_TRUE(WaitUntil(
      [&] {
        stat = Sensorpipe({"log", "stat", "--config", daemon->config_path()});
        return std::regex_search(stat.out, rollup) && std::regex_search(stat.out, lake);
      },
      kDeadline))
      << stat.out << stat.err;

  ASSERT_OK_AND_ASSIGN(int code, daemon->Stop());
  EXPECT_EQ(code, 0) << daemon->process().Log();
  stat = Sensorpipe({"log", "stat", "--config", daemon->config_path()});
  EXPECT_TRUE(std::regex_search(stat.out, rollup)) << stat.out;
  // Its position is for looking only: the rollup is rebuilt at every start.
  CommandOutput replay =
      Sensorpipe({"replay", "--config", daemon->config_path(), "--consumer", "rollup", "--from", "oldest"});
  EXPECT_EQ(replay.exit_code, 1);
  EXPECT_NE(replay.err.find("the rollup is rebuilt from the lake and the log at every start"), std::string::npos)
      << replay.err;
}

// The README's commands without --config, run in the repository's root after scripts/demo.sh.
TEST(ConfigHint, NamesTheDemosConfigWhenNoneIsHere) {
  TempDir root;
  std::filesystem::create_directories(root.Sub("demo"));
  std::ofstream(root.Sub("demo/sensorpipe.toml")) << "data_dir = \"data\"\n";
  auto in = [&](const std::string& folder, const std::string& args) {
    auto out =
        RunCommand({"/bin/sh", "-c", "cd '" + folder + "' && exec '" + BinDir() + "/sensorpipe' " + args}, kDeadline);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : CommandOutput{};
  };
  const std::string hint =
      "sensorpipe: no sensorpipe.toml in this folder: using the defaults (data in ./data); the "
      "demo's config is demo/sensorpipe.toml: add --config demo/sensorpipe.toml\n";
  CommandOutput query = in(root.path(), "query 'SELECT 1'");
  EXPECT_EQ(query.exit_code, 0) << query.err;
  EXPECT_NE(query.err.find(hint), std::string::npos) << query.err;
  EXPECT_NE(in(root.path(), "log stat").err.find(hint), std::string::npos);
  // Never when --config is given, whether that file exists or not.
  for (const std::string config : {"demo/sensorpipe.toml", "elsewhere.toml"}) {
    CommandOutput named = in(root.path(), "query --config " + config + " 'SELECT 1'");
    EXPECT_EQ(named.exit_code, 0) << named.err;
    EXPECT_EQ(named.err.find("demo's config"), std::string::npos) << named.err;
  }
  // Nor where there is no demo.
  std::filesystem::create_directories(root.Sub("elsewhere"));
  CommandOutput elsewhere = in(root.Sub("elsewhere"), "query 'SELECT 1'");
  EXPECT_EQ(elsewhere.err.find("demo's config"), std::string::npos) << elsewhere.err;
  EXPECT_NE(elsewhere.err.find("config file sensorpipe.toml not found: using the defaults"), std::string::npos)
      << elsewhere.err;
}

}  // namespace
}  // namespace sp::testing
