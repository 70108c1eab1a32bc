// End to end, on real parts: mosquitto_pub -> mosquitto -> sensorpipe run -> log -> lake -> query.
// The seed's day of messages must come back exactly (rows, hourly averages and maxima, the
// temperature-humidity correlation of seed_day.expected.csv), hostile messages must be rejected
// with their reason and counted without stopping anything, and the data must stay queryable
// after the daemon stops.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/http.h"
#include "support/pipeline.h"

namespace sp::testing {
namespace {

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  return out;
}

int64_t CountRows(const Daemon& d, const std::string& sql) {
  auto out = d.Query(sql, "csv");
  if (!out.ok()) return -1;
  auto lines = Lines(*out);
  return lines.size() == 2 ? std::stoll(lines[1]) : -1;
}

class EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    // A one-second delivery interval keeps the test short; the seed's stamps are device time
    // at UTC+9 without a zone.
    ASSERT_OK_AND_ASSIGN(pipeline_, Pipeline::Start(dir_.path(),
                                                    "[ingest]\ndevice_time_zone = \"Asia/Seoul\"\n"
                                                    "[delivery]\ninterval_s = 1\n"));
  }

  TempDir dir_;
  Pipeline pipeline_;
};

// The seed's question, hour by hour, against the expected answers.
void ExpectTheSeedsAnswers(const Daemon& daemon) {
  ASSERT_OK_AND_ASSIGN(std::string hourly,
                       daemon.Query("SELECT date_trunc('hour', ts) AS hour_utc, count(*) AS readings, "
                                    "avg(temperature), avg(humidity), max(temperature), max(humidity) "
                                    "FROM readings GROUP BY 1 ORDER BY 1"));
  std::vector<std::string> got = Lines(hourly);
  std::vector<std::string> want;
  double want_r = 0;
  for (const auto& line : Lines(ReadFile(FixturesDir() + "/seed_day.expected.csv"))) {
    if (line.rfind("# pearson_r", 0) == 0) {
      want_r = std::stod(line.substr(line.find('=') + 1));
    } else if (!line.empty()) {
      want.push_back(line);
    }
  }
  ASSERT_EQ(got.size(), want.size()) << hourly;
  for (size_t i = 1; i < want.size(); ++i) {
    auto g = SplitCsv(got[i]);
    auto w = SplitCsv(want[i]);
    ASSERT_EQ(g.size(), w.size()) << got[i];
    EXPECT_EQ(g[0], w[0]);
    EXPECT_EQ(g[1], w[1]);
    for (size_t c = 2; c < w.size(); ++c) {
      EXPECT_NEAR(std::stod(g[c]), std::stod(w[c]), 5e-7) << "hour " << w[0] << " column " << c;
    }
  }
  ASSERT_OK_AND_ASSIGN(std::string r, daemon.Query("SELECT corr(temperature, humidity) FROM readings"));
  EXPECT_NEAR(std::stod(Lines(r)[1]), want_r, 5e-7);
}

TEST_F(EndToEnd, SeedDayComesBackExactly) {
  ASSERT_OK(pipeline_.PublishSeedDay());
  EXPECT_EQ(pipeline_.daemon->Metric("sensorpipe_messages_received_total"), 5400);
  EXPECT_EQ(pipeline_.daemon->Metric("sensorpipe_records_appended_total"), 5400);
  EXPECT_GT(pipeline_.daemon->Metric("sensorpipe_lake_files{view=\"readings\",format=\"ndjson.zst\"}"), 0);
  EXPECT_GT(pipeline_.daemon->Metric("sensorpipe_lake_bytes{view=\"readings\",format=\"ndjson.zst\"}"), 0);
  EXPECT_EQ(pipeline_.daemon->Metric("sensorpipe_compaction_last_committed_timestamp_seconds"), 0);

  // Exactly the rows: one per count, device and topic from the message, UTC timestamps.
  EXPECT_EQ(CountRows(*pipeline_.daemon,
                      "SELECT count(DISTINCT seq) FROM readings WHERE device = 'raspberrypi' AND "
                      "topic = 'sensor/data'"),
            5400);
  ASSERT_OK_AND_ASSIGN(std::string first,
                       pipeline_.daemon->Query("SELECT ts, temperature, humidity, pressure, pitch, roll, "
                                               "yaw, seq FROM readings ORDER BY ts LIMIT 1"));
  EXPECT_EQ(Lines(first)[1], "2022-07-13 15:00:00,39.743,45.259,1008.606,1.768,359.348,185.857,0");

  ExpectTheSeedsAnswers(*pipeline_.daemon);

  // The log's tools read it while the daemon runs; a replay needs the daemon stopped.
  const std::string bin = BinDir() + "/sensorpipe";
  const std::string cfg = pipeline_.daemon->config_path();
  ASSERT_OK_AND_ASSIGN(CommandOutput stat, RunCommand({bin, "log", "stat", "--config", cfg}, kDeadline));
  EXPECT_EQ(stat.exit_code, 0) << stat.err;
  EXPECT_NE(stat.out.find("stream readings: 1 shard, 5400 records"), std::string::npos) << stat.out;
  EXPECT_NE(stat.out.find("consumer lake-raw"), std::string::npos) << stat.out;
  ASSERT_OK_AND_ASSIGN(CommandOutput tail, RunCommand({bin, "log", "tail", "--config", cfg, "-n", "3"}, kDeadline));
  EXPECT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_EQ(Lines(tail.out).size(), 3u) << tail.out;
  EXPECT_EQ(tail.out.rfind("{\"stream\":\"readings\",\"shard\":", 0), 0u) << tail.out;
  // AFTER_SEQUENCE_NUMBER (the seed's one device is in one shard).
  ASSERT_OK_AND_ASSIGN(tail, RunCommand({bin, "log", "tail", "--config", cfg, "--from", "after:0", "-n", "1"}, kDeadline));
  EXPECT_NE(tail.out.find("\"offset\":1,"), std::string::npos) << tail.out << tail.err;
  // AT_TIMESTAMP: the seed's last reading is at 05:59:50 UTC.
  ASSERT_OK_AND_ASSIGN(tail, RunCommand({bin, "log", "tail", "--config", cfg, "--from", "2022-07-14T14:59:50+09:00"}, kDeadline));
  EXPECT_EQ(Lines(tail.out).size(), 1u) << tail.out << tail.err;
  EXPECT_NE(tail.out.find("\"seq\":5399"), std::string::npos) << tail.out;
  ASSERT_OK_AND_ASSIGN(CommandOutput busy, RunCommand({bin, "replay", "--config", cfg, "--consumer", "lake-raw", "--from",
                                                       "oldest"}, kDeadline));
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.err.find("stop the daemon before a replay"), std::string::npos) << busy.err;

  // A clean stop keeps everything queryable without the daemon.
  ASSERT_OK_AND_ASSIGN(int code, pipeline_.daemon->Stop());
  EXPECT_EQ(code, 0) << pipeline_.daemon->process().Log();
  EXPECT_EQ(CountRows(*pipeline_.daemon, "SELECT count(*) FROM readings"), 5400);

  // Compaction turns each hour into one Parquet file; the answers stay exactly the same.
  ASSERT_OK_AND_ASSIGN(CommandOutput ls, RunCommand({bin, "lake", "ls", "--config", cfg}, kDeadline));
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("readings   dt=2022-07-13/hour=15"), std::string::npos) << ls.out;
  ASSERT_OK_AND_ASSIGN(CommandOutput compact, RunCommand({bin, "compact", "--now", "--config", cfg}, kDeadline));
  EXPECT_EQ(compact.exit_code, 0) << compact.err;
  EXPECT_NE(compact.err.find("[1/15] dt=2022-07-13/hour=15"), std::string::npos) << compact.err;
  EXPECT_NE(compact.err.find("15 partitions compacted"), std::string::npos) << compact.err;
  ASSERT_OK_AND_ASSIGN(ls, RunCommand({bin, "lake", "ls", "--config", cfg}, kDeadline));
  EXPECT_NE(ls.out.find("    0        15         5400"), std::string::npos) << ls.out;  // total: no raw, 15 Parquet
  EXPECT_NE(ls.out.find("committed"), std::string::npos) << ls.out;
  ExpectTheSeedsAnswers(*pipeline_.daemon);

  // The Kappa way to reprocess: rewind the lake's consumer; the next start rebuilds the lake from
  // the log, every record exactly once.
  ASSERT_OK_AND_ASSIGN(CommandOutput replay, RunCommand({bin, "replay", "--config", cfg, "--consumer", "lake-raw",
                                                         "--from", "oldest"}, kDeadline));
  EXPECT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_NE(replay.out.find("rewritten from the log"), std::string::npos) << replay.out;
  ASSERT_OK(pipeline_.daemon->Restart());
  ASSERT_OK_AND_ASSIGN(code, pipeline_.daemon->Stop());
  EXPECT_EQ(code, 0) << pipeline_.daemon->process().Log();
  EXPECT_EQ(CountRows(*pipeline_.daemon, "SELECT count(*) FROM readings"), 5400);
  EXPECT_EQ(CountRows(*pipeline_.daemon, "SELECT count(DISTINCT seq) FROM readings"), 5400);
}

// The bad messages of the fixture and generated oversize payloads, each after nine good ones (10%
// bad), in one QoS 1 stream: every good one arrives, every bad one is in the error output with
// its reason and raw bytes, and the daemon keeps running.
TEST_F(EndToEnd, HostileMessagesAreRejectedCountedAndKept) {
  std::vector<std::string> reasons = ExpectedBadMessageReasons();
  std::vector<std::string> bad = Lines(ReadFile(FixturesDir() + "/bad_messages.txt"));
  ASSERT_EQ(bad.size(), reasons.size());
  // Oversize: one byte over the default 128 KiB limit, and far over it.
  for (size_t size : {131073, 400000, 2 << 20}) {
    bad.push_back(std::string(size, 'x'));
    reasons.push_back("oversize");
  }
  std::string stream;
  int good = 0;
  for (const auto& line : bad) {
    for (int i = 0; i < 9; ++i, ++good) {
      stream += R"({"client_id":"pi-2","timestamp":"2022-07-14 00:00:00","temperature":20.5,"count":)" +
                std::to_string(good) + "}\n";
    }
    stream += line + "\n";
  }
  ASSERT_OK(pipeline_.broker->Publish({"-l"}, stream));

  std::map<std::string, int> want;
  for (const auto& r : reasons) ++want[r];
  ASSERT_TRUE(WaitUntil(
      [&] { return pipeline_.daemon->Metric("sensorpipe_messages_received_total") == bad.size() + good; }, kDeadline))
      << pipeline_.daemon->process().Log();
  for (const auto& [reason, n] : want) {
    // A message is counted as received before its rejection is: wait for the count to arrive.
    const std::string sample = "sensorpipe_messages_rejected_total{reason=\"" + reason + "\"}";
    WaitUntil([&] { return pipeline_.daemon->Metric(sample) >= n; }, kDeadline);
    EXPECT_EQ(pipeline_.daemon->Metric(sample), n) << reason;
  }
  EXPECT_TRUE(pipeline_.daemon->process().Running());

  ASSERT_TRUE(WaitUntil(
      [&] { return CountRows(*pipeline_.daemon, "SELECT count(DISTINCT seq) FROM readings") == good; }, kDeadline));
  EXPECT_EQ(CountRows(*pipeline_.daemon, "SELECT count(*) FROM readings"), good);
  ASSERT_TRUE(
      WaitUntil([&] { return CountRows(*pipeline_.daemon, "SELECT count(*) FROM errors") == int64_t(reasons.size()); },
                kDeadline));
  // Each rejected message is in the error output with its reason and raw bytes.
  ASSERT_OK_AND_ASSIGN(std::string errors,
                       pipeline_.daemon->Query("SELECT reason, count(*) FROM errors GROUP BY 1 ORDER BY 1", "csv"));
  std::map<std::string, int> got;
  for (const auto& line : Lines(errors)) {
    auto cells = SplitCsv(line);
    if (cells[0] != "reason") got[cells[0]] = std::stoi(cells[1]);
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(CountRows(*pipeline_.daemon,
                      "SELECT count(*) FROM errors WHERE raw = 'not json at all' AND topic = 'sensor/data'"),
            1);
  ASSERT_OK_AND_ASSIGN(int code, pipeline_.daemon->Stop());
  EXPECT_EQ(code, 0);
}

TEST_F(EndToEnd, HealthMetricsAndDashboard) {
  ASSERT_OK(pipeline_.broker->Publish(
      {"-m", R"({"client_id":"pi-3","timestamp":"2022-07-14 09:30:00","temperature":21.5,"humidity":40})"}, ""));
  ASSERT_TRUE(WaitUntil([&] { return CountRows(*pipeline_.daemon, "SELECT count(*) FROM readings") == 1; }, kDeadline));

  ASSERT_OK_AND_ASSIGN(HttpResponse health, HttpGet(pipeline_.daemon->http_port(), "/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_NE(health.body.find("\"ok\""), std::string::npos);
  ASSERT_OK_AND_ASSIGN(HttpResponse ready, HttpGet(pipeline_.daemon->http_port(), "/readyz"));
  EXPECT_EQ(ready.status, 200);
  // Without the broker the daemon is alive but not ready, and says why.
  ASSERT_OK(pipeline_.broker->Stop());
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto r = HttpGet(pipeline_.daemon->http_port(), "/readyz");
        return r.ok() && r->status == 503;
      },
      kDeadline));
  ASSERT_OK_AND_ASSIGN(health, HttpGet(pipeline_.daemon->http_port(), "/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_NE(health.body.find("\"mqtt_connected\":false"), std::string::npos) << health.body;
  ASSERT_OK(pipeline_.broker->Restart());

  ASSERT_OK_AND_ASSIGN(HttpResponse metrics, HttpGet(pipeline_.daemon->http_port(), "/metrics"));
  EXPECT_EQ(metrics.status, 200);
  for (const char* name : {"sensorpipe_messages_received_total", "sensorpipe_records_appended_total",
                           "sensorpipe_records_delivered_total", "sensorpipe_messages_rejected_total"}) {
    EXPECT_NE(metrics.body.find(std::string("# TYPE ") + name + " counter"), std::string::npos) << name;
  }
  // Prometheus's own checker, when installed, validates the exposition format.
  if (RunCommand({"sh", "-c", "command -v promtool"}, kDeadline)->exit_code == 0) {
    ASSERT_OK_AND_ASSIGN(CommandOutput check, RunCommand({"promtool", "check", "metrics"}, kDeadline, metrics.body));
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  }

  // The dashboard and its script come from the binary; its data from the API (the browser test,
  // dashboard_test, checks what the page draws).
  ASSERT_OK_AND_ASSIGN(HttpResponse page, HttpGet(pipeline_.daemon->http_port(), "/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.content_type.find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("/assets/app.js"), std::string::npos) << page.body;
  ASSERT_OK_AND_ASSIGN(HttpResponse script, HttpGet(pipeline_.daemon->http_port(), "/assets/app.js"));
  EXPECT_EQ(script.status, 200);
  EXPECT_NE(script.content_type.find("javascript"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(HttpResponse series, HttpGet(pipeline_.daemon->http_port(),
                                                    "/api/series?metric=temperature&bucket=1h&device=pi-3&"
                                                    "from=2022-07-14T00:00:00Z&to=2022-07-14T01:00:00Z"));
  EXPECT_EQ(series.status, 200);
  // 09:30 at UTC+9 is in the hour from 00:00 UTC.
  EXPECT_NE(series.body.find(R"({"device":"pi-3","points":[[1657756800000,21.5]]})"), std::string::npos) << series.body;
}

// Two daemons with one shared subscription split the stream: each message reaches exactly one.
TEST(SharedSubscription, TwoDaemonsSplitOneStream) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto broker, Mosquitto::Start(dir.Sub("broker")));
  auto start = [&](const std::string& name) {
    return Daemon::Start(dir.Sub(name), broker->url(),
                         "[mqtt]\nclient_id = \"" + name +
                             "\"\ntopics = [\"$share/sensorpipe/sensor/#\"]\n[delivery]\ninterval_s = 1\n");
  };
  ASSERT_OK_AND_ASSIGN(auto a, start("sp-a"));
  ASSERT_OK_AND_ASSIGN(auto b, start("sp-b"));
  ASSERT_OK(a->WaitConnected());
  ASSERT_OK(b->WaitConnected());
  std::string lines;
  for (int i = 0; i < 200; ++i) {
    lines += "{\"client_id\":\"pi-s\",\"timestamp\":\"2022-07-14 00:00:00\",\"count\":" + std::to_string(i) + "}\n";
  }
  ASSERT_OK(broker->Publish({"-l"}, lines));
  auto received = [&](Daemon& d) { return d.Metric("sensorpipe_messages_received_total"); };
  ASSERT_TRUE(WaitUntil([&] { return received(*a) + received(*b) == 200; }, kDeadline))
      << received(*a) << " + " << received(*b);
  EXPECT_GT(received(*a), 0);
  EXPECT_GT(received(*b), 0);
  ASSERT_OK(a->Stop().status());
  ASSERT_OK(b->Stop().status());
  const int64_t in_a = CountRows(*a, "SELECT count(DISTINCT seq) FROM readings");
  const int64_t in_b = CountRows(*b, "SELECT count(DISTINCT seq) FROM readings");
  EXPECT_EQ(in_a + in_b, 200);
}

// [[rules]]: SQL rules from the config pick, reshape and route messages; one message can feed
// two streams, a WHERE drops what the user does not want (counted), and a stream other than
// readings gets a lake folder of its own.
TEST(Rules, SqlRulesFromTheConfigRouteMessages) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(Pipeline p, Pipeline::Start(dir.path(), R"([mqtt]
topics = ["sensor/#", "other/#"]

[delivery]
interval_s = 1

[[rules]]
name = "plausible"
sql = """
  SELECT *, topic(2) AS client_id
  FROM 'sensor/+/data'
  WHERE temperature > -40 AND temperature < 85"""

[[rules]]
name = "hot"
sql = "SELECT topic(2) AS device, temperature, upper(room) AS room FROM 'sensor/+/data' WHERE temperature > 30"
stream = "alerts"
)"));
  const std::vector<std::pair<std::string, std::string>> messages = {
      {"sensor/pi-a/data", R"({"client_id":"spoof","timestamp":"2022-07-14 00:00:00","temperature":20,"room":"hall"})"},
      {"sensor/pi-a/data",
       R"({"client_id":"spoof","timestamp":"2022-07-14 00:00:01","temperature":35,"room":"attic"})"},
      {"sensor/pi-b/data", R"({"client_id":"spoof","timestamp":"2022-07-14 00:00:02","temperature":-55})"},
      {"other/topic", R"({"client_id":"x","timestamp":"2022-07-14 00:00:03","temperature":1})"},
  };
  for (const auto& [topic, payload] : messages) ASSERT_OK(p.broker->Publish({"-m", payload}, "", topic));
  // The device comes from the topic; the cold reading and the other topic were dropped.
  ASSERT_TRUE(WaitUntil([&] { return p.daemon->Metric("sensorpipe_messages_received_total") == 4; }, kDeadline));
  ASSERT_TRUE(WaitUntil(
      [&] { return CountRows(*p.daemon, "SELECT count(*) FROM readings WHERE device = 'pi-a'") == 2; }, kDeadline));
  EXPECT_EQ(CountRows(*p.daemon, "SELECT count(*) FROM readings"), 2);
  EXPECT_EQ(p.daemon->Metric("sensorpipe_messages_filtered_total"), 2);
  EXPECT_EQ(p.daemon->Metric("sensorpipe_records_appended_total"), 3);
  // The alert is in its own stream, keyed by device, and delivered under lake/alerts/.
  ASSERT_OK_AND_ASSIGN(CommandOutput tail, RunCommand({BinDir() + "/sensorpipe", "log", "tail", "--config",
                                                       p.daemon->config_path(), "--stream", "alerts"},
                                                      kDeadline));
  EXPECT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_NE(tail.out.find(R"("key":"pi-a")"), std::string::npos) << tail.out;
  EXPECT_NE(tail.out.find(R"("value":{"device":"pi-a","temperature":35,"room":"ATTIC"})"), std::string::npos)
      << tail.out;
  ASSERT_OK_AND_ASSIGN(int code, p.daemon->Stop());
  EXPECT_EQ(code, 0);
  bool delivered = false;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.Sub("sp/data/lake/alerts"))) {
    delivered |= entry.path().filename().string().rfind("alerts-", 0) == 0;
  }
  EXPECT_TRUE(delivered);
}

TEST(Rules, ABadRuleStopsStartUpWithAPointerToTheMistake) {
  TempDir dir;
  std::ofstream(dir.Sub("rules.toml")) << "data_dir = \"d\"\n\n[[rules]]\nname = \"r1\"\n"
                                          "sql = \"SELECT temperature + 'x' AS t FROM 'sensor/#'\"\n";
  ASSERT_OK_AND_ASSIGN(CommandOutput out,
                       RunCommand({BinDir() + "/sensorpipe", "run", "--config", dir.Sub("rules.toml")}, kDeadline));
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find(dir.Sub("rules.toml") + ":5: [[rules]] sql: rule 'r1': line 1, column 22: arithmetic needs "
                                                 "a number, but this is a string"),
            std::string::npos)
      << out.err;
  EXPECT_NE(out.err.find("\n" + std::string(23, ' ') + "^"), std::string::npos) << out.err;
  std::ofstream(dir.Sub("stream.toml"))
      << "[[rules]]\nname = \"r\"\nsql = \"SELECT * FROM '#'\"\nstream = \"errors\"\n";
  ASSERT_OK_AND_ASSIGN(out,
                       RunCommand({BinDir() + "/sensorpipe", "run", "--config", dir.Sub("stream.toml")}, kDeadline));
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("stream.toml:4: [[rules]] stream: \"errors\" is reserved"), std::string::npos) << out.err;
  std::ofstream(dir.Sub("key.toml")) << "[[rules]]\nname = \"r\"\nsql = \"SELECT * FROM '#'\"\nwhere = 1\n";
  ASSERT_OK_AND_ASSIGN(out, RunCommand({BinDir() + "/sensorpipe", "run", "--config", dir.Sub("key.toml")}, kDeadline));
  EXPECT_NE(out.err.find("key.toml:4: [[rules]] where: unknown key"), std::string::npos) << out.err;
}

// POST /v1/ingest: the same rule, the same stores, an answer only after the durable append, per
// line what was rejected, and a bearer token always.
TEST(HttpIngest, NdjsonAndArraysWithAToken) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto daemon, Daemon::Start(dir.Sub("sp"), NoBrokerUrl(),
                                                  "[delivery]\ninterval_s = 1\n"
                                                  "[http]\ntoken = \"s3cret\"\n"));
  auto post = [&](const std::string& body, const std::string& auth, const std::string& query = "") {
    std::vector<std::string> argv = {"curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", "--data-binary", "@-",
                                     "-H", "Content-Type: application/x-ndjson"};
    if (!auth.empty()) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + auth});
    argv.push_back("http://127.0.0.1:" + std::to_string(daemon->http_port()) + "/v1/ingest" + query);
    auto out = RunCommand(argv, kDeadline, body);
    return out.ok() ? out->out : std::string("curl failed");
  };
  const std::string ndjson =
      "{\"client_id\":\"pi-h\",\"timestamp\":\"2022-07-14T00:00:00Z\",\"temperature\":20.5,\"count\":1}\n"
      "not json\n"
      "\n"
      "{\"client_id\":\"pi-h\",\"timestamp\":1657756800,\"humidity\":40,\"count\":2}\n";
  std::string answer = post(ndjson, "s3cret");
  EXPECT_NE(answer.find(
                "{\"accepted\":2,\"rejected\":1,\"filtered\":0,\"errors\":[{\"line\":2,\"reason\":\"malformed_json\""),
            std::string::npos)
      << answer;
  EXPECT_EQ(answer.substr(answer.size() - 3), "200") << answer;
  answer = post("[{\"client_id\":\"pi-h\",\"timestamp\":\"2022-07-14 00:00:02\",\"count\":3},{\"timestamp\":1}]", "s3cret");
  EXPECT_NE(
      answer.find("{\"accepted\":1,\"rejected\":1,\"filtered\":0,\"errors\":[{\"line\":2,\"reason\":\"missing_field\""),
      std::string::npos)
      << answer;
  EXPECT_EQ(answer.substr(answer.size() - 3), "200") << answer;
  auto status = [](const std::string& a) { return a.substr(a.size() - 3); };
  EXPECT_EQ(status(post("[1,", "s3cret")), "400");
  EXPECT_EQ(status(post(ndjson, "")), "401");
  EXPECT_EQ(status(post(ndjson, "wrong")), "401");
  // A request may name the topic its messages are published to, for rules that match topics.
  answer = post("{\"client_id\":\"pi-t\",\"timestamp\":1657756800}\n{\"client_id\":\"pi-t\"}\n", "s3cret",
                "?topic=sensor%2Fpi-t%2Fdata");
  EXPECT_NE(answer.find("{\"accepted\":1,\"rejected\":1,"), std::string::npos) << answer;
  EXPECT_EQ(status(post(ndjson, "s3cret", "?topic=sensor%2F%2B")), "400");
  EXPECT_EQ(status(post(ndjson, "s3cret", "?topic=")), "400");
  // What was acknowledged is stored: three readings and two errors with topic "http", one of
  // each with the topic named.
  ASSERT_TRUE(WaitUntil([&] { return CountRows(*daemon, "SELECT count(*) FROM readings WHERE device = 'pi-h'") == 3; },
                        kDeadline));
  ASSERT_TRUE(WaitUntil([&] { return CountRows(*daemon, "SELECT count(*) FROM errors WHERE topic = 'http'") == 2; },
                        kDeadline));
  ASSERT_TRUE(WaitUntil(
      [&] { return CountRows(*daemon, "SELECT count(*) FROM readings WHERE topic = 'sensor/pi-t/data'") == 1; },
      kDeadline));
  ASSERT_TRUE(
      WaitUntil([&] { return CountRows(*daemon, "SELECT count(*) FROM errors WHERE topic = 'sensor/pi-t/data'") == 1; },
                kDeadline));
  ASSERT_OK_AND_ASSIGN(int code, daemon->Stop());
  EXPECT_EQ(code, 0);
}

TEST(HttpIngest, NoTokenNoWrites) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto daemon, Daemon::Start(dir.Sub("sp"), NoBrokerUrl(), ""));
  ASSERT_OK_AND_ASSIGN(CommandOutput out,
                       RunCommand({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--data-binary",
                                   "{}", "http://127.0.0.1:" + std::to_string(daemon->http_port()) + "/v1/ingest"},
                                  kDeadline));
  EXPECT_EQ(out.out, "403");
}

}  // namespace
}  // namespace sp::testing
