// The command line as a user meets it: usage on bad arguments, file:line on a bad config, the
// three output formats, and one daemon per data folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/process.h"

namespace sp::testing {
namespace {

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

// docs/configuration.md is what `sensorpipe config reference` prints from the table of settings,
// so a key added or changed there without the page fails here.
TEST(Cli, ConfigurationReferenceIsCurrent) {
  CommandOutput out = Sensorpipe({"config", "reference"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  std::ifstream in(SourceDir() + "/docs/configuration.md");
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(page == out.out) << "docs/configuration.md is not what the binary prints; write it again with\n"
                               << "  build/bin/sensorpipe config reference > docs/configuration.md";
}

TEST(Cli, QueryFormatsOnAnEmptyLake) {
  TempDir dir;
  std::ofstream(dir.Sub("sp.toml")) << "data_dir = \"data\"\n";
  const std::string cfg = dir.Sub("sp.toml");
  const std::string sql = "SELECT 1 AS n, 'a,b' AS s, TIMESTAMP '2022-07-13 15:00:00' AS t, 0.1::DOUBLE + 0.2::DOUBLE AS d";
  CommandOutput csv = Sensorpipe({"query", "--config", cfg, "--format", "csv", sql});
  EXPECT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out, "n,s,t,d\r\n1,\"a,b\",2022-07-13 15:00:00,0.30000000000000004\r\n");  // RFC 4180: CRLF
  CommandOutput json = Sensorpipe({"query", "--config", cfg, "--format", "json", sql});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, "[{\"n\":1,\"s\":\"a,b\",\"t\":\"2022-07-13 15:00:00\",\"d\":0.30000000000000004}]\n");
  CommandOutput table = Sensorpipe({"query", "--config", cfg, sql});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("a,b"), std::string::npos) << table.out;
  // An empty lake has the views, with no rows.
  CommandOutput empty = Sensorpipe({"query", "--config", cfg, "--format", "csv", "SELECT count(*) AS n FROM readings"});
  EXPECT_EQ(empty.out, "n\r\n0\r\n") << empty.err;
  // sum() of a BIGINT is a HUGEINT: a JSON number all the same.
  CommandOutput sum =
      Sensorpipe({"query", "--config", cfg, "--format", "json", "SELECT sum(range) AS s FROM range(4)"});
  EXPECT_EQ(sum.out, "[{\"s\":6}]\n") << sum.err;
  // A parse error once, with its line and caret.
  for (bool any_sql : {false, true}) {
    std::vector<std::string> args = {"query", "--config", cfg, "SELEC 1"};
    if (any_sql) args.push_back("--allow-any-sql");
    CommandOutput bad = Sensorpipe(args);
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_EQ(bad.err, "sensorpipe: Parser Error: syntax error at or near \"SELEC\"\n\nLINE 1: SELEC 1\n        ^\n");
  }
}

// `query` reads the lake and nothing else by default, as /api/query does; --allow-any-sql unlocks
// DuckDB, and its help says what that allows.
TEST(Cli, QueryReadsTheLakeOnlyUnlessAllowed) {
  TempDir dir;
  std::ofstream(dir.Sub("sp.toml")) << "data_dir = \"data\"\n";
  const std::string cfg = dir.Sub("sp.toml");
  std::filesystem::create_directories(dir.Sub("data/lake"));
  const std::string lake = dir.Sub("data/lake");
  auto quoted = [](const std::string& path) { return "'" + path + "'"; };
  const std::vector<std::string> refused = {
      "COPY (SELECT 1) TO " + quoted(lake + "/copy.csv"),
      "EXPORT DATABASE " + quoted(lake + "/export"),
      "ATTACH " + quoted(dir.Sub("attached.db")) + " AS a",
      "CREATE TABLE t AS SELECT 1",
      "DROP VIEW readings",
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT 1 AS a; SELECT 2 AS b",
  };
  for (const std::string& sql : refused) {
    CommandOutput out = Sensorpipe({"query", "--config", cfg, sql});
    EXPECT_EQ(out.exit_code, 1) << sql << "\n" << out.out;
    EXPECT_EQ(out.out, "") << sql;
    EXPECT_NE(out.err.find("--allow-any-sql lets DuckDB run any SQL"), std::string::npos) << sql << "\n" << out.err;
  }
  EXPECT_FALSE(std::filesystem::exists(lake + "/copy.csv"));
  EXPECT_FALSE(std::filesystem::exists(lake + "/export"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("attached.db")));
  CommandOutput readings =
      Sensorpipe({"query", "--config", cfg, "--format", "csv", "SELECT count(*) AS n FROM readings"});
  EXPECT_EQ(readings.out, "n\r\n0\r\n") << readings.err;

  // Unlocked: several statements, and files anywhere the user may write and read.
  const std::string out_csv = dir.Sub("out.csv");
  CommandOutput copy =
      Sensorpipe({"query", "--config", cfg, "--allow-any-sql", "COPY (SELECT 42 AS n) TO " + quoted(out_csv)});
  EXPECT_EQ(copy.exit_code, 0) << copy.err;
  EXPECT_TRUE(std::filesystem::exists(out_csv));
  CommandOutput several =
      Sensorpipe({"query", "--config", cfg, "--allow-any-sql", "--format", "csv",
                  "CREATE TABLE t AS SELECT n FROM read_csv(" + quoted(out_csv) + "); SELECT n + 1 AS m FROM t"});
  EXPECT_EQ(several.exit_code, 0) << several.err;
  EXPECT_EQ(several.out, "m\r\n43\r\n") << several.err;

  CommandOutput help = Sensorpipe({"query", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--allow-any-sql"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("COPY, EXPORT, ATTACH"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("outside the lake"), std::string::npos) << help.out;
}

// A rule comparing a sensor field (a number) with a string would drop every message: start-up
// stops at it, with the config's file:line and a caret, like any other type error.
TEST(Cli, ARuleComparingANumberWithAStringStopsStartUp) {
  TempDir dir;
  std::ofstream(dir.Sub("rule.toml")) << "data_dir = \"data\"\n\n[[rules]]\nname = \"hot\"\n"
                                         "sql = \"\"\"SELECT * FROM 'sensor/#'\nWHERE temperature > 'hot'\"\"\"\n";
  CommandOutput out = Sensorpipe({"run", "--config", dir.Sub("rule.toml")});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find(dir.Sub("rule.toml") + ":5: [[rules]] sql: rule 'hot': line 2, column 19: compares a "
                                                "number with a string\n  WHERE temperature > 'hot'\n"
                                                "                    ^"),
            std::string::npos)
      << out.err;
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("data/log"))) << "nothing started";
}

TEST(Cli, OneDaemonPerDataFolder) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto first, Daemon::Start(dir.Sub("sp"), NoBrokerUrl(), ""));
  CommandOutput second = Sensorpipe({"run", "--config", first->config_path()});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("another sensorpipe process is using"), std::string::npos) << second.err;
  ASSERT_OK_AND_ASSIGN(int code, first->Stop());
  EXPECT_EQ(code, 0) << first->process().Log();
}

}  // namespace
}  // namespace sp::testing
