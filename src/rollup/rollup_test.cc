#include "rollup/rollup.h"

#include <date/tz.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/testing.h"
#include "common/time.h"
#include "rollup/series.h"

namespace sp {
namespace {

constexpr int64_t kT0 = 1657724400;  // 2022-07-13 15:00:00 UTC, 2022-07-14 00:00 in Seoul

RollupReading R(const std::string& device, int64_t ts_s, int64_t seq, double temperature,
                std::optional<double> humidity = std::nullopt) {
  RollupReading r;
  r.device = device;
  r.ts_us = ts_s * 1'000'000;
  r.received_us = (ts_s + 1) * 1'000'000;
  r.seq = seq;
  r.values[0] = temperature;
  r.values[1] = humidity;
  return r;
}

std::string Line(const RollupReading& r) {
  std::string line = "{\"device\":\"" + r.device + "\",\"ts\":\"" + FormatTimestamp(r.ts_us) + "\",\"received_at\":\"" +
                     FormatTimestamp(r.received_us) + "\",\"topic\":\"t\",\"seq\":" + std::to_string(*r.seq);
  for (size_t i = 0; i < kMetricCount; ++i) {
    if (!r.values[i]) continue;
    char v[32];
    snprintf(v, sizeof v, "%.17g", *r.values[i]);
    line += ",\"" + std::string(kMetricNames[i]) + "\":" + v;
  }
  return line + "}\n";
}

void WriteLake(const std::string& lake, const std::vector<RollupReading>& readings) {
  std::string ndjson;
  for (const auto& r : readings) ndjson += Line(r);
  const std::string path = lake + "/raw/dt=2022-07-13/hour=15/readings-0000-00000000000000000000-00000000000000000001.ndjson.zst";
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::string out(ZSTD_compressBound(ndjson.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), ndjson.data(), ndjson.size(), 3);
  ASSERT_FALSE(ZSTD_isError(n));
  std::ofstream(path, std::ios::binary) << out.substr(0, n);
}

std::unique_ptr<LakeAggregates> OpenLake(const std::string& dir) {
  return std::make_unique<LakeAggregates>([dir] { return QueryEngine::Open(Env::Default(), dir, {}); });
}

TEST(Rollup, AggregatesPerMinuteAndHourAndCountsARedeliveryOnce) {
  Rollup rollup({});
  rollup.Load({});
  rollup.Add({R("pi", kT0, 0, 10), R("pi", kT0 + 30, 1, 20, 50), R("pi", kT0 + 61, 2, 30)});
  EXPECT_EQ(rollup.Add({R("pi", kT0 + 30, 1, 20, 50)}), 1u);  // redelivered
  std::vector<Bucket> minutes;
  ASSERT_TRUE(rollup.Visit(Rollup::Tier::kMinute, {}, kT0, kT0 + 3600, [&](const std::string& d, auto b) {
    EXPECT_EQ(d, "pi");
    minutes.assign(b.begin(), b.end());
  }));
  ASSERT_EQ(minutes.size(), 2u);
  EXPECT_EQ(minutes[0].start_s, kT0);
  EXPECT_EQ(minutes[0].m[0].count, 2u);
  EXPECT_EQ(minutes[0].m[0].sum, 30);
  EXPECT_EQ(minutes[0].m[1].count, 1u);
  EXPECT_EQ(minutes[1].m[0].min, 30);
  const auto devices = rollup.Devices();
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].readings, 3u);
  EXPECT_EQ(devices[0].last_us, (kT0 + 61) * 1'000'000);
  EXPECT_EQ(*devices[0].last_values[0], 30);
  EXPECT_DOUBLE_EQ(devices[0].interval_s, 31);  // gaps 30 and 31: the upper median
}

TEST(Rollup, CoversNothingBeforeLoadAndOnlyItsWindowAfter) {
  Rollup rollup({.minute_window_s = 3600, .hour_window_s = 86400});
  auto visit = [&](Rollup::Tier tier, int64_t from) { return rollup.Visit(tier, {}, from, from + 60, [](auto&, auto) {}); };
  EXPECT_FALSE(visit(Rollup::Tier::kMinute, kT0));
  rollup.Load({});
  EXPECT_TRUE(visit(Rollup::Tier::kMinute, kT0));
  rollup.Add({R("pi", kT0, 0, 10), R("pi", kT0 + 3 * 3600, 1, 10)});
  // The minute window is an hour behind the newest reading, rounded down to a whole hour.
  EXPECT_EQ(rollup.CoveredFrom(Rollup::Tier::kMinute), kT0 + 2 * 3600);
  EXPECT_FALSE(visit(Rollup::Tier::kMinute, kT0));
  EXPECT_TRUE(visit(Rollup::Tier::kHour, kT0));
  EXPECT_EQ(rollup.BucketCount(Rollup::Tier::kMinute), 1u);
  EXPECT_EQ(rollup.BucketCount(Rollup::Tier::kHour), 2u);
  // A late reading older than the minute window goes to the hour tier only.
  rollup.Add({R("pi", kT0 + 60, 2, 10)});
  EXPECT_EQ(rollup.BucketCount(Rollup::Tier::kMinute), 1u);
}

TEST(Rollup, WaitForChangeMergesWhatArrived) {
  Rollup rollup({});
  rollup.Load({});
  const uint64_t g = rollup.generation();
  rollup.Add({R("a", kT0, 0, 1)});
  rollup.Add({R("b", kT0 + 5, 0, 1), R("b", kT0 + 6, 1, 1)});
  RollupChange c = rollup.WaitForChange(g, std::chrono::milliseconds(0));
  EXPECT_EQ(c.generation, g + 2);
  EXPECT_EQ(c.devices, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(c.count, 3u);
  EXPECT_EQ(c.last_us, (kT0 + 6) * 1'000'000);
  EXPECT_EQ(rollup.WaitForChange(c.generation, std::chrono::milliseconds(10)).count, 0u);
}

// A reload replaces every device: readings after it join the loaded devices, and a device that
// only the old state held starts afresh.
TEST(Rollup, AReloadReplacesTheDevicesReadingsAddTo) {
  Rollup rollup({});
  rollup.Load({});
  rollup.Add({R("a", kT0, 1, 20), R("b", kT0, 1, 20), R("a", kT0 + 60, 2, 21)});
  Rollup::Snapshot snapshot;
  snapshot.devices["b"] = DeviceInfo{
      .device = "b", .first_us = kT0 * 1'000'000, .last_us = kT0 * 1'000'000, .readings = 5, .last_values = {}};
  snapshot.newest_us = kT0 * 1'000'000;
  rollup.Load(std::move(snapshot));
  rollup.Add({R("b", kT0 + 60, 2, 22), R("a", kT0 + 120, 3, 23), R("c", kT0 + 120, 1, 24)});
  const std::vector<DeviceInfo> devices = rollup.Devices();
  ASSERT_EQ(devices.size(), 3u);
  EXPECT_EQ(devices[0].device, "a");
  EXPECT_EQ(devices[0].readings, 1u);
  EXPECT_EQ(devices[1].device, "b");
  EXPECT_EQ(devices[1].readings, 6u);
  EXPECT_EQ(devices[1].last_us, (kT0 + 60) * 1'000'000);
  EXPECT_EQ(devices[2].device, "c");
  EXPECT_EQ(devices[2].readings, 1u);
}

TEST(LocalBuckets, AlignToLocalTime) {
  const auto* seoul = date::locate_zone("Asia/Seoul");
  const auto* kolkata = date::locate_zone("Asia/Kolkata");
  const auto* new_york = date::locate_zone("America/New_York");
  LocalBuckets hour_seoul(seoul, 3600);
  EXPECT_EQ(hour_seoul.Floor(kT0 + 1799), kT0);
  LocalBuckets day_seoul(seoul, 86400);
  EXPECT_EQ(day_seoul.Floor(kT0 + 86399), kT0);  // 2022-07-14 00:00 local
  EXPECT_EQ(day_seoul.Floor(kT0 - 1), kT0 - 86400);
  // +05:30: local hours start at :30 UTC.
  LocalBuckets hour_kolkata(kolkata, 3600);
  EXPECT_EQ(hour_kolkata.Floor(kT0 + 1), kT0 - 1800);
  EXPECT_FALSE(OffsetsAligned(kolkata, kT0, kT0 + 86400, 3600));
  EXPECT_TRUE(OffsetsAligned(kolkata, kT0, kT0 + 86400, 60));
  EXPECT_TRUE(OffsetsAligned(seoul, kT0, kT0 + 86400, 3600));
  // 2022-03-13 in New York had 23 hours: 05:00 UTC to 04:00 UTC the next day.
  LocalBuckets day_ny(new_york, 86400);
  const int64_t march13 = 1647147600;  // 2022-03-13 05:00 UTC = local midnight (EST)
  EXPECT_EQ(day_ny.Floor(march13 + 3600 * 12), march13);
  EXPECT_EQ(day_ny.Next(march13), march13 + 23 * 3600);
  // Buckets that do not divide a day restart at local midnight.
  LocalBuckets seven(nullptr, 7 * 60);
  const int64_t midnight = 1657756800;  // 2022-07-14 00:00 UTC
  EXPECT_EQ(seven.Floor(midnight - 1), midnight - (86400 % 420));
  EXPECT_EQ(seven.Next(midnight - (86400 % 420)), midnight);
  EXPECT_EQ(seven.Floor(midnight + 421), midnight + 420);
}

// The rollup and the lake answer every query with the same numbers: both fold base buckets the
// same way. Noisy data over two days, two devices, a duplicate, buckets and zones of every kind.
TEST(SeriesReader, RollupAndLakeAgree) {
  testing::TempDir lake;
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 0.5);
  std::vector<RollupReading> readings;
  for (int64_t i = 0; i < 2 * 86400 / 37; ++i) {
    readings.push_back(R("a", kT0 + i * 37, i, 30 + noise(rng), 50 + noise(rng)));
    // A board lying about flat: pitch a little either side of 0 (sent as 359.x or 0.x, and as the
    // odd -0.2 or 360.1), yaw anywhere.
    readings.back().values[3] = 359.8 + 2 * noise(rng) + (i % 50 == 0 ? 360 : 0) - (i % 70 == 0 ? 360 : 0);
    readings.back().values[5] = std::uniform_real_distribution<double>(0, 360)(rng);
    if (i % 3 == 0) readings.push_back(R("b", kT0 + i * 37 + 5, i, 20 + noise(rng)));
  }
  readings.push_back(readings[10]);  // a redelivery: the lake's view and the rollup drop it
  WriteLake(lake.path(), readings);
  auto aggregates = OpenLake(lake.path());

  const Rollup::Options three_days{.minute_window_s = 3 * 86400};
  Rollup rollup(three_days);
  rollup.Load({});
  rollup.Add(readings);
  Rollup loaded(three_days);
  ASSERT_OK_AND_ASSIGN(Rollup::Snapshot snapshot, aggregates->Snapshot(three_days));
  loaded.Load(std::move(snapshot));
  for (size_t d = 0; d < 2; ++d) {
    const DeviceInfo a = rollup.Devices()[d], b = loaded.Devices()[d];
    EXPECT_EQ(a.readings, b.readings);
    EXPECT_EQ(a.first_us, b.first_us);
    EXPECT_EQ(a.last_us, b.last_us);
    EXPECT_EQ(a.interval_s, b.interval_s);
    EXPECT_GT(b.interval_s, 0);
    EXPECT_EQ(a.last_values, b.last_values);
  }

  // A rollup whose minutes cover only the newest 30 hours: the lake answers for the older part.
  Rollup recent({.minute_window_s = 30 * 3600});
  recent.Load({});
  recent.Add(readings);
  SeriesReader from_rollup(&rollup, aggregates.get());
  SeriesReader from_recent(&recent, aggregates.get());
  SeriesReader from_loaded(&loaded, aggregates.get());
  SeriesReader from_lake(nullptr, aggregates.get());
  for (const char* zone : {"UTC", "Asia/Seoul", "Asia/Kolkata", "America/New_York"}) {
    for (int64_t bucket : {60, 900, 3600, 86400, 420}) {
      for (Aggregation agg : {Aggregation::kAvg, Aggregation::kMin, Aggregation::kMax, Aggregation::kCount}) {
        for (Metric metric : {Metric::kTemperature, Metric::kPitch, Metric::kYaw}) {
          SeriesQuery q;
          q.metric = metric;
          q.agg = agg;
          q.bucket_s = bucket;
          q.tz = date::locate_zone(zone);
          q.from_s = kT0 + 1000;
          q.to_s = kT0 + 86400 + 5000;
          SCOPED_TRACE(std::string(zone) + " " + std::to_string(bucket) + " " + std::to_string(int(agg)) + " " +
                       std::string(MetricName(metric)));
          const size_t devices = metric == Metric::kTemperature ? 2 : 1;  // b sends no angles
          ASSERT_OK_AND_ASSIGN(SeriesAnswer a, from_rollup.Read(q));
          ASSERT_OK_AND_ASSIGN(SeriesAnswer b, from_lake.Read(q));
          ASSERT_OK_AND_ASSIGN(SeriesAnswer c, from_loaded.Read(q));
          ASSERT_OK_AND_ASSIGN(SeriesAnswer d, from_recent.Read(q));
          EXPECT_STREQ(d.source, bucket % 3600 == 0 && std::string(zone) != "Asia/Kolkata" ? "rollup" : "lake+rollup");
          EXPECT_STREQ(a.source, "rollup");
          EXPECT_STREQ(c.source, "rollup");
          EXPECT_STREQ(b.source, "lake");
          ASSERT_EQ(a.series.size(), devices);
          for (const SeriesAnswer* other : {&b, &c, &d}) {
            ASSERT_EQ(other->series.size(), devices);
            for (size_t s = 0; s < devices; ++s) {
              ASSERT_EQ(a.series[s].device, other->series[s].device);
              ASSERT_EQ(a.series[s].points.size(), other->series[s].points.size());
              for (size_t p = 0; p < a.series[s].points.size(); ++p) {
                EXPECT_EQ(a.series[s].points[p].first, other->series[s].points[p].first);
                if (agg == Aggregation::kMin || agg == Aggregation::kMax) {  // values read, to the bit
                  EXPECT_EQ(a.series[s].points[p].second, other->series[s].points[p].second);
                } else {
                  EXPECT_NEAR(a.series[s].points[p].second, other->series[s].points[p].second, 1e-9);
                }
              }
            }
          }
        }
      }
    }
  }
  // A sub-minute bucket always comes from the lake.
  SeriesQuery fine;
  fine.bucket_s = 10;
  fine.devices = {"b"};
  fine.from_s = kT0;
  fine.to_s = kT0 + 600;
  ASSERT_OK_AND_ASSIGN(SeriesAnswer f, from_rollup.Read(fine));
  EXPECT_STREQ(f.source, "lake");
  ASSERT_EQ(f.series.size(), 1u);
  EXPECT_EQ(f.series[0].points.front().first, (kT0 + 5 - 5) * 1000);
}

// Angles around 0/360: the minute 359.0, 359.5, 0.5, 1.0 averages 0 (a linear mean says 180) and
// spans the arc 359.0 to 1.0 (linear: 0.5 to 359.5); over the hour, with 358.5 and 1.5 added, 0 and
// 358.5 to 1.5. Rollup, lake and a rollup loaded from the lake agree, for minutes, hours and days.
TEST(SeriesReader, AnglesAreCircularInTheRollupAndTheLake) {
  testing::TempDir lake;
  std::vector<RollupReading> readings;
  int64_t seq = 0;
  auto add = [&](int64_t ts, double pitch, std::optional<double> roll = std::nullopt) {
    RollupReading& r = readings.emplace_back(R("pi", ts, seq++, 20));
    r.values[3] = pitch;
    r.values[4] = roll;
  };
  for (double pitch : {359.0, 359.5, 0.5, 1.0}) add(kT0 + seq * 10, pitch);
  add(kT0 + 1800, 358.5);
  add(kT0 + 1810, 1.5);
  // Roll in the minute after: 90 and 270 cancel out (no mean), their arc is a half circle.
  add(kT0 + 60, 0.0, 90.0);
  add(kT0 + 70, 0.0, 270.0);
  WriteLake(lake.path(), readings);
  auto aggregates = OpenLake(lake.path());
  Rollup rollup({});
  rollup.Load({});
  rollup.Add(readings);
  Rollup loaded({});
  ASSERT_OK_AND_ASSIGN(Rollup::Snapshot snapshot, aggregates->Snapshot({}));
  loaded.Load(std::move(snapshot));

  auto distance = [](double a, double b) { return std::abs(std::remainder(a - b, 360.0)); };
  SeriesReader from_rollup(&rollup, aggregates.get()), from_loaded(&loaded, aggregates.get()),
      from_lake(nullptr, aggregates.get());
  for (SeriesReader* reader : {&from_rollup, &from_loaded, &from_lake}) {
    for (int64_t bucket : {60, 3600, 86400}) {
      SeriesQuery q;
      q.metric = Metric::kPitch;
      q.bucket_s = bucket;
      q.from_s = kT0;
      q.to_s = kT0 + 3600;
      auto point = [&](Aggregation agg) {
        q.agg = agg;
        auto answer = reader->Read(q);
        EXPECT_TRUE(answer.ok()) << answer.status().ToString();
        if (!answer.ok() || answer->series.empty()) return std::vector<double>{};
        std::vector<double> values;
        for (const auto& [t, v] : answer->series[0].points) values.push_back(v);
        return values;
      };
      SCOPED_TRACE(std::to_string(bucket));
      const auto avg = point(Aggregation::kAvg), min = point(Aggregation::kMin), max = point(Aggregation::kMax);
      ASSERT_EQ(avg.size(), bucket == 60 ? 3u : 1u);
      EXPECT_LT(distance(avg[0], 0), 1e-9) << avg[0];
      EXPECT_GE(avg[0], 0);
      EXPECT_LT(avg[0], 360);
      EXPECT_EQ(min[0], bucket == 60 ? 359.0 : 358.5);
      EXPECT_EQ(max[0], bucket == 60 ? 1.0 : 1.5);
      if (bucket == 60) {  // the minute of 0.0 and 0.0, and the half hour's 358.5 and 1.5
        EXPECT_EQ(avg[1], 0);
        EXPECT_LT(distance(avg[2], 0), 1e-9) << avg[2];
        EXPECT_EQ(min[2], 358.5);
        EXPECT_EQ(max[2], 1.5);
      }
      // Roll: no mean where 90 and 270 cancel out, the point is left out; the arc is 90 to 270.
      q.metric = Metric::kRoll;
      EXPECT_TRUE(point(Aggregation::kAvg).empty());
      EXPECT_EQ(point(Aggregation::kMin), std::vector<double>{90.0});
      EXPECT_EQ(point(Aggregation::kMax), std::vector<double>{270.0});
      EXPECT_EQ(point(Aggregation::kCount), std::vector<double>{2.0});
    }
  }
}

TEST(AngleAgg, MeanArcAndMerge) {
  AngleAgg flat;
  for (double v : {359.0, 359.5, 359.5, 0.5, 360.0, -0.5, 719.0}) flat.Add(v);  // 360 is 0, -0.5 is 359.5
  EXPECT_NEAR(*flat.Mean(), 360 - 3.0 / 7, 1e-4);  // offsets -1, -.5, -.5, .5, 0, -.5, -1 from 0
  EXPECT_EQ(flat.Range().start, 359.0);
  EXPECT_EQ(flat.Range().end, 0.5);
  EXPECT_DOUBLE_EQ(flat.Range().Length(), 1.5);
  // Merging halves gives what adding everything gives, in any order.
  AngleAgg a, b, all;
  for (double v : {10.0, 350.0, 170.0}) {
    a.Add(v);
    all.Add(v);
  }
  for (double v : {200.0, 5.0}) {
    b.Add(v);
    all.Add(v);
  }
  AngleAgg ab = a, ba = b;
  ab.Merge(b);
  ba.Merge(a);
  for (const AngleAgg* m : {&ab, &ba}) {
    EXPECT_EQ(m->Range().start, all.Range().start);
    EXPECT_EQ(m->Range().end, all.Range().end);
    EXPECT_NEAR(*m->Mean(), *all.Mean(), 1e-12);
  }
  // Values over more than half the circle: the shorter of the frames' arcs, 200 to 170 (330
  // degrees), which holds them all though 170 to 10 (200 degrees) would too (docs/api.md).
  EXPECT_EQ(all.Range().start, 200.0);
  EXPECT_EQ(all.Range().end, 170.0);
  // 0, 120 and 240 cancel out.
  AngleAgg third;
  for (double v : {0.0, 120.0, 240.0}) third.Add(v);
  EXPECT_FALSE(third.Mean().has_value());
  EXPECT_EQ(NormalizeDegrees(-1e-20), 0.0);
}

}  // namespace
}  // namespace sp
