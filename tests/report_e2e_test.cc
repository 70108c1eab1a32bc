// `sensorpipe report` end to end, on real parts: the seed's day goes through mosquitto and a real
// daemon into the lake, and the report read back from it must find the four phases its authors
// described by hand (temperature falling to about 02, steady to about 06-07, rising to about 10,
// steady to 15, device time; humidity the mirror image) and r = -0.97, in Markdown and in HTML.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/http.h"
#include "support/pipeline.h"

namespace sp::testing {
namespace {

std::vector<std::string> Cells(const std::string& row) {
  std::vector<std::string> out;
  std::stringstream ss(row);
  std::string cell;
  std::getline(ss, cell, '|');  // before the first bar
  while (std::getline(ss, cell, '|')) {
    const size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
    out.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
  }
  return out;
}

struct Phase {
  std::string direction;
  double start_h = 0, end_h = 0;
};

double Hours(const std::string& hhmm) {
  return std::stoi(hhmm.substr(0, 2)) + std::stoi(hhmm.substr(3, 2)) / 60.0;
}

// The rows of the phase table under "#### <heading>" in the Markdown report.
std::vector<Phase> PhasesOf(const std::string& md, const std::string& heading) {
  std::vector<Phase> out;
  const auto lines = Lines(md);
  size_t i = 0;
  while (i < lines.size() && lines[i].rfind("#### " + heading, 0) != 0) ++i;
  for (i += 4; i < lines.size() && lines[i].rfind("| ", 0) == 0; ++i) {  // heading, blank, header, rule
    const auto c = Cells(lines[i]);
    if (c.size() < 4) break;
    out.push_back({c[3], Hours(c[1]), Hours(c[2])});
  }
  return out;
}

std::string Describe(const std::vector<Phase>& phases) {
  std::ostringstream s;
  for (const auto& p : phases) s << p.direction << " " << p.start_h << "-" << p.end_h << "; ";
  return s.str();
}

// Four phases, each (direction, end hour within tolerance).
void ExpectPhases(const std::vector<Phase>& got, const std::vector<std::pair<std::string, double>>& want,
                  const std::vector<double>& tolerance) {
  ASSERT_EQ(got.size(), want.size()) << Describe(got);
  EXPECT_EQ(got[0].start_h, 0) << Describe(got);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].direction, want[i].first) << Describe(got);
    EXPECT_NEAR(got[i].end_h, want[i].second, tolerance[i]) << "phase " << i << ": " << Describe(got);
  }
}

double R(const std::string& text) {
  const size_t at = text.find("r = ");
  return at == std::string::npos ? NAN : std::stod(text.substr(at + 4));
}

class ReportEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(pipeline_, Pipeline::Start(dir_.path(),
                                                    "[ingest]\ndevice_time_zone = \"Asia/Seoul\"\n"
                                                    "[delivery]\ninterval_s = 1\n"));
    ASSERT_OK(pipeline_.PublishSeedDay());
  }

  Result<CommandOutput> Report(std::vector<std::string> args) {
    std::vector<std::string> argv = {BinDir() + "/sensorpipe", "report", "--config", pipeline_.daemon->config_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, kDeadline);
  }

  TempDir dir_;
  Pipeline pipeline_;
};

TEST_F(ReportEndToEnd, FindsTheSeedsPhasesAndCorrelation) {
  ASSERT_OK_AND_ASSIGN(CommandOutput md, Report({"--from", "2022-07-14T00:00:00+09:00", "--to",
                                                 "2022-07-14T15:00:00+09:00", "--tz", "Asia/Seoul", "--format", "md"}));
  ASSERT_EQ(md.exit_code, 0) << md.err;
  // Hours of the device's day; the tolerances are the "about" of the seed authors' description.
  ExpectPhases(PhasesOf(md.out, "Temperature"), {{"falling", 2.25}, {"steady", 6.5}, {"rising", 10.25}, {"steady", 15}},
               {0.75, 0.5, 0.75, 0});
  ExpectPhases(PhasesOf(md.out, "Humidity"), {{"rising", 2.25}, {"steady", 6.5}, {"falling", 10.25}, {"steady", 15}},
               {0.9, 0.5, 0.75, 0});
  const auto pressure = PhasesOf(md.out, "Pressure");
  ASSERT_EQ(pressure.size(), 1u) << Describe(pressure);
  EXPECT_EQ(pressure[0].direction, "steady");
  EXPECT_NEAR(R(md.out), -0.97, 0.02) << md.out;
  EXPECT_NE(md.out.find("over 5400 readings, a very strong negative correlation: humidity falls as temperature rises"),
            std::string::npos)
      << md.out;
  EXPECT_NE(md.out.find("| 2022-07-14 00:00 | 360 | 39.682 |"), std::string::npos) << md.out;

  // The same period as epoch seconds and the one device by name: the same report.
  ASSERT_OK_AND_ASSIGN(CommandOutput epoch, Report({"--from", "1657724400", "--to", "1657778400", "--tz", "Asia/Seoul",
                                                    "--device", "raspberrypi"}));
  ASSERT_EQ(epoch.exit_code, 0) << epoch.err;
  EXPECT_EQ(epoch.out, md.out);

  // HTML into a file: one page with its charts inline, the same phases and r.
  const std::string html_path = dir_.Sub("report.html");
  ASSERT_OK_AND_ASSIGN(CommandOutput html,
                       Report({"--from", "2022-07-14T00:00:00+09:00", "--to", "2022-07-14T15:00:00+09:00", "--tz",
                               "Asia/Seoul", "--format", "html", "--out", html_path}));
  ASSERT_EQ(html.exit_code, 0) << html.err;
  EXPECT_EQ(html.out, "");
  const std::string page = ReadFile(html_path);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u) << page.substr(0, 200);
  EXPECT_NE(page.find("<li>Temperature fell from 00:00 to "), std::string::npos);
  EXPECT_NE(page.find("<li>Humidity rose from 00:00 to "), std::string::npos);
  EXPECT_NEAR(R(page), R(md.out), 1e-9);
  size_t charts = 0;
  for (size_t at = page.find("<svg viewBox="); at != std::string::npos; at = page.find("<svg viewBox=", at + 1))
    ++charts;
  EXPECT_EQ(charts, 12u);  // a trend chart and an hourly chart for each of the six metrics
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("http"), std::string::npos);
  // The phase tables are in the page too, in the same order.
  for (const char* row : {"<td>falling</td>", "<td>rising</td>"}) EXPECT_NE(page.find(row), std::string::npos) << row;
  EXPECT_FALSE(std::filesystem::exists(html_path + ".tmp"));

  // The legend's swatches sit beside their labels, as the browser lays the page out.
  ASSERT_TRUE(std::filesystem::exists(SourceDir() + "/.cache/browser/node_modules/playwright-core/package.json"))
      << "no playwright-core in .cache/browser: run scripts/fetch-test-tools.sh";
  ASSERT_OK_AND_ASSIGN(CommandOutput legend, RunCommand({"node", SourceDir() + "/tests/browser/report_legend.mjs",
                                                         html_path, TestOutDir("report_e2e_test.out") + "/legend.png"},
                                                        kDeadline));
  EXPECT_EQ(legend.exit_code, 0) << legend.out << legend.err;

  // A device the lake does not know is an error that names the devices of the period.
  ASSERT_OK_AND_ASSIGN(CommandOutput none,
                       Report({"--from", "1657724400", "--to", "1657778400", "--device", "nosuch"}));
  EXPECT_EQ(none.exit_code, 1) << none.out;
  EXPECT_EQ(none.out, "");
  EXPECT_EQ(none.err,
            "sensorpipe: unknown device 'nosuch': the lake holds no readings of it; devices with readings from "
            "1657724400 to 1657778400: raspberrypi\n");
  // A known device outside the period is told apart from an unknown one.
  ASSERT_OK_AND_ASSIGN(CommandOutput before,
                       Report({"--from", "1600000000", "--to", "1600003600", "--device", "raspberrypi"}));
  EXPECT_EQ(before.exit_code, 1) << before.out;
  EXPECT_EQ(before.err,
            "sensorpipe: device 'raspberrypi' has no readings from 1600000000 to 1600003600; no device has readings "
            "in that period\n");
}

// The value of each point of an /api/series answer, and what answered.
struct SeriesPoints {
  std::string source;
  std::vector<double> values;
};

SeriesPoints Points(const std::string& body) {
  SeriesPoints out;
  const size_t s = body.find("\"source\":\"");
  if (s != std::string::npos) out.source = body.substr(s + 10, body.find('"', s + 10) - s - 10);
  size_t at = body.find("\"points\":[");  // the first series': one device asked for
  if (at == std::string::npos) return out;
  for (at += 10; at < body.size() && body[at] == '[';) {  // [t,v],[t,v]...
    out.values.push_back(std::strtod(body.c_str() + body.find(',', at) + 1, nullptr));
    at = body.find(']', at) + 1;
    if (at < body.size() && body[at] == ',') ++at;
  }
  return out;
}

// Pitch, roll and yaw are angles: a board rocking across 0 averages about 0, not 180, and its
// minimum and maximum are the ends of the arc across 0. The rollup, the lake (the same question
// once the rollup's windows moved past the hour) and the report give the same numbers.
TEST(AnglesEndToEnd, RollupLakeAndReportAgreeAcrossZero) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(Pipeline p, Pipeline::Start(dir.path(), "[delivery]\ninterval_s = 1\n"));
  constexpr int64_t kHour = 1657756800;  // 2022-07-14 00:00 UTC
  // Pitch 359.0, 359.5, 0.5, 1.0 in the first minute, 358.5 and 1.5 at half past: mean 0, arc
  // 358.5 to 1.5 (a linear mean says 180, min 0.5, max 359.5). Roll 359 and 0 by turns: mean
  // 359.5, arc 359 to 0.
  const std::vector<std::tuple<int64_t, double, double>> readings = {
      {0, 359.0, 359.0}, {10, 359.5, 0.0}, {20, 0.5, 359.0}, {30, 1.0, 0.0}, {1800, 358.5, 359.0}, {1810, 1.5, 0.0}};
  std::string lines;
  int count = 0;
  for (const auto& [offset, pitch, roll] : readings) {
    char line[200];
    std::snprintf(line, sizeof line,
                  "{\"client_id\":\"board\",\"timestamp\":%lld,\"temperature\":20,\"pitch\":%.1f,\"roll\":%.1f,"
                  "\"count\":%d}\n",
                  static_cast<long long>(kHour + offset), pitch, roll, count++);
    lines += line;
  }
  ASSERT_OK(p.broker->Publish({"-l"}, lines));
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto out = p.daemon->Query("SELECT count(*) FROM readings");
        return out.ok() && Lines(*out).size() == 2 && Lines(*out)[1] == "6";
      },
      kDeadline))
      << p.daemon->process().Log();

  const std::string range = "&device=board&from=" + std::to_string(kHour) + "&to=" + std::to_string(kHour + 3600);
  auto series = [&](const std::string& metric, const std::string& agg, const std::string& bucket) {
    auto res =
        HttpGet(p.daemon->http_port(), "/api/series?metric=" + metric + "&agg=" + agg + "&bucket=" + bucket + range);
    EXPECT_TRUE(res.ok() && res->status == 200) << (res.ok() ? res->body : res.status().ToString());
    return res.ok() ? Points(res->body) : SeriesPoints{};
  };
  auto distance = [](double a, double b) { return std::abs(std::remainder(a - b, 360.0)); };
  // (metric, bucket): the first point's circular mean, arc start and arc end.
  struct Want {
    const char* metric;
    const char* bucket;
    double avg, min, max;
  };
  const std::vector<Want> want = {
      {"pitch", "1h", 0, 358.5, 1.5}, {"pitch", "1m", 0, 359.0, 1.0}, {"roll", "1h", 359.5, 359.0, 0}};
  auto check = [&](const std::string& source) {
    for (const Want& w : want) {
      SCOPED_TRACE(std::string(w.metric) + " " + w.bucket + " from the " + source);
      const SeriesPoints avg = series(w.metric, "avg", w.bucket);
      const SeriesPoints min = series(w.metric, "min", w.bucket);
      const SeriesPoints max = series(w.metric, "max", w.bucket);
      EXPECT_EQ(avg.source, source);
      ASSERT_FALSE(avg.values.empty() || min.values.empty() || max.values.empty());
      EXPECT_LT(distance(avg.values[0], w.avg), 1e-9) << avg.values[0];
      EXPECT_GE(avg.values[0], 0);
      EXPECT_LT(avg.values[0], 360);
      EXPECT_EQ(min.values[0], w.min);
      EXPECT_EQ(max.values[0], w.max);
    }
  };
  check("rollup");

  // The report of the hour: the same circular means and arcs.
  ASSERT_OK_AND_ASSIGN(CommandOutput md,
                       RunCommand({BinDir() + "/sensorpipe", "report", "--config", p.daemon->config_path(), "--from",
                                   std::to_string(kHour), "--to", std::to_string(kHour + 3600), "--device", "board"},
                                  kDeadline));
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("| 2022-07-14 00:00 | 6 | 0.000 | 358.500 | 1.500 | 359.500 | 359.000 | 0.000 |"),
            std::string::npos)
      << md.out;
  EXPECT_NE(md.out.find("| Pitch | 358.500 ° | 2022-07-14 00:30:00 | 1.500 ° | 2022-07-14 00:30:10 |"),
            std::string::npos)
      << md.out;
  EXPECT_NE(md.out.find("| Roll | 359.000 ° | 2022-07-14 00:00:00 | 0.000 ° | 2022-07-14 00:00:10 |"),
            std::string::npos)
      << md.out;

  // A reading more than the hour tier's 400 days later moves the rollup's windows past the hour:
  // the lake answers the same questions, with the same numbers.
  ASSERT_OK(p.broker->Publish({"-m", "{\"client_id\":\"later\",\"timestamp\":1693526400,\"pitch\":1,\"count\":0}"}));
  ASSERT_TRUE(WaitUntil([&] { return series("pitch", "avg", "1h").source == "lake"; }, kDeadline))
      << p.daemon->process().Log();
  check("lake");
}

// Checked before any lake is opened, so no daemon is needed.
TEST(ReportCli, BadArgumentsPrintUsageAndExit2) {
  TempDir dir;
  const std::vector<std::vector<std::string>> bad = {
      {"--from", "yesterday", "--to", "1657778400"},
      {"--from", "1657724400"},                        // --to missing
      {"--from", "1657778400", "--to", "1657724400"},  // backwards
      {"--from", "1657724400", "--to", "1657778400", "--tz", "Mars/Olympus"},
      {"--from", "1657724400", "--to", "1657778400", "--format", "pdf"},
  };
  for (const auto& args : bad) {
    std::vector<std::string> argv = {BinDir() + "/sensorpipe", "report", "--config", dir.Sub("none.toml")};
    argv.insert(argv.end(), args.begin(), args.end());
    ASSERT_OK_AND_ASSIGN(CommandOutput out, RunCommand(argv, kDeadline));
    EXPECT_EQ(out.exit_code, 2) << args[1] << ": " << out.err;
    EXPECT_NE(out.err.find("Usage:"), std::string::npos) << out.err;
    EXPECT_EQ(out.out, "");
  }
}

}  // namespace
}  // namespace sp::testing
