// The dashboard in a real browser: the seed's day goes through a real mosquitto into a real daemon,
// then tests/browser/dashboard.mjs drives Debian's headless chromium (playwright-core from npm,
// installed by scripts/fetch-test-tools.sh) against the daemon's listener. It checks that the page
// loads without console errors or requests leaving loopback, that each panel plots exactly what
// the API answers, that switching UTC -> Asia/Seoul moves the hour labels by 9 h, that live mode
// shows a new reading (deadline 10 s: the 2 s with the 5x margin), that the PNG and CSV
// downloads work, that the page is ready before the pipeline panel's rate is (it needs a second
// scrape), that 1,000 devices (a stubbed API) still draw, that every y-axis label lies inside its
// chart (the seed's day and a cold room of -38 °C, desktop and phone), that an angle crossing
// 0°/360° is drawn without a plunge, that Pearson r waits for 10 buckets, and that with no range in
// the URL a device that started minutes ago fills the time axis. Screenshots (desktop 1400 px,
// phone 390 px) land in <build>/tests/dashboard_test.out/ to be looked at.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/http.h"
#include "support/pipeline.h"

namespace sp::testing {
namespace {

constexpr const char* kToken = "dashboard-test-token";
// The seed's day in its own zone (UTC+9): readings from 00:00 to 14:59:50.
constexpr const char* kFrom = "2022-07-14T00:00:00+09:00";
constexpr const char* kTo = "2022-07-15T00:00:00+09:00";

// How many temperature readings /api/series counts in the seed's day (-1 when it cannot answer).
int64_t CountedReadings(int port) {
  auto res =
      HttpGet(port, "/api/series?metric=temperature&agg=count&bucket=1d&tz=Asia/Seoul&from=1657724400&to=1657810800");
  if (!res.ok() || res->status != 200) return -1;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(res->body)).get(doc) != simdjson::SUCCESS) return -1;
  int64_t total = 0;
  simdjson::dom::array series;
  if (doc["series"].get_array().get(series) != simdjson::SUCCESS) return -1;
  for (auto s : series) {
    simdjson::dom::array points;
    if (s["points"].get_array().get(points) != simdjson::SUCCESS) return -1;
    for (auto p : points) {
      double n = 0;
      if (p.at(1).get_double().get(n) != simdjson::SUCCESS) {
        int64_t i = 0;
        if (p.at(1).get_int64().get(i) != simdjson::SUCCESS) return -1;
        n = static_cast<double>(i);
      }
      total += static_cast<int64_t>(n);
    }
  }
  return total;
}

class Dashboard : public ::testing::Test {
 protected:
  void SetUp() override {
    // The seed's stamps are device time at UTC+9 without a zone; the token lets the browser test
    // publish its live reading through POST /v1/ingest.
    ASSERT_OK_AND_ASSIGN(pipeline_, Pipeline::Start(dir_.path(),
                                                    "[ingest]\ndevice_time_zone = \"Asia/Seoul\"\n"
                                                    "[delivery]\ninterval_s = 1\n"
                                                    "[http]\ntoken = \"" +
                                                        std::string(kToken) + "\"\n"));
  }

  TempDir dir_;
  Pipeline pipeline_;
};

TEST_F(Dashboard, InHeadlessChromium) {
  ASSERT_TRUE(std::filesystem::exists(SourceDir() + "/.cache/browser/node_modules/playwright-core/package.json"))
      << "no playwright-core in .cache/browser: run scripts/fetch-test-tools.sh";
  const char* chromium = std::getenv("SP_CHROMIUM");
  ASSERT_EQ(::access(chromium ? chromium : "/usr/bin/chromium", X_OK), 0)
      << "no chromium: run scripts/bootstrap.sh (Debian's chromium package)";

  // The seed's day, and one malformed message so the pipeline panel has a rejection to show.
  ASSERT_OK(pipeline_.broker->Publish({"-l"}, ReadFile(FixturesDir() + "/seed_day.ndjson") + "{not json\n"));
  ASSERT_TRUE(WaitUntil([&] { return CountedReadings(pipeline_.daemon->http_port()) == kSeedRows; }, kDeadline))
      << "counted: " << CountedReadings(pipeline_.daemon->http_port()) << "\n"
      << pipeline_.daemon->process().Log();
  ASSERT_TRUE(WaitUntil(
      [&] { return pipeline_.daemon->Metric("sensorpipe_messages_rejected_total{reason=\"malformed_json\"}") == 1; },
      kDeadline));
  // The lake too, so the pipeline panel has objects to count.
  ASSERT_TRUE(WaitUntil(
      [&] { return pipeline_.daemon->Metric("sensorpipe_lake_files{view=\"readings\",format=\"ndjson.zst\"}") > 0; },
      kDeadline));

  // The live reading: five seconds after the seed's last one, so it opens a new hour of one
  // reading, which the hourly charts must flag as half-empty.
  const std::string expectations = std::string("{\"from\":\"") + kFrom + "\",\"to\":\"" + kTo +
                                   "\",\"device\":\"raspberrypi\",\"token\":\"" + kToken +
                                   "\",\"live_deadline_ms\":10000,\"live_reading\":{\"client_id\":\"raspberrypi\","
                                   "\"timestamp\":\"2022-07-14T15:00:05+09:00\",\"temperature\":41.25,"
                                   "\"humidity\":40.5,\"pressure\":1009.5,\"pitch\":1.5,\"roll\":359.5,"
                                   "\"yaw\":185.5,\"count\":5400}}";
  const std::string out = TestOutDir("dashboard_test.out");
  std::filesystem::remove_all(out);
  const std::string base = "http://127.0.0.1:" + std::to_string(pipeline_.daemon->http_port());
  ASSERT_OK_AND_ASSIGN(CommandOutput node,
                       RunCommand({"node", SourceDir() + "/tests/browser/dashboard.mjs", base, out, expectations},
                                  std::chrono::seconds(600)));
  std::ofstream(out + "/report.json") << node.out;
  EXPECT_EQ(node.exit_code, 0) << node.out << "\n" << node.err << "\n" << pipeline_.daemon->process().Log();
  EXPECT_NE(node.out.find("\"ok\": true"), std::string::npos) << node.out;
  for (const char* shot : {"desktop-ready.png", "desktop.png", "desktop-utc.png", "desktop-live.png",
                           "desktop-cold.png", "desktop-fresh.png", "fleet.png", "phone.png", "phone-cold.png"}) {
    EXPECT_TRUE(std::filesystem::exists(out + "/" + shot)) << shot;
  }
  std::cout << "dashboard_test: screenshots and report in " << out << "\n";
}

}  // namespace
}  // namespace sp::testing
