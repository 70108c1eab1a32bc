#include "report/report.h"

#include <expat.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "common/testing.h"
#include "common/time.h"
#include "common/timestamp.h"
#include "report/lake_source.h"
#include "report/render.h"

namespace sp {
namespace {

constexpr int64_t kHour = kMicrosPerHour;
constexpr int64_t kMinute = kHour / 60;
// 2022-07-14 00:00 UTC: any fixed instant would do.
const int64_t kDay = FromCivil({2022, 7, 14, 0, 0, 0, 0});

// A reading every 10 s (the seed's cadence) for `hours`, value f(hours since start) plus Gaussian noise.
template <typename F>
std::vector<Sample> Generate(double hours, F f, double noise, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0, noise);
  std::vector<Sample> out;
  for (int64_t t = 0; t < static_cast<int64_t>(hours * 3600); t += 10) {
    out.push_back({kDay + t * kMicrosPerSecond, f(t / 3600.0) + gauss(rng)});
  }
  return out;
}

// Falling 0-3 h (30 -> 20), steady 3-7 h, rising 7-11 h (20 -> 32), steady 11-15 h.
double FourPhases(double h) {
  if (h < 3) return 30 - 10 * h / 3;
  if (h < 7) return 20;
  if (h < 11) return 20 + 3 * (h - 7);
  return 32;
}

std::string Describe(const Trend& t) {
  std::ostringstream s;
  for (const auto& p : t.phases) {
    s << DirectionName(p.direction) << " " << (p.start_us - kDay) / double(kHour) << "-"
      << (p.end_us - kDay) / double(kHour) << " (" << p.slope_per_hour << "/h); ";
  }
  return s.str();
}

// Phases expected as (direction, end hour), each end within tolerance hours.
void ExpectPhases(const Trend& t, int64_t origin, const std::vector<std::pair<Direction, double>>& want,
                  double tolerance_h, const std::string& what) {
  ASSERT_EQ(t.phases.size(), want.size()) << what << ": " << Describe(t);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(t.phases[i].direction, want[i].first) << what << " phase " << i << ": " << Describe(t);
    EXPECT_NEAR((t.phases[i].end_us - origin) / double(kHour), want[i].second, tolerance_h)
        << what << " phase " << i << ": " << Describe(t);
    if (i > 0) {
      EXPECT_EQ(t.phases[i].start_us, t.phases[i - 1].end_us);
    }
  }
  EXPECT_EQ(t.phases.front().start_us, t.boundaries.front());
}

TEST(TrendTest, FindsKnownPhasesThroughNoise) {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u}) {
    for (double noise : {0.3, 1.0, 2.0}) {
      const Trend t = FindTrend(Generate(15, FourPhases, noise, seed));
      const std::string what = "seed " + std::to_string(seed) + " noise " + std::to_string(noise);
      ExpectPhases(
          t, kDay,
          {{Direction::kFalling, 3}, {Direction::kSteady, 7}, {Direction::kRising, 11}, {Direction::kSteady, 15}}, 0.25,
          what);
      ASSERT_EQ(t.phases.size(), 4u);
      EXPECT_NEAR(t.phases[0].slope_per_hour, -10.0 / 3, 0.4) << what;
      EXPECT_NEAR(t.phases[2].slope_per_hour, 3, 0.3) << what;
      // The bucket medians of 30 readings scatter by about noise * 1.25 / sqrt(30).
      EXPECT_NEAR(t.noise, noise * 1.2533 / std::sqrt(30.0), 0.5 * noise / std::sqrt(30.0)) << what;
    }
  }
}

TEST(TrendTest, FlatSeriesIsOneSteadyPhase) {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u, 6u}) {
    const Trend t = FindTrend(Generate(
        15, [](double) { return 21.5; }, 0.5, seed));
    ExpectPhases(t, kDay, {{Direction::kSteady, 15}}, 1e-9, "seed " + std::to_string(seed));
  }
  // Without any noise at all, too: the BIC must not divide by a zero residual.
  const Trend exact = FindTrend(Generate(
      6, [](double) { return 1008.0; }, 0, 1));
  ExpectPhases(exact, kDay, {{Direction::kSteady, 6}}, 1e-9, "exact");
}

TEST(TrendTest, SingleRampIsOnePhaseWithItsSlope) {
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    const std::string what = "seed " + std::to_string(seed);
    const Trend up = FindTrend(Generate(
        10, [](double h) { return 10 + 2 * h; }, 1.0, seed));
    ExpectPhases(up, kDay, {{Direction::kRising, 10}}, 1e-9, what);
    EXPECT_NEAR(up.phases[0].slope_per_hour, 2, 0.05) << what;
    const Trend down = FindTrend(Generate(
        10, [](double h) { return 80 - 3 * h; }, 1.0, seed));
    ExpectPhases(down, kDay, {{Direction::kFalling, 10}}, 1e-9, what);
    EXPECT_NEAR(down.phases[0].slope_per_hour, -3, 0.05) << what;
  }
}

TEST(TrendTest, GlitchingReadingsDoNotMakePhases) {
  std::vector<Sample> s = Generate(
      12, [](double) { return 25.0; }, 0.4, 7);
  // A sensor that reads 85 now and then (a DS18B20's power-on value, say): medians ignore it.
  for (size_t i = 100; i < s.size(); i += 997) s[i].value = 85;
  const Trend t = FindTrend(s);
  ExpectPhases(t, kDay, {{Direction::kSteady, 12}}, 1e-9, "glitches");
  s[5].value = NAN;  // and a non-finite value is skipped, not propagated
  EXPECT_TRUE(std::isfinite(FindTrend(s).range));
}

TEST(TrendTest, SmallOrEmptyInput) {
  EXPECT_TRUE(FindTrend({}).phases.empty());
  const Trend one = FindTrend({{kDay, 3.0}});
  ASSERT_EQ(one.phases.size(), 1u);
  EXPECT_EQ(one.phases[0].direction, Direction::kSteady);
  EXPECT_EQ(one.At(kDay), 3.0);
}

TEST(TrendTest, BucketWidthFollowsTheSpan) {
  EXPECT_EQ(TrendBucketFor(15 * kHour), 5 * kMinute);
  EXPECT_EQ(TrendBucketFor(24 * kHour), 10 * kMinute);
  EXPECT_EQ(TrendBucketFor(7 * 24 * kHour), kHour);
  EXPECT_EQ(TrendBucketFor(10000 * 24 * kHour), 24 * kHour);
}

TEST(CorrelationTest, PearsonAndWords) {
  const Correlation c = Pearson({1, 2, 3, 4, 5}, {10, 8, 6, 4, 2});
  EXPECT_EQ(c.n, 5);
  EXPECT_NEAR(c.r, -1, 1e-12);
  EXPECT_NEAR(Pearson({1, 2, 3, 4}, {1, 3, 2, 4}).r, 0.8, 1e-12);
  EXPECT_TRUE(std::isnan(Pearson({1, 2, 3}, {5, 5, 5}).r));
  EXPECT_TRUE(std::isnan(Pearson({1, 2}, {1, 2}).r));
  EXPECT_EQ(CorrelationStrength(-0.97), "very strong");
  EXPECT_EQ(CorrelationStrength(0.75), "strong");
  EXPECT_EQ(CorrelationStrength(0.5), "moderate");
  EXPECT_EQ(CorrelationStrength(-0.3), "weak");
  EXPECT_EQ(CorrelationStrength(0.1), "little or no");
}

TEST(LocalZoneTest, OffsetsAndHours) {
  ASSERT_OK_AND_ASSIGN(LocalZone seoul, LocalZone::Create("Asia/Seoul"));
  EXPECT_EQ(seoul.OffsetSeconds(kDay), 9 * 3600);
  EXPECT_EQ(seoul.OffsetText(kDay), "+09:00");
  EXPECT_FALSE(LocalZone::Create("Mars/Olympus").ok());
  // India is UTC+05:30: its local hours start at half past the UTC hour.
  ASSERT_OK_AND_ASSIGN(LocalZone kolkata, LocalZone::Create("Asia/Kolkata"));
  std::vector<ReadingRow> rows;
  for (int64_t m = 0; m < 120; ++m) rows.push_back({"d", kDay + m * kMinute, {20.0 + m, NAN, NAN, NAN, NAN, NAN}});
  const Report r = AnalyzeReadings(rows, kDay, kDay + 2 * kHour, kolkata);
  ASSERT_EQ(r.devices.size(), 1u);
  ASSERT_EQ(r.devices[0].hourly.size(), 3u);
  EXPECT_EQ(r.devices[0].hourly[0].start_us, kDay - 30 * kMinute);
  EXPECT_EQ(r.devices[0].hourly[0].readings, 30);
  EXPECT_EQ(r.devices[0].hourly[1].readings, 60);
  EXPECT_DOUBLE_EQ(r.devices[0].hourly[1].metrics[0].min, 50);
  EXPECT_DOUBLE_EQ(r.devices[0].hourly[1].metrics[0].max, 109);
  // Only the metric that has values is reported; the correlation needs both.
  ASSERT_EQ(r.devices[0].metrics.size(), 1u);
  EXPECT_EQ(r.devices[0].temperature_humidity.n, 0);
}

TEST(AnalyzeTest, DevicesAreAnalysedApart) {
  std::vector<ReadingRow> rows;
  for (int64_t m = 0; m < 180; ++m) {
    rows.push_back({"b", kDay + m * kMinute, {20.0 + m / 60.0, 50.0 - m / 30.0, 1000, NAN, NAN, NAN}});
    rows.push_back({"a", kDay + m * kMinute, {30.0, 40.0 + (m % 7), 1001, NAN, NAN, NAN}});
  }
  ASSERT_OK_AND_ASSIGN(LocalZone utc, LocalZone::Create("UTC"));
  const Report r = AnalyzeReadings(rows, kDay, kDay + 3 * kHour, utc);
  ASSERT_EQ(r.devices.size(), 2u);
  EXPECT_EQ(r.devices[0].device, "a");
  EXPECT_EQ(r.devices[1].device, "b");
  EXPECT_EQ(r.devices[1].readings, 180);
  EXPECT_NEAR(r.devices[1].temperature_humidity.r, -1, 1e-9);
  EXPECT_EQ(r.devices[1].metrics[0].trend.phases.at(0).direction, Direction::kRising);
  EXPECT_EQ(r.devices[1].metrics[0].max.ts_us, kDay + 179 * kMinute);
  EXPECT_EQ(r.devices[0].metrics[0].min.ts_us, kDay);  // constant: the first time it was reached
}

// Pitch 359.0, 359.5, 0.5, 1.0, then 358.5 and 1.5 (a board rocking across 0): the hour's mean is
// 0 and its arc 358.5 to 1.5, as /api/series answers (rollup_test, report_e2e_test); a linear mean
// would say 180, min 0.5 and max 359.5. Roll 90 and 270 cancel out: no mean. The trend is a level
// line at 0, not jumps between 0 and 360.
TEST(AnalyzeTest, AnglesAreCircular) {
  std::vector<ReadingRow> rows;
  const std::vector<std::pair<int64_t, double>> pitch = {{0, 359.0}, {10, 359.5},   {20, 0.5},
                                                         {30, 1.0},  {1800, 358.5}, {1810, 1.5}};
  for (const auto& [s, v] : pitch) {
    rows.push_back({"pi", kDay + s * kMicrosPerSecond, {20, NAN, NAN, v, s == 0 ? 90.0 : s == 10 ? 270.0 : NAN, NAN}});
  }
  // And a second hour of the board flat at 0 (sent as 360 and 0), rolled at 90.
  for (int64_t s = 3600; s < 7200; s += 60) {
    rows.push_back({"pi", kDay + s * kMicrosPerSecond, {20, NAN, NAN, s % 120 ? 360.0 : 0.0, 90, NAN}});
  }
  ASSERT_OK_AND_ASSIGN(LocalZone utc, LocalZone::Create("UTC"));
  const Report r = AnalyzeReadings(rows, kDay, kDay + 2 * kHour, utc);
  ASSERT_EQ(r.devices.size(), 1u);
  const DeviceReport& d = r.devices[0];
  ASSERT_EQ(d.hourly.size(), 2u);
  const HourStats& p = d.hourly[0].metrics[static_cast<int>(Metric::kPitch)];
  EXPECT_EQ(p.n, 6);
  EXPECT_LT(std::abs(std::remainder(p.avg, 360.0)), 1e-9) << p.avg;
  EXPECT_EQ(p.min, 358.5);
  EXPECT_EQ(p.max, 1.5);
  const HourStats& roll = d.hourly[0].metrics[static_cast<int>(Metric::kRoll)];
  EXPECT_TRUE(std::isnan(roll.avg));  // 90 and 270: no mean
  EXPECT_EQ(roll.min, 90);
  EXPECT_EQ(roll.max, 270);
  EXPECT_EQ(d.hourly[1].metrics[static_cast<int>(Metric::kPitch)].avg, 0);
  ASSERT_EQ(d.metrics.size(), 3u);  // temperature, pitch, roll
  const MetricReport& m = d.metrics[1];
  EXPECT_EQ(m.metric, Metric::kPitch);
  EXPECT_EQ(m.min.value, 358.5);
  EXPECT_EQ(m.min.ts_us, kDay + 1800 * kMicrosPerSecond);
  EXPECT_EQ(m.max.value, 1.5);
  EXPECT_EQ(m.max.ts_us, kDay + 1810 * kMicrosPerSecond);
  ASSERT_EQ(m.trend.phases.size(), 1u);
  EXPECT_EQ(m.trend.phases[0].direction, Direction::kSteady);
  EXPECT_NEAR(m.trend.At(kDay + kHour), 360, 1.5);  // unwrapped from 358.5: 0 is drawn as 360
  // Rendered: 359.9999... shows as 0.000, and the angles' table stands apart with its note.
  const std::string md = RenderMarkdown(r, utc);
  EXPECT_NE(md.find("| 2022-07-14 00:00 | 6 | 0.000 | 358.500 | 1.500 | – | 90.000 | 270.000 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| Pitch | 358.500 ° | 2022-07-14 00:30:00 | 1.500 ° | 2022-07-14 00:30:10 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("Pitch, roll and yaw are angles"), std::string::npos);
  EXPECT_EQ(md.find("360.000"), std::string::npos) << md;
}

TEST(LakeSourceTest, SqlSelectsThePeriodAndDevice) {
  const std::string sql = ReportReadingsSql(kDay, kDay + kHour, "pi'1");
  EXPECT_NE(sql.find("ts >= TIMESTAMP '2022-07-14 00:00:00' AND ts < TIMESTAMP '2022-07-14 01:00:00'"),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("device = 'pi''1'"), std::string::npos) << sql;
  EXPECT_EQ(ReportReadingsSql(kDay, kDay + kHour, "").find("device ="), std::string::npos);
}

// ---- The seed's day ----

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, sep)) out.push_back(cell);
  return out;
}

// The number after "key": in one of the fixture's flat JSON lines.
double Field(const std::string& line, const std::string& key) {
  const size_t at = line.find("\"" + key + "\": ");
  return at == std::string::npos ? NAN : std::strtod(line.c_str() + at + key.size() + 4, nullptr);
}

class SeedDay : public ::testing::Test {
 protected:
  void SetUp() override {
    // The device's clock was UTC+9 without a zone: read as Asia/Seoul, as the daemon's
    // [ingest] device_time_zone does, it becomes UTC.
    ASSERT_OK_AND_ASSIGN(TimestampParser parser, TimestampParser::Create("Asia/Seoul"));
    std::ifstream in(testing::FixturesDir() + "/seed_day.ndjson");
    std::string line;
    while (std::getline(in, line)) {
      ReadingRow row;
      row.device = "raspberrypi";
      const size_t at = line.find("\"timestamp\": \"");
      ASSERT_NE(at, std::string::npos) << line;
      ASSERT_TRUE(parser.ParseText(line.substr(at + 14, 19), &row.ts_us)) << line;
      row.values = {Field(line, "temperature"), Field(line, "humidity"), Field(line, "pressure"),
                    Field(line, "pitch"),       Field(line, "roll"),     Field(line, "yaw")};
      rows_.push_back(row);
    }
    ASSERT_EQ(rows_.size(), 5400u);
    ASSERT_OK_AND_ASSIGN(LocalZone zone, LocalZone::Create("Asia/Seoul"));
    zone_ = std::make_unique<LocalZone>(zone);
    from_ = FromCivil({2022, 7, 13, 15, 0, 0, 0});  // 00:00 in Seoul
    report_ = AnalyzeReadings(rows_, from_, from_ + 15 * kHour, *zone_);
    ASSERT_EQ(report_.devices.size(), 1u);
  }
  const MetricReport& MetricOf(Metric m) {
    for (const auto& x : report_.devices[0].metrics) {
      if (x.metric == m) return x;
    }
    ADD_FAILURE() << "no " << MetricName(m);
    return report_.devices[0].metrics[0];
  }

  std::vector<ReadingRow> rows_;
  std::unique_ptr<LocalZone> zone_;
  int64_t from_ = 0;
  Report report_;
};

// The seed's authors' reading: falling to about 02, steady to about 06-07, rising to about 10,
// steady to 15 (device time), and humidity the mirror image.
TEST_F(SeedDay, FindsTheFourPhases) {
  const Trend& t = MetricOf(Metric::kTemperature).trend;
  ASSERT_EQ(t.phases.size(), 4u) << Describe(t);
  auto hour = [&](int64_t ts) { return (ts - from_) / double(kHour); };
  EXPECT_EQ(t.phases[0].direction, Direction::kFalling) << Describe(t);
  EXPECT_EQ(hour(t.phases[0].start_us), 0);
  EXPECT_NEAR(hour(t.phases[0].end_us), 2.25, 0.75);
  EXPECT_EQ(t.phases[1].direction, Direction::kSteady);
  EXPECT_NEAR(hour(t.phases[1].end_us), 6.5, 0.5);
  EXPECT_EQ(t.phases[2].direction, Direction::kRising);
  EXPECT_NEAR(hour(t.phases[2].end_us), 10.25, 0.75);
  EXPECT_EQ(t.phases[3].direction, Direction::kSteady);
  EXPECT_EQ(hour(t.phases[3].end_us), 15);

  const Trend& h = MetricOf(Metric::kHumidity).trend;
  ASSERT_EQ(h.phases.size(), 4u) << Describe(h);
  EXPECT_EQ(h.phases[0].direction, Direction::kRising) << Describe(h);
  EXPECT_NEAR(hour(h.phases[0].end_us), 2.25, 0.9);
  EXPECT_EQ(h.phases[1].direction, Direction::kSteady);
  EXPECT_NEAR(hour(h.phases[1].end_us), 6.5, 0.5);
  EXPECT_EQ(h.phases[2].direction, Direction::kFalling);
  EXPECT_NEAR(hour(h.phases[2].end_us), 10.25, 0.75);
  EXPECT_EQ(h.phases[3].direction, Direction::kSteady);
  EXPECT_EQ(hour(h.phases[3].end_us), 15);

  // Pressure did not move that day.
  const Trend& p = MetricOf(Metric::kPressure).trend;
  ASSERT_EQ(p.phases.size(), 1u) << Describe(p);
  EXPECT_EQ(p.phases[0].direction, Direction::kSteady);
}

TEST_F(SeedDay, CorrelationAndHoursMatchTheExpectedAnswers) {
  const DeviceReport& d = report_.devices[0];
  EXPECT_EQ(d.temperature_humidity.n, 5400);
  EXPECT_GE(d.temperature_humidity.r, -0.99);
  EXPECT_LE(d.temperature_humidity.r, -0.95);
  // seed_day.expected.csv, per UTC hour; Seoul's hours are the same hours nine later.
  std::ifstream in(testing::FixturesDir() + "/seed_day.expected.csv");
  std::string line;
  std::getline(in, line);
  size_t i = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      EXPECT_NEAR(d.temperature_humidity.r, std::stod(line.substr(line.find('=') + 1)), 5e-7);
      continue;
    }
    const auto f = Split(line, ',');
    ASSERT_LT(i, d.hourly.size());
    const HourlyRow& h = d.hourly[i++];
    EXPECT_EQ(FormatTimestamp(h.start_us), f[0]);
    EXPECT_EQ(h.readings, std::stoll(f[1]));
    EXPECT_NEAR(h.metrics[0].avg, std::stod(f[2]), 5e-7) << f[0];
    EXPECT_NEAR(h.metrics[1].avg, std::stod(f[3]), 5e-7) << f[0];
    EXPECT_DOUBLE_EQ(h.metrics[0].max, std::stod(f[4])) << f[0];
    EXPECT_DOUBLE_EQ(h.metrics[1].max, std::stod(f[5])) << f[0];
  }
  EXPECT_EQ(i, d.hourly.size());
  EXPECT_EQ(i, 15u);
}

// Well-formed XML, or the parser's complaint.
std::string XmlError(const std::string& text) {
  XML_Parser p = XML_ParserCreate("UTF-8");
  const bool ok = XML_Parse(p, text.data(), static_cast<int>(text.size()), 1) == XML_STATUS_OK;
  std::string err = ok ? ""
                       : std::string(XML_ErrorString(XML_GetErrorCode(p))) + " at line " +
                             std::to_string(XML_GetCurrentLineNumber(p)) + " column " +
                             std::to_string(XML_GetCurrentColumnNumber(p));
  XML_ParserFree(p);
  return err;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(SeedDay, MarkdownHasEverySection) {
  const std::string md = RenderReport(report_, *zone_, ReportFormat::kMarkdown);
  for (const char* s :
       {"# Sensor report: 2022-07-14 00:00 to 2022-07-14 15:00 (Asia/Seoul, UTC+09:00)", "## Device raspberrypi",
        "### Summary", "### Phases", "#### Temperature (°C)", "#### Humidity (%)", "#### Pressure (hPa)",
        "### Correlation", "### Extremes", "### Hourly averages, minima and maxima (Asia/Seoul)",
        "- Temperature fell from 00:00 to ", "- Humidity rose from 00:00 to ",
        "- Pressure held steady from 00:00 to 15:00.",
        "a very strong negative correlation: humidity falls as temperature rises",
        "exceeds both 20 % of that range and 3 standard errors of the noise", "| 2022-07-14 14:00 | 360 |",
        "5400 readings from 2022-07-14 00:00:00 to 2022-07-14 14:59:50"}) {
    EXPECT_NE(md.find(s), std::string::npos) << s << "\n" << md;
  }
  EXPECT_EQ(md.find("<svg"), std::string::npos);
  EXPECT_EQ(md.find("http"), std::string::npos);
}

TEST_F(SeedDay, HtmlIsOneSelfContainedWellFormedPage) {
  const std::string html = RenderReport(report_, *zone_, ReportFormat::kHtml);
  // Written as XHTML-compatible markup, so an XML parser checks the whole page, SVG included.
  EXPECT_EQ(XmlError(html), "");
  for (const char* s : {"<h2>Device raspberrypi</h2>", "<h3>Summary</h3>", "<h3>Phases</h3>", "<h3>Correlation</h3>",
                        "<h3>Extremes</h3>", "<h3>Hourly averages", "<style>", "Temperature fell from 00:00 to ",
                        "humidity falls as temperature rises"}) {
    EXPECT_NE(html.find(s), std::string::npos) << s;
  }
  // A trend chart and an hourly chart per metric, the angles included (plus the legend's three
  // swatches), nothing from outside.
  EXPECT_EQ(Count(html, "<svg viewBox="), 12u);
  EXPECT_EQ(Count(html, "class=\"trend\""), 6u);
  EXPECT_EQ(Count(html, "class=\"bar\""), 90u);     // 15 hours x 6 metrics
  EXPECT_EQ(Count(html, "class=\"falling\""), 3u);  // the legend, temperature's fall and humidity's
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http:"), std::string::npos);
  EXPECT_EQ(html.find("https:"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  // Each chart also stands alone as an XML document.
  const MetricReport& t = MetricOf(Metric::kTemperature);
  EXPECT_EQ(XmlError(TrendChartSvg(t, *zone_)), "");
  EXPECT_EQ(XmlError(HourlyChartSvg(report_.devices[0], Metric::kHumidity, *zone_)), "");
}

TEST(RenderTest, EmptyReportAndFormats) {
  ASSERT_OK_AND_ASSIGN(LocalZone utc, LocalZone::Create("UTC"));
  const Report empty = AnalyzeReadings({}, kDay, kDay + kHour, utc);
  EXPECT_NE(RenderMarkdown(empty, utc).find("No readings in this period."), std::string::npos);
  EXPECT_EQ(XmlError(RenderHtml(empty, utc)), "");
  EXPECT_EQ(*ParseReportFormat("md"), ReportFormat::kMarkdown);
  EXPECT_EQ(*ParseReportFormat("html"), ReportFormat::kHtml);
  EXPECT_FALSE(ParseReportFormat("pdf").ok());
}

}  // namespace
}  // namespace sp
