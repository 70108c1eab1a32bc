#include "compact/compactor.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "common/testing.h"
#include "common/time.h"
#include "compact/catalog_lake_files.h"
#include "delivery/delivery.h"
#include "delivery/fs_object_store.h"
#include "log/file_log.h"

namespace sp {
namespace {

using std::chrono::milliseconds;

class FakeClock final : public Clock {
 public:
  int64_t NowMicros() override { return now; }
  int64_t MonotonicMicros() override { return now; }
  int64_t now = 1'700'000'000'000'000;  // 2023-11-14, long after the readings' hours
};

constexpr int64_t k20220714T06 = 1657778400LL * 1'000'000;  // 2022-07-14 06:00:00 UTC

// The log, delivery into a local lake with its catalog, and a compactor over them.
struct Fixture {
  explicit Fixture(int delete_after_s = 0) : store(Env::Default(), dir.Sub("lake")) {
    FileLogOptions o;
    o.dir = dir.Sub("log");
    o.shards = 2;
    log = std::move(OpenFileLog(Env::Default(), &clock, &metrics, o)).value();
    stream = log->OpenStream("readings").value();
    catalog = std::move(OpenSqliteCatalog(dir.Sub("catalog.sqlite"), &clock)).value();
    OpenDelivery();
    CompactorOptions c;
    c.objects = 3;
    c.delete_after_s = delete_after_s;
    c.tmp_dir = dir.Sub("tmp");
    c.lock_path = dir.Sub("COMPACT.LOCK");
    compactor = std::move(Compactor::Open(catalog.get(), &store, &clock, &metrics, c)).value();
    engine = std::move(QueryEngine::Open(MakeCatalogLakeFiles(catalog.get(), &store), dir.Sub("lake"), {})).value();
  }
  void OpenDelivery(DeliveryOptions d = {}) {
    d.size_hint_bytes = 1;  // every RunOnce flushes: one object per partition and shard
    delivery.reset();       // one open consumer per name
    delivery = std::move(Delivery::Open(stream, &store, catalog.get(), &clock, &metrics, d)).value();
  }
  // Appends n readings of 4 devices, seq first_seq.., one second apart in the hour 06 + hour of
  // 2022-07-14, and delivers them: one object per shard.
  void Deliver(int n, int first_seq, int hour = 0) {
    std::vector<Record> recs;
    for (int i = 0; i < n; ++i) {
      const int seq = first_seq + i;
      const int64_t ts = k20220714T06 + hour * 3'600'000'000LL + (seq % 3600) * 1'000'000LL;
      const std::string device = "d" + std::to_string(seq % 4);
      recs.push_back({device, ts,
                      R"({"device":")" + device + R"(","ts":")" + FormatTimestamp(ts) + R"(","received_at":")" +
                          FormatTimestamp(clock.now + i) + R"(","topic":"t","seq":)" + std::to_string(seq) +
                          R"(,"temperature":)" + std::to_string(seq) + ".5}"});
    }
    ASSERT_OK(stream->Append(recs));
    ASSERT_OK(delivery->RunOnce(milliseconds(0)));
  }
  // Count and sum of seq in readings.
  std::pair<int64_t, int64_t> CountAndSum() {
    auto r = engine->Run("SELECT count(*), coalesce(sum(seq), 0)::BIGINT FROM readings");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return {r->rows[0][0].i, r->rows[0][1].i};
  }
  size_t Objects(const std::string& prefix) { return store.List(prefix).value().size(); }
  size_t Compact(CompactSelection s = {}) {
    auto done = compactor->RunOnce(s, /*wait=*/true);
    EXPECT_TRUE(done.ok()) << done.status().ToString();
    return done.ok() ? *done : 0;
  }

  testing::TempDir dir;
  FakeClock clock;
  Metrics metrics;
  FsObjectStore store;
  std::unique_ptr<Log> log;
  Stream* stream;
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<Delivery> delivery;
  std::unique_ptr<Compactor> compactor;
  std::unique_ptr<QueryEngine> engine;
};

int64_t SumOf(int first, int n) {
  return int64_t{n} * (2 * first + n - 1) / 2;
}

TEST(Compactor, MergesAnHourIntoOneSortedParquetFileWithoutDuplicates) {
  Fixture f;
  f.Deliver(20, 0);
  f.Deliver(20, 20);
  f.Deliver(5, 0);  // redelivered: the same (device, seq, ts) again
  ASSERT_GE(f.Objects("raw/"), 3u);
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));

  ASSERT_EQ(f.Compact(), 1u);
  ASSERT_OK_AND_ASSIGN(auto files, f.catalog->CurrentFiles("readings"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].format, "parquet");
  EXPECT_EQ(files[0].records, 40u);
  EXPECT_EQ(files[0].path.rfind("compacted/dt=2022-07-14/hour=06/readings-", 0), 0u) << files[0].path;
  EXPECT_EQ(f.Objects("raw/"), 0u);  // delete_after_s = 0
  EXPECT_EQ(f.Objects("compacted/"), 1u);
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));
  EXPECT_EQ(f.metrics.CounterValue("sensorpipe_compaction_rows_read_total"), 45u);
  EXPECT_EQ(f.metrics.CounterValue("sensorpipe_compaction_rows_written_total"), 40u);

  // Plain Parquet, sorted by device and time, readable without the catalog.
  ASSERT_OK_AND_ASSIGN(auto rows, f.engine->Run("SELECT device, ts FROM read_parquet(" +
                                                SqlString(f.store.Locate(files[0].path)) + ")"));
  ASSERT_EQ(rows.rows.size(), 40u);
  for (size_t i = 1; i < rows.rows.size(); ++i) {
    auto key = [&](size_t r) { return std::make_pair(rows.rows[r][0].s, rows.rows[r][1].i); };
    EXPECT_LE(key(i - 1), key(i)) << "row " << i;
  }

  // Late data for the compacted hour is merged by the next compaction of that hour.
  f.Deliver(5, 40);
  EXPECT_EQ(f.Compact(), 0u);  // one or two raw objects, and the hour has news: not due
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{45}, SumOf(0, 45)));
  ASSERT_EQ(f.Compact({.now = true}), 1u);
  ASSERT_OK_AND_ASSIGN(files, f.catalog->CurrentFiles("readings"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].records, 45u);
  EXPECT_EQ(f.Objects("compacted/"), 1u);
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{45}, SumOf(0, 45)));
}

TEST(Compactor, AQuietHourWithSeveralFilesIsCompactedAfterTheGracePeriod) {
  Fixture f;
  f.Deliver(8, 0);
  ASSERT_EQ(f.Objects("raw/"), 2u);  // below [compaction] objects
  EXPECT_EQ(f.Compact(), 0u);
  f.clock.now += 301'000'000;  // grace_s is 300
  EXPECT_EQ(f.Compact(), 1u);
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{8}, SumOf(0, 8)));
}

TEST(Compactor, ReplacedFilesStayForQueriesUntilDeleteAfter) {
  Fixture f(/*delete_after_s=*/300);
  f.Deliver(20, 0);
  f.Deliver(20, 20);
  const size_t raw = f.Objects("raw/");
  ASSERT_EQ(f.Compact(), 1u);
  EXPECT_EQ(f.Objects("raw/"), raw);                                      // still there for a query that listed them
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));  // but not read twice
  f.clock.now += 300'000'000;
  EXPECT_EQ(f.Compact(), 0u);
  EXPECT_EQ(f.Objects("raw/"), 0u);
  EXPECT_EQ(f.metrics.CounterValue("sensorpipe_lake_objects_deleted_total"), raw);
}

TEST(Compactor, ACompactionLeftRunningByACrashIsRolledBack) {
  Fixture f;
  f.Deliver(20, 0);
  f.Deliver(20, 20);
  // What a crash after the write leaves: a running compaction, its output, and an orphan.
  ASSERT_OK_AND_ASSIGN(auto inputs, f.catalog->CurrentFiles("readings"));
  ASSERT_OK_AND_ASSIGN(Compaction c, f.catalog->BeginCompaction("readings", inputs[0].partition, inputs,
                                                                "compacted/" + inputs[0].partition));
  ASSERT_OK(f.store.Put(c.output_path, "half a parquet file"));
  ASSERT_OK(f.store.Put("compacted/dt=2022-07-14/hour=07/readings-000000000099.parquet", "orphan"));
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));

  ASSERT_EQ(f.Compact(), 1u);  // rolls back, then compacts the hour afresh
  ASSERT_OK_AND_ASSIGN(auto history, f.catalog->RecentCompactions(5));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].state, "committed");
  EXPECT_EQ(history[1].state, "aborted");
  ASSERT_OK_AND_ASSIGN(auto objects, f.store.List("compacted/"));
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_NE(objects[0].key, c.output_path);
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));
}

TEST(Compactor, GzipObjectsAndDevicePartitionsWorkTheSame) {
  Fixture f;
  DeliveryOptions gzip_by_device;
  gzip_by_device.compression = DeliveryOptions::kGzip;
  gzip_by_device.partition_by_device = true;
  f.OpenDelivery(gzip_by_device);
  f.Deliver(20, 0);
  f.Deliver(20, 20);
  ASSERT_OK_AND_ASSIGN(auto raw, f.store.List("raw/"));
  ASSERT_FALSE(raw.empty());
  for (const ObjectInfo& o : raw) {
    EXPECT_EQ(o.key.rfind("raw/dt=2022-07-14/hour=06/device=d", 0), 0u) << o.key;
    EXPECT_TRUE(o.key.ends_with(".ndjson.gz")) << o.key;
    EXPECT_EQ(f.store.Get(o.key)->substr(0, 2), "\x1f\x8b");  // gzip's magic
  }
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));
  ASSERT_EQ(f.Compact({.now = true}), 4u);  // one Parquet file per device and hour
  for (const DataFile& file : f.catalog->CurrentFiles("readings").value()) {
    EXPECT_EQ(file.path.rfind("compacted/dt=2022-07-14/hour=06/device=d", 0), 0u) << file.path;
  }
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));
}

// `sensorpipe replay` can rewind into the middle of raw and compacted files: the view is rebuilt
// from the log with every record exactly once.
TEST(RewindView, RebuildsFromTheMiddleOfFilesExactlyOnce) {
  Fixture f;
  f.Deliver(10, 0, 0);
  f.Deliver(10, 10, 1);  // offsets of each shard interleave over the two hours
  f.Deliver(10, 20, 0);
  f.Deliver(10, 30, 1);
  ASSERT_EQ(f.Compact({.now = true}), 2u);
  f.Deliver(10, 40, 0);
  ASSERT_OK(f.delivery->Stop());
  f.delivery.reset();
  std::vector<uint64_t> oldest, middle;
  for (const ShardStats& s : f.stream->Stats()) {
    oldest.push_back(s.oldest_offset);
    middle.push_back(s.end_offset / 2);
  }
  const size_t files = f.catalog->CurrentFiles("readings").value().size();

  // Records the log no longer has would be lost: refused, nothing changed.
  std::vector<uint64_t> ends = f.stream->EndOffsets();
  auto refused = RewindView(f.catalog.get(), &f.store, "lake-raw", "readings", middle, ends);
  EXPECT_TRUE(refused.status().IsOutOfRange()) << refused.status().ToString();
  EXPECT_EQ(f.catalog->CurrentFiles("readings").value().size(), files);

  ASSERT_OK_AND_ASSIGN(Rewound r, RewindView(f.catalog.get(), &f.store, "lake-raw", "readings", middle, oldest));
  for (size_t i = 0; i < r.resume.size(); ++i) EXPECT_LE(r.resume[i], middle[i]);
  EXPECT_GT(r.files_removed, 2u);  // both compacted hours hold records past the middle
  f.OpenDelivery();
  ASSERT_OK(f.delivery->Stop());
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{50}, SumOf(0, 50)));
  ASSERT_OK_AND_ASSIGN(auto all, f.engine->Run("SELECT count(*) FROM (SELECT DISTINCT seq FROM readings)"));
  EXPECT_EQ(all.rows[0][0].i, 50);
}

}  // namespace
}  // namespace sp
