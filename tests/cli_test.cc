// The command line as a user meets it: usage on bad arguments, file:line on a bad config, the
// three output formats, and one daemon per data folder.
#include <gtest/gtest.h>

#include <fstream>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/process.h"

namespace sp::testing {
namespace {

constexpr auto kDeadline = std::chrono::seconds(60);

CommandOutput Sensorpipe(std::vector<std::string> args) {
  args.insert(args.begin(), BinDir() + "/sensorpipe");
  auto out = RunCommand(args, kDeadline);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : CommandOutput{};
}

TEST(Cli, BadArgumentsPrintUsage) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"bogus"}, {"query"}, {"query", "--format", "xml", "SELECT 1"}, {"run", "--nope"}, {"log"},
           {"log", "tail", "--shard", "x"}, {"replay", "--consumer", "lake-raw"}}) {
    CommandOutput out = Sensorpipe(args);
    EXPECT_EQ(out.exit_code, 2) << out.err;
    EXPECT_NE(out.err.find("Usage:"), std::string::npos) << out.err;
  }
  CommandOutput help = Sensorpipe({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("query"), std::string::npos);
}

TEST(Cli, BadConfigStopsStartUpWithTheLine) {
  TempDir dir;
  std::ofstream(dir.Sub("bad.toml")) << "data_dir = \"d\"\n[mqtt]\nbogus = 1\n";
  CommandOutput out = Sensorpipe({"run", "--config", dir.Sub("bad.toml")});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find(dir.Sub("bad.toml") + ":3: [mqtt] bogus: unknown key"), std::string::npos) << out.err;

  std::ofstream(dir.Sub("zone.toml")) << "[ingest]\ndevice_time_zone = \"Nowhere/City\"\n";
  out = Sensorpipe({"query", "--config", dir.Sub("zone.toml"), "SELECT 1"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("zone.toml:2: [ingest] device_time_zone: unknown time zone"), std::string::npos) << out.err;
}

TEST(Cli, QueryFormatsOnAnEmptyLake) {
  TempDir dir;
  std::ofstream(dir.Sub("sp.toml")) << "data_dir = \"data\"\n";
  const std::string cfg = dir.Sub("sp.toml");
  const std::string sql = "SELECT 1 AS n, 'a,b' AS s, TIMESTAMP '2022-07-13 15:00:00' AS t, 0.1::DOUBLE + 0.2::DOUBLE AS d";
  CommandOutput csv = Sensorpipe({"query", "--config", cfg, "--format", "csv", sql});
  EXPECT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out, "n,s,t,d\n1,\"a,b\",2022-07-13 15:00:00,0.30000000000000004\n");
  CommandOutput json = Sensorpipe({"query", "--config", cfg, "--format", "json", sql});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, "[{\"n\":1,\"s\":\"a,b\",\"t\":\"2022-07-13 15:00:00\",\"d\":0.30000000000000004}]\n");
  CommandOutput table = Sensorpipe({"query", "--config", cfg, sql});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("a,b"), std::string::npos) << table.out;
  // An empty lake has the views, with no rows.
  CommandOutput empty = Sensorpipe({"query", "--config", cfg, "--format", "csv", "SELECT count(*) AS n FROM readings"});
  EXPECT_EQ(empty.out, "n\n0\n") << empty.err;
  CommandOutput bad = Sensorpipe({"query", "--config", cfg, "SELEC 1"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("syntax error"), std::string::npos) << bad.err;
}

TEST(Cli, OneDaemonPerDataFolder) {
  TempDir dir;
  // No broker is needed: the daemon starts and keeps retrying the connection.
  const std::string closed = "mqtt://127.0.0.1:" + std::to_string(FreePort());
  ASSERT_OK_AND_ASSIGN(auto first, Daemon::Start(dir.Sub("sp"), closed, ""));
  CommandOutput second = Sensorpipe({"run", "--config", first->config_path()});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("another sensorpipe process is using"), std::string::npos) << second.err;
  ASSERT_OK_AND_ASSIGN(int code, first->Stop());
  EXPECT_EQ(code, 0) << first->process().Log();
}

}  // namespace
}  // namespace sp::testing
