// The dashboard's JSON API on real parts (docs/api.md): the seed's day through mosquitto into a
// daemon, then every /api/series parameter against the seed's expected answers and the lake's own
// SQL, bad parameters answered with 400 and a reason, the rollup rebuilt after a restart, live
// events, and /api/query's lockdown (one SELECT, no files outside the lake, a timeout). And
// POST /v1/ingest as the README shows it (HttpIngestApi).
#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/http.h"
#include "support/pipeline.h"

namespace sp::testing {
namespace {

constexpr int64_t kFirstUtcHourMs = 1657724400000;  // 2022-07-13 15:00 UTC, 2022-07-14 00:00 in Seoul

std::string Encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// A suite's broker and daemon in a folder of their own, made by SetUpTestSuite and deleted by
// TearDownTestSuite: the pipeline goes first, then its folder.
struct SuiteParts {
  TempDir dir;
  Pipeline pipeline;
};

struct Series {
  std::string source;
  int64_t bucket_s = 0;
  std::map<std::string, std::vector<std::pair<int64_t, double>>> points;  // by device
};

class Api : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    parts_ = new SuiteParts;
    // A slow query must be stoppable: a short timeout. The row limit is small enough to hit.
    ASSERT_OK_AND_ASSIGN(parts_->pipeline, Pipeline::Start(parts_->dir.path(),
                                                           "[ingest]\ndevice_time_zone = \"Asia/Seoul\"\n"
                                                           "[delivery]\ninterval_s = 1\n"
                                                           "[query]\nrow_limit = 1000\ntimeout_ms = 1000\n"
                                                           "[http]\ntoken = \"t0ken\"\n"));
    daemon_ = parts_->pipeline.daemon.get();
    ASSERT_OK(parts_->pipeline.broker->Publish({"-l"}, ReadFile(FixturesDir() + "/seed_day.ndjson")));
    // The rollup follows the log: every reading counts before delivery has written anything.
    ASSERT_TRUE(WaitUntil([] { return TotalCount() == kSeedRows; }, kDeadline)) << daemon_->process().Log();
  }
  static void TearDownTestSuite() { delete parts_; }

  static Result<HttpResponse> Get(const std::string& path) { return HttpGet(daemon_->http_port(), path); }

  //! GET /api/series?query; fails the test unless it answers 200.
  static Series GetSeries(const std::string& query) {
    Series out;
    auto res = Get("/api/series?" + query);
    EXPECT_TRUE(res.ok() && res->status == 200) << query << ": " << (res.ok() ? res->body : res.status().ToString());
    if (!res.ok() || res->status != 200) return out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(res->body);
    out.source = std::string(doc["source"].get_string().value());
    out.bucket_s = doc["bucket_s"].get_int64().value();
    for (auto s : doc["series"].get_array()) {
      auto& points = out.points[std::string(s["device"].get_string().value())];
      for (auto p : s["points"].get_array()) {
        points.emplace_back(p.at(0).get_int64().value(), p.at(1).get_double().value());
      }
    }
    return out;
  }

  static int64_t TotalCount() {
    Series s = GetSeries("metric=temperature&agg=count&bucket=1d&from=1600000000&to=1700000000");
    int64_t n = 0;
    for (const auto& [d, points] : s.points) {
      for (const auto& p : points) n += static_cast<int64_t>(p.second);
    }
    return n;
  }

  //! The answer's status and body for a request that must fail.
  static std::pair<int, std::string> Fails(const std::string& path) {
    auto res = Get(path);
    if (!res.ok()) return {0, res.status().ToString()};
    return {res->status, res->body};
  }

  static SuiteParts* parts_;
  static Daemon* daemon_;
};

SuiteParts* Api::parts_ = nullptr;
Daemon* Api::daemon_ = nullptr;

const std::string kSeedDay = "from=" + Encode("2022-07-14T00:00:00+09:00") + "&to=" + Encode("2022-07-15T00:00:00+09:00");

// The seed's hourly answers (seed_day.expected.csv) from the rollup, in UTC and in Seoul.
TEST_F(Api, HourlySeriesAreTheSeedsAnswers) {
  std::vector<std::vector<double>> want;  // readings, avg t, avg h, max t, max h
  std::istringstream csv(ReadFile(FixturesDir() + "/seed_day.expected.csv"));
  std::string line;
  std::getline(csv, line);
  while (std::getline(csv, line) && line[0] != '#') {
    std::vector<double> row;
    std::stringstream cells(line.substr(line.find(',') + 1));
    for (std::string cell; std::getline(cells, cell, ',');) row.push_back(std::stod(cell));
    want.push_back(row);
  }
  ASSERT_EQ(want.size(), 15u);
  const std::vector<std::pair<std::string, int>> columns = {
      {"metric=temperature&agg=count", 0}, {"metric=temperature&agg=avg", 1}, {"metric=humidity", 2},
      {"metric=temperature&agg=max", 3},   {"metric=humidity&agg=max", 4}};
  for (const char* tz : {"UTC", "Asia/Seoul"}) {
    for (const auto& [params, column] : columns) {
      Series s = GetSeries(params + "&bucket=1h&device=raspberrypi&tz=" + Encode(tz) + "&" + kSeedDay);
      EXPECT_EQ(s.source, "rollup");
      ASSERT_EQ(s.points["raspberrypi"].size(), 15u) << params;
      for (size_t h = 0; h < 15; ++h) {
        EXPECT_EQ(s.points["raspberrypi"][h].first, kFirstUtcHourMs + static_cast<int64_t>(h) * 3'600'000);
        EXPECT_NEAR(s.points["raspberrypi"][h].second, want[h][column], 5e-7) << params << " hour " << h;
      }
    }
  }
}

// Local buckets: a Seoul day holds the whole seed, a UTC day cuts it at 09:00 Seoul; Kolkata's hours
// start at :30 UTC; auto picks a bucket; several devices and an unknown one.
TEST_F(Api, BucketsAlignToTheZone) {
  Series seoul = GetSeries("metric=temperature&agg=count&bucket=1d&tz=Asia%2FSeoul&" + kSeedDay);
  ASSERT_EQ(seoul.points["raspberrypi"].size(), 1u);
  EXPECT_EQ(seoul.points["raspberrypi"][0], std::make_pair(kFirstUtcHourMs, 5400.0));
  Series utc = GetSeries("metric=temperature&agg=count&bucket=1d&tz=UTC&" + kSeedDay);
  ASSERT_EQ(utc.points["raspberrypi"].size(), 2u);
  EXPECT_EQ(utc.points["raspberrypi"][0], std::make_pair(kFirstUtcHourMs - 15 * 3'600'000, 9 * 360.0));
  EXPECT_EQ(utc.points["raspberrypi"][1].second, 6 * 360.0);

  Series kolkata = GetSeries("metric=humidity&agg=count&bucket=1h&tz=Asia%2FKolkata&" + kSeedDay);
  ASSERT_EQ(kolkata.points["raspberrypi"].size(), 16u);
  EXPECT_EQ(kolkata.points["raspberrypi"][0], std::make_pair(kFirstUtcHourMs - 1'800'000, 180.0));
  EXPECT_EQ(kolkata.source, "rollup");  // from minutes

  Series automatic = GetSeries("metric=pressure&" + kSeedDay);
  EXPECT_EQ(automatic.bucket_s, 300);  // a day in at most 500 buckets
  EXPECT_EQ(automatic.points["raspberrypi"].size(), 15u * 12);

  Series both = GetSeries("metric=yaw&bucket=1h&device=raspberrypi&device=nope&" + kSeedDay);
  EXPECT_EQ(both.points.size(), 1u);
  EXPECT_EQ(GetSeries("metric=yaw&bucket=1h&device=nope&" + kSeedDay).points.size(), 0u);
}

// A bucket finer than a minute comes from the lake; once delivered it agrees with the rollup, and
// the rollup agrees with the lake's own SQL through /api/query.
TEST_F(Api, RollupLakeAndSqlAgree) {
  ASSERT_TRUE(WaitUntil(
      [] {
        Series fine = GetSeries("metric=roll&agg=count&bucket=30&" + kSeedDay);
        double n = 0;
        for (const auto& p : fine.points["raspberrypi"]) n += p.second;
        return n == 5400;
      },
      kDeadline));
  Series fine = GetSeries("metric=roll&agg=min&bucket=30&" + kSeedDay);
  EXPECT_EQ(fine.source, "lake");
  EXPECT_EQ(fine.points["raspberrypi"].size(), 5400u / 3);

  // Each metric's minute averages from the rollup against SQL written here from the definitions:
  // an arithmetic mean for temperature, the circular mean (docs/api.md, "Angles") for roll, whose
  // seed values run from 358 to 360 degrees (360 being 0).
  const std::vector<std::pair<std::string, std::string>> means = {
      {"temperature", "avg(temperature)"},
      {"roll", "(degrees(atan2(avg(sin(radians(roll))), avg(cos(radians(roll))))) + 360) % 360"},
  };
  for (const auto& [metric, mean] : means) {
    Series minutes = GetSeries("metric=" + metric + "&agg=avg&bucket=1m&" + kSeedDay);
    auto sql = Get("/api/query?sql=" + Encode("SELECT epoch_ms(date_trunc('minute', ts)) AS t, " + mean +
                                              " AS v FROM readings GROUP BY 1 ORDER BY 1"));
    ASSERT_TRUE(sql.ok() && sql->status == 200) << (sql.ok() ? sql->body : "");
    simdjson::dom::parser parser;
    auto rows = parser.parse(sql->body)["rows"].get_array().value();
    ASSERT_EQ(rows.size(), minutes.points["raspberrypi"].size()) << metric;
    size_t i = 0;
    for (auto row : rows) {
      EXPECT_EQ(row.at(0).get_int64().value(), minutes.points["raspberrypi"][i].first) << metric;
      // Angles: 359.99... against 0.00... is the same angle.
      const double d = std::abs(row.at(1).get_double().value() - minutes.points["raspberrypi"][i].second);
      EXPECT_LT(metric == "roll" ? std::min(d, 360 - d) : d, 1e-9) << metric << " at " << i;
      ++i;
    }
  }
}

TEST_F(Api, BadParametersAre400WithAReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/api/series", "metric must be one of"},
      {"/api/series?metric=wind", "not 'wind'"},
      {"/api/series?metric=humidity&agg=median", "agg must be"},
      {"/api/series?metric=humidity&bucket=0", "bucket must be"},
      {"/api/series?metric=humidity&bucket=2h30", "bucket must be"},
      {"/api/series?metric=humidity&bucket=90000", "whole days"},
      {"/api/series?metric=humidity&tz=Mars%2FOlympus", "tz must be an IANA"},
      {"/api/series?metric=humidity&from=2022-07-14%2000:00:00", "from must be ISO 8601 with an offset"},
      {"/api/series?metric=humidity&to=yesterday", "to must be"},
      {"/api/series?metric=humidity&from=1657810800&to=1657724400", "from must be before to"},
      {"/api/series?metric=humidity&bucket=1&from=1600000000&to=1700000000", "more than 100000 buckets"},
      {"/api/series?metric=humidity&device=", "device must not be empty"},
      {"/api/series?metric=humidity&devices=x", "unknown parameter 'devices'"},
      {"/api/devices?x=1", "unknown parameter 'x'"},
      {"/api/query", "sql is required"},
      {"/api/query?sql=SELECT%201&format=xml", "format must be json or csv"},
  };
  for (const auto& [path, reason] : cases) {
    auto [status, body] = Fails(path);
    EXPECT_EQ(status, 400) << path << ": " << body;
    EXPECT_NE(body.find(reason), std::string::npos) << path << ": " << body;
  }
}

TEST_F(Api, QueryIsOneSelectOverTheLakeOnly) {
  auto ok = Get("/api/query?format=csv&sql=" + Encode("SELECT count(*) AS n FROM readings"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "n\r\n5400\r\n");  // RFC 4180: CRLF
  // sum() of a BIGINT is a HUGEINT, a JSON number all the same.
  auto sum = Get("/api/query?sql=" + Encode("SELECT sum(seq) AS s, count(*) AS n FROM readings"));
  ASSERT_TRUE(sum.ok());
  EXPECT_NE(sum->body.find("\"rows\":[[" + std::to_string(5399LL * 5400 / 2) + ",5400]]"), std::string::npos)
      << sum->body;
  auto limited = Get("/api/query?sql=" + Encode("SELECT * FROM range(5000)"));
  ASSERT_TRUE(limited.ok());
  EXPECT_NE(limited->body.find("\"truncated\":true"), std::string::npos);

  const std::string passwd = "SELECT * FROM read_csv('/etc/passwd')";
  for (const std::string& sql :
       {std::string("SELECT 1; SELECT 2"), std::string("CREATE TABLE t (i INTEGER)"),
        std::string("COPY (SELECT 1) TO '") + parts_->dir.Sub("sp/data/lake/x.csv") + "'",
        std::string("ATTACH '") + parts_->dir.Sub("x.db") + "' AS x", std::string("INSTALL httpfs"),
        std::string("SET threads = 1"), std::string("PRAGMA memory_limit = '1GB'"), passwd,
        std::string("SELECT * FROM read_text('/etc/hostname')"), std::string("SELECT * FROM glob('/*')"),
        std::string("EXPORT DATABASE '") + parts_->dir.Sub("sp/data/lake/x") + "'"}) {
    auto [status, body] = Fails("/api/query?sql=" + Encode(sql));
    EXPECT_EQ(status, 400) << sql << ": " << body;
  }
  EXPECT_FALSE(std::filesystem::exists(parts_->dir.Sub("sp/data/lake/x.csv")));
  EXPECT_FALSE(std::filesystem::exists(parts_->dir.Sub("x.db")));
  EXPECT_FALSE(std::filesystem::exists(parts_->dir.Sub("sp/data/lake/x")))
      << "EXPORT made its folder while being checked";

  // Minutes of work, stopped at [query] timeout_ms (1 s) and answered 504.
  const auto started = std::chrono::steady_clock::now();
  auto [status, body] = Fails("/api/query?sql=" + Encode("SELECT count(*) FROM range(100000000000) a"));
  EXPECT_EQ(status, 504) << body;
  EXPECT_NE(body.find("longer than 1000 ms"), std::string::npos) << body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  // The engine still answers afterwards.
  auto after = Get("/api/query?sql=SELECT%201%20AS%20one");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 200);
}

// A new reading is announced on /api/events and counted once, a redelivered copy not at all; the
// device's interval is the seed's 10 s.
TEST_F(Api, LiveEventsDevicesAndDuplicates) {
  std::atomic<bool> seen{false};
  std::string received;
  std::mutex mu;
  httplib::Client client("127.0.0.1", daemon_->http_port());
  client.set_read_timeout(60);
  std::thread listener([&] {
    client.Get("/api/events", [&](const char* data, size_t n) {
      std::lock_guard lock(mu);
      received.append(data, n);
      if (received.find("\"live-1\"") != std::string::npos) seen = true;
      return !seen;
    });
  });
  // The stream is open once its first comment arrived.
  ASSERT_TRUE(WaitUntil([&] { std::lock_guard lock(mu); return received.find(": connected") != std::string::npos; },
                        kDeadline));
  const std::string message =
      R"({"client_id":"live-1","timestamp":"2022-07-14 15:00:00","temperature":21.5,"humidity":40,"count":7})";
  ASSERT_OK(parts_->pipeline.broker->Publish({"-m", message}, ""));
  EXPECT_TRUE(WaitUntil([&] { return seen.load(); }, std::chrono::seconds(10))) << received;
  if (!seen) client.stop();
  listener.join();
  ASSERT_OK(parts_->pipeline.broker->Publish({"-m", message}, ""));  // the same reading again, as a redelivery would
  ASSERT_TRUE(WaitUntil([] { return daemon_->Metric("sensorpipe_rollup_duplicates_total") == 1; }, kDeadline));
  Series live = GetSeries("metric=temperature&agg=count&bucket=1d&device=live-1&" + kSeedDay);
  ASSERT_EQ(live.points["live-1"].size(), 1u);
  EXPECT_EQ(live.points["live-1"][0].second, 1);

  auto devices = Get("/api/devices");
  ASSERT_TRUE(devices.ok() && devices->status == 200);
  simdjson::dom::parser parser;
  auto list = parser.parse(devices->body)["devices"].get_array().value();
  ASSERT_EQ(list.size(), 2u);
  auto pi = list.at(1);
  EXPECT_EQ(pi["device"].get_string().value(), "raspberrypi");
  EXPECT_EQ(pi["readings"].get_int64().value(), 5400);
  EXPECT_EQ(pi["interval_s"].get_double().value(), 10);
  EXPECT_EQ(pi["last"].get_int64().value(), kFirstUtcHourMs + 15 * 3'600'000 - 10'000);
  EXPECT_EQ(pi["last_reading"]["temperature"].get_double().value(), 35.012);
}

// The rollup is memory only: a restart rebuilds it from the lake with the same answers.
TEST_F(Api, RestartRebuildsTheRollupFromTheLake) {
  Series before = GetSeries("metric=humidity&agg=avg&bucket=15m&tz=Asia%2FSeoul&" + kSeedDay);
  ASSERT_OK(daemon_->Restart());
  ASSERT_TRUE(WaitUntil([] { return daemon_->Metric("sensorpipe_rollup_loaded") == 1; }, kDeadline));
  Series after = GetSeries("metric=humidity&agg=avg&bucket=15m&tz=Asia%2FSeoul&" + kSeedDay);
  EXPECT_EQ(after.source, "rollup");
  ASSERT_EQ(before.points.size(), after.points.size());
  for (const auto& [device, points] : before.points) {
    ASSERT_EQ(points.size(), after.points[device].size()) << device;
    for (size_t i = 0; i < points.size(); ++i) {
      EXPECT_EQ(points[i].first, after.points[device][i].first);
      EXPECT_NEAR(points[i].second, after.points[device][i].second, 1e-9);
    }
  }
}

// POST /v1/ingest as the README shows it, on a daemon of its own: a body of any Content-Type up to
// [http] max_body_bytes, every error answer JSON, a request's own zone for zone-less timestamps,
// and an oversize line kept in `errors` exactly as an oversize MQTT message is.
class HttpIngestApi : public ::testing::Test {
 protected:
  static constexpr int kMaxPayload = 256;  // the seed's lines are ~190 bytes
  static void SetUpTestSuite() {
    parts_ = new SuiteParts;
    ASSERT_OK_AND_ASSIGN(
        parts_->pipeline,
        Pipeline::Start(parts_->dir.path(), "[ingest]\nmax_payload_bytes = " + std::to_string(kMaxPayload) +
                                                "\n[delivery]\ninterval_s = 1\n"
                                                "[http]\ntoken = \"t0ken\"\nmax_body_bytes = 2000000\n"));
    daemon_ = parts_->pipeline.daemon.get();
  }
  static void TearDownTestSuite() { delete parts_; }
  static std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(daemon_->http_port()) + path;
  }
  //! Runs curl with args and the URL of path; its answer's status and body.
  static std::pair<int, std::string> Curl(std::vector<std::string> args, const std::string& path,
                                          const std::string& input = "") {
    std::vector<std::string> argv = {"curl", "-sS", "-o", "-", "-w", "\n%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(Url(path));
    auto out = RunCommand(argv, kDeadline, input);
    if (!out.ok() || out->exit_code != 0) return {0, out.ok() ? out->err : out.status().ToString()};
    const size_t nl = out->out.rfind('\n');
    return {std::atoi(out->out.c_str() + nl + 1), out->out.substr(0, nl)};
  }
  //! The rows of sql as CSV without the header and with "\n" line ends, once they are want (or the
  //! deadline passed).
  static std::string Rows(const std::string& sql, const std::string& want) {
    std::string rows;
    WaitUntil(
        [&] {
          auto csv = daemon_->Query(sql);
          rows = csv.ok() ? csv->substr(csv->find('\n') + 1) : csv.status().ToString();
          std::erase(rows, '\r');  // CSV lines may end with CRLF
          return rows == want;
        },
        kDeadline);
    return rows;
  }

  static SuiteParts* parts_;
  static Daemon* daemon_;
};

SuiteParts* HttpIngestApi::parts_ = nullptr;
Daemon* HttpIngestApi::daemon_ = nullptr;

bool IsJsonError(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view message;
  return !parser.parse(body).get(doc) && !doc["error"].get(message) && !message.empty();
}

// The README's command as written: no Content-Type, so curl sends
// application/x-www-form-urlencoded, which httplib alone caps at 8 KB with an empty 413.
TEST_F(HttpIngestApi, TheReadmesCurlTakesTheSeedsDay) {
  auto [status, body] = Curl(
      {"-H", "Authorization: Bearer t0ken", "--data-binary", "@" + FixturesDir() + "/seed_day.ndjson"}, "/v1/ingest");
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(body, "{\"accepted\":5400,\"rejected\":0,\"filtered\":0,\"errors\":[]}\n");
  const std::string want = "5400\n";
  EXPECT_EQ(Rows("SELECT count(*) FROM readings WHERE device = 'raspberrypi'", want), want);
}

TEST_F(HttpIngestApi, EveryErrorIsJson) {
  const std::string line = "{\"client_id\":\"pi-e\",\"timestamp\":1657756800}\n";
  const std::string auth = "Authorization: Bearer t0ken";
  const std::vector<std::tuple<int, std::vector<std::string>, std::string, std::string>> cases = {
      // Over [http] max_body_bytes: with a Content-Length, and chunked (no length to check first).
      {413, {"-H", auth, "--data-binary", "@-"}, "/v1/ingest", std::string(2'000'001, '\n')},
      {413,
       {"-H", auth, "-H", "Transfer-Encoding: chunked", "--data-binary", "@-"},
       "/v1/ingest",
       std::string(2'000'001, '\n')},
      {401, {"--data-binary", "@-"}, "/v1/ingest", line},
      {401, {"-H", "Authorization: Bearer t0kem", "--data-binary", "@-"}, "/v1/ingest", line},
      {400, {"-H", auth, "--data-binary", "@-"}, "/v1/ingest", "[1,"},
      {400, {"-H", auth, "--data-binary", "@-"}, "/v1/ingest?topic=sensor%2F%2B", line},
      {400, {"-H", auth, "--data-binary", "@-"}, "/v1/ingest?device_time_zone=Mars%2FOlympus", line},
      {400, {"-H", auth, "--data-binary", "@-"}, "/v1/ingest?devicetimezone=UTC", line},
      {400, {"-H", auth, "-H", "Content-Encoding: gzip", "--data-binary", "@-"}, "/v1/ingest", line},
      {405, {}, "/v1/ingest", ""},
      {404, {}, "/nosuch", ""},
      {404, {"--data-binary", "@-"}, "/api/devices", line},
  };
  for (const auto& [want, args, path, input] : cases) {
    auto [status, body] = Curl(args, path, input);
    EXPECT_EQ(status, want) << path << " " << ::testing::PrintToString(args) << ": " << body;
    EXPECT_TRUE(IsJsonError(body)) << path << ": " << body;
  }
  EXPECT_NE(Curl({"-H", auth, "--data-binary", "@-"}, "/v1/ingest?device_time_zone=Mars%2FOlympus", line)
                .second.find("device_time_zone: unknown time zone 'Mars/Olympus'"),
            std::string::npos);
  EXPECT_NE(Curl({"-H", auth, "--data-binary", "@-"}, "/v1/ingest", std::string(2'000'001, '\n'))
                .second.find("[http] max_body_bytes (2000000 bytes)"),
            std::string::npos);
}

// ?device_time_zone= reads this request's zone-less timestamps in that zone (the config's is UTC).
TEST_F(HttpIngestApi, ARequestNamesTheZoneOfItsTimestamps) {
  const std::string auth = "Authorization: Bearer t0ken";
  const std::string line = "{\"client_id\":\"pi-z\",\"timestamp\":\"2022-07-14 09:00:00\",\"count\":";
  EXPECT_EQ(Curl({"-H", auth, "--data-binary", "@-"}, "/v1/ingest?device_time_zone=Asia%2FSeoul", line + "1}").first,
            200);
  EXPECT_EQ(Curl({"-H", auth, "--data-binary", "@-"}, "/v1/ingest", line + "2}").first, 200);
  const std::string want = "1,2022-07-14 00:00:00\n2,2022-07-14 09:00:00\n";
  EXPECT_EQ(Rows("SELECT seq, ts FROM readings WHERE device = 'pi-z' ORDER BY seq", want), want);
}

// An oversize message is kept the same way whichever way it came in (docs/format/record.md).
TEST_F(HttpIngestApi, AnOversizeLineIsKeptAsOverMqtt) {
  std::string payload = "{\"client_id\":\"pi-o\",\"timestamp\":1657756800,\"note\":\"";
  payload += std::string(kMaxPayload, 'x') + "\"}";
  ASSERT_OK(parts_->pipeline.broker->Publish({"-m", payload}, "", "sensor/data"));
  EXPECT_EQ(Curl({"-H", "Authorization: Bearer t0ken", "--data-binary", "@-"}, "/v1/ingest?topic=sensor%2Fdata",
                 payload + "\n")
                .first,
            200);
  // One row each way, the same but for received_at; raw is the first max_payload_bytes (CSV-quoted).
  std::string raw = payload.substr(0, kMaxPayload);
  for (size_t at = 0; (at = raw.find('"', at)) != std::string::npos; at += 2) raw.insert(at, 1, '"');
  const std::string row = "sensor/data,default,oversize,payload of " + std::to_string(payload.size()) +
                          " bytes is over the limit,\"" + raw + "\",,true," + std::to_string(payload.size()) + "\n";
  EXPECT_EQ(Rows("SELECT topic, rule, reason, detail, raw, raw_base64, raw_truncated, payload_size FROM errors "
                 "WHERE reason = 'oversize' ORDER BY received_at",
                 row + row),
            row + row);
}

}  // namespace
}  // namespace sp::testing
