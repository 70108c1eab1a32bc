#include "compact/compactor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "catalog/lake_files.h"
#include "common/fault_env.h"
#include "common/testing.h"
#include "common/time.h"
#include "delivery/delivery.h"
#include "log/file_log.h"
#include "store/fs_object_store.h"
#include "store/object_cache.h"
#include "store/s3_object_store.h"
#include "support/s3_server.h"

namespace sp {
namespace {

using std::chrono::milliseconds;
using testing::S3Server;
using testing::SharedS3Server;

// 2023-11-14, long after the readings' hours.
constexpr int64_t kNow = 1'700'000'000'000'000;

constexpr int64_t k20220714T06 = 1657778400LL * 1'000'000;  // 2022-07-14 06:00:00 UTC

enum class Store { kFolder, kS3 };

// Every test runs on each object store: the local folder, and an S3-compatible server on loopback
// read through the object cache, with the same assertions.
class CompactorTest : public ::testing::TestWithParam<Store> {
 public:
  //! A store for the bucket of the suite's server, under this test's own prefix.
  static std::unique_ptr<S3ObjectStore> OpenS3(Metrics* metrics, Env* env = Env::Default()) {
    S3Options o;
    o.endpoint = SharedS3Server::Get()->endpoint();
    o.region = "us-east-1";
    o.bucket = "lake";
    o.prefix = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    o.path_style = true;
    o.access_key_id = S3Server::kAccessKeyId;
    o.secret_access_key = S3Server::kSecretAccessKey;
    o.retry_base_delay = milliseconds(1);
    o.retry_max_delay = milliseconds(5);
    return std::move(S3ObjectStore::Open(o, env, metrics)).value();
  }

 protected:
  static void SetUpTestSuite() { SharedS3Server::Start({.buckets = {"lake"}}); }
  static void TearDownTestSuite() { SharedS3Server::Stop(); }
  void SetUp() override {
    if (GetParam() == Store::kS3) {
      ASSERT_NE(SharedS3Server::Get(), nullptr) << SharedS3Server::Error();
    }
  }
  void TearDown() override {
    if (HasFailure() && GetParam() == Store::kS3 && SharedS3Server::Get() != nullptr) {
      std::cerr << "s3rver log:\n" << SharedS3Server::Get()->Log().substr(0, 20000);
    }
  }
};

// The log, delivery into the lake (a folder, or a bucket behind the cache) with its catalog, and a
// compactor over them. The store and the compactor touch files through env.
struct Fixture {
  explicit Fixture(Store kind, int delete_after_s = 0, uint64_t cache_bytes = uint64_t{1} << 30,
                   Env* env = Env::Default()) {
    if (kind == Store::kFolder) {
      local_dir = dir.Sub("lake");
      store = std::make_unique<FsObjectStore>(env, local_dir);
    } else {
      local_dir = dir.Sub("cache");
      bucket = CompactorTest::OpenS3(&metrics);
      store =
          std::move(ObjectCache::Open(CompactorTest::OpenS3(&metrics, env), env, &metrics, {local_dir, cache_bytes}))
              .value();
    }
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
    compactor = std::move(Compactor::Open(catalog.get(), store.get(), env, &clock, &metrics, c)).value();
    engine = std::move(QueryEngine::Open(MakeCatalogLakeFiles(catalog.get(), store.get()), local_dir, {})).value();
  }
  void OpenDelivery(DeliveryOptions d = {}) {
    d.size_hint_bytes = 1;  // every RunOnce flushes: one object per partition and shard
    delivery.reset();       // one open consumer per name
    delivery = std::move(Delivery::Open(stream, store.get(), catalog.get(), &clock, &metrics, d)).value();
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
  size_t Objects(const std::string& prefix) { return store->List(prefix).value().size(); }
  size_t Compact(CompactSelection s = {}) {
    auto done = compactor->RunOnce(s, /*wait=*/true);
    EXPECT_TRUE(done.ok()) << done.status().ToString();
    return done.ok() ? *done : 0;
  }
  // Lake objects (raw or compacted) on the local disk outside the cache.
  std::vector<std::string> LakeFilesOutsideTheCache() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
      const std::string path = e.path().string();
      if (e.is_regular_file() && path.rfind(dir.Sub("cache/"), 0) != 0 &&
          (path.ends_with(".ndjson.zst") || path.ends_with(".parquet"))) {
        out.push_back(path);
      }
    }
    return out;
  }
  uint64_t CachedBytes() const { return dynamic_cast<ObjectCache&>(*store).bytes(); }

  testing::TempDir dir;
  testing::ManualClock clock{kNow};
  Metrics metrics;
  std::string local_dir;                  // where the files the store pins are
  std::unique_ptr<S3ObjectStore> bucket;  // S3: the bucket itself, without the cache, to look at
  std::unique_ptr<ObjectStore> store;
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

TEST_P(CompactorTest, MergesAnHourIntoOneSortedParquetFileWithoutDuplicates) {
  Fixture f(GetParam());
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
  ASSERT_OK_AND_ASSIGN(PinnedFiles parquet, f.store->Pin({{files[0].path, files[0].bytes}}));
  ASSERT_OK_AND_ASSIGN(auto rows,
                       f.engine->Run("SELECT device, ts FROM read_parquet(" + SqlString(parquet.paths()[0]) + ")"));
  ASSERT_EQ(rows.rows.size(), 40u);
  for (size_t i = 1; i < rows.rows.size(); ++i) {
    auto key = [&](size_t r) { return std::make_pair(rows.rows[r][0].s, rows.rows[r][1].i); };
    EXPECT_LE(key(i - 1), key(i)) << "row " << i;
  }

  // Late data for the compacted hour is merged by the next compaction of that hour.
  f.Deliver(5, 40);
  EXPECT_EQ(f.Compact(), 0u);  // one or two raw objects, and the hour has news: not due
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{45}, SumOf(0, 45)));
  ASSERT_EQ(f.Compact({.now = true, .partition = ""}), 1u);
  ASSERT_OK_AND_ASSIGN(files, f.catalog->CurrentFiles("readings"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].records, 45u);
  EXPECT_EQ(f.Objects("compacted/"), 1u);
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{45}, SumOf(0, 45)));

  // SQL from outside (the daemon's engine) may read only the folder of the files the store pins.
  QueryOptions read_only;
  read_only.read_only_sql = true;
  ASSERT_OK_AND_ASSIGN(auto outside,
                       QueryEngine::Open(MakeCatalogLakeFiles(f.catalog.get(), f.store.get()), f.local_dir, read_only));
  ASSERT_OK_AND_ASSIGN(auto counted, outside->Run("SELECT count(*) FROM readings"));
  EXPECT_EQ(counted.rows[0][0].i, 45);

  if (GetParam() == Store::kS3) {
    // The objects are in the bucket, under the prefix; on the local disk there are only copies.
    ASSERT_OK_AND_ASSIGN(auto in_bucket, f.bucket->List(""));
    ASSERT_EQ(in_bucket.size(), 1u);
    EXPECT_EQ(in_bucket[0].key, files[0].path);
    EXPECT_FALSE(Env::Default()->FileExists(f.dir.Sub("lake")));
    EXPECT_EQ(f.LakeFilesOutsideTheCache(), std::vector<std::string>{});
    EXPECT_GT(f.metrics.CounterValue("sensorpipe_cache_fetches_total"), 0u);
  }
}

TEST_P(CompactorTest, AQuietHourWithSeveralFilesIsCompactedAfterTheGracePeriod) {
  Fixture f(GetParam());
  f.Deliver(8, 0);
  ASSERT_EQ(f.Objects("raw/"), 2u);  // below [compaction] objects
  EXPECT_EQ(f.Compact(), 0u);
  f.clock.now += 301'000'000;  // grace_s is 300
  EXPECT_EQ(f.Compact(), 1u);
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{8}, SumOf(0, 8)));
}

// While its hour is still written, a partition gets one more Parquet file per `objects` raw
// files, so its rows are not rewritten at every compaction; once quiet, all merge into one.
TEST_P(CompactorTest, AnHourStillWrittenGetsParquetFilesThatMergeOnceQuiet) {
  Fixture f(GetParam());
  f.Deliver(20, 0);
  f.Deliver(20, 20);
  ASSERT_EQ(f.Compact(), 1u);
  f.Deliver(20, 40);
  f.Deliver(20, 60);
  f.Deliver(5, 60);  // duplicates of rows in the raw files
  ASSERT_EQ(f.Compact(), 1u);
  ASSERT_OK_AND_ASSIGN(auto files, f.catalog->CurrentFiles("readings"));
  ASSERT_EQ(files.size(), 2u);  // the first Parquet file was not an input
  EXPECT_EQ(files[0].format, "parquet");
  EXPECT_EQ(files[1].format, "parquet");
  EXPECT_EQ(files[0].records + files[1].records, 80u);
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{80}, SumOf(0, 80)));
  f.Deliver(20, 0);  // a redelivery of rows in the first Parquet file
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{80}, SumOf(0, 80)));
  f.clock.now += 301'000'000;  // quiet: grace_s is 300
  ASSERT_EQ(f.Compact(), 1u);
  ASSERT_OK_AND_ASSIGN(files, f.catalog->CurrentFiles("readings"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].records, 80u);
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{80}, SumOf(0, 80)));
}

TEST_P(CompactorTest, ReplacedFilesStayForQueriesUntilDeleteAfter) {
  Fixture f(GetParam(), /*delete_after_s=*/300);
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
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));
  if (GetParam() == Store::kS3) {
    // The copies of the deleted objects went with them; the current Parquet file's stays.
    EXPECT_EQ(f.CachedBytes(), f.catalog->CurrentFiles("readings").value().at(0).bytes);
  }
}

TEST_P(CompactorTest, ACompactionLeftRunningByACrashIsRolledBack) {
  Fixture f(GetParam());
  f.Deliver(20, 0);
  f.Deliver(20, 20);
  // What a crash after the write leaves: a running compaction, its output, and an orphan.
  ASSERT_OK_AND_ASSIGN(auto inputs, f.catalog->CurrentFiles("readings"));
  ASSERT_OK_AND_ASSIGN(Compaction c, f.catalog->BeginCompaction("readings", inputs[0].partition, inputs,
                                                                "compacted/" + inputs[0].partition));
  ASSERT_OK(f.store->Put(c.output_path, "half a parquet file"));
  ASSERT_OK(f.store->Put("compacted/dt=2022-07-14/hour=07/readings-000000000099.parquet", "orphan"));
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));

  ASSERT_EQ(f.Compact(), 1u);  // rolls back, then compacts the hour afresh
  ASSERT_OK_AND_ASSIGN(auto history, f.catalog->RecentCompactions(5));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].state, "committed");
  EXPECT_EQ(history[1].state, "aborted");
  ASSERT_OK_AND_ASSIGN(auto objects, f.store->List("compacted/"));
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_NE(objects[0].key, c.output_path);
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));
}

TEST_P(CompactorTest, GzipObjectsAndDevicePartitionsWorkTheSame) {
  Fixture f(GetParam());
  DeliveryOptions gzip_by_device;
  gzip_by_device.compression = DeliveryOptions::kGzip;
  gzip_by_device.partition_by_device = true;
  f.OpenDelivery(gzip_by_device);
  f.Deliver(20, 0);
  f.Deliver(20, 20);
  ASSERT_OK_AND_ASSIGN(auto raw, f.store->List("raw/"));
  ASSERT_FALSE(raw.empty());
  for (const ObjectInfo& o : raw) {
    EXPECT_EQ(o.key.rfind("raw/dt=2022-07-14/hour=06/device=d", 0), 0u) << o.key;
    EXPECT_TRUE(o.key.ends_with(".ndjson.gz")) << o.key;
    EXPECT_EQ(f.store->Get(o.key)->substr(0, 2), "\x1f\x8b");  // gzip's magic
  }
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));
  ASSERT_EQ(f.Compact({.now = true, .partition = ""}), 4u);  // one Parquet file per device and hour
  for (const DataFile& file : f.catalog->CurrentFiles("readings").value()) {
    EXPECT_EQ(file.path.rfind("compacted/dt=2022-07-14/hour=06/device=d", 0), 0u) << file.path;
  }
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{40}, SumOf(0, 40)));
}

// `sensorpipe replay` can rewind into the middle of raw and compacted files: the view is rebuilt
// from the log with every record exactly once.
TEST_P(CompactorTest, RewindViewRebuildsFromTheMiddleOfFilesExactlyOnce) {
  Fixture f(GetParam());
  f.Deliver(10, 0, 0);
  f.Deliver(10, 10, 1);  // offsets of each shard interleave over the two hours
  f.Deliver(10, 20, 0);
  f.Deliver(10, 30, 1);
  ASSERT_EQ(f.Compact({.now = true, .partition = ""}), 2u);
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
  auto refused = RewindView(f.catalog.get(), f.store.get(), "lake-raw", "readings", middle, ends);
  EXPECT_TRUE(refused.status().IsOutOfRange()) << refused.status().ToString();
  EXPECT_EQ(f.catalog->CurrentFiles("readings").value().size(), files);

  ASSERT_OK_AND_ASSIGN(Rewound r, RewindView(f.catalog.get(), f.store.get(), "lake-raw", "readings", middle, oldest));
  for (size_t i = 0; i < r.resume.size(); ++i) EXPECT_LE(r.resume[i], middle[i]);
  EXPECT_GT(r.files_removed, 2u);  // both compacted hours hold records past the middle
  f.OpenDelivery();
  ASSERT_OK(f.delivery->Stop());
  EXPECT_EQ(f.CountAndSum(), std::make_pair(int64_t{50}, SumOf(0, 50)));
  ASSERT_OK_AND_ASSIGN(auto all, f.engine->Run("SELECT count(*) FROM (SELECT DISTINCT seq FROM readings)"));
  EXPECT_EQ(all.rows[0][0].i, 50);
}

// A cache far smaller than the lake: every statement still reads all of its files, since what it
// listed stays pinned until it is done, and copies nobody reads are evicted.
TEST_P(CompactorTest, QueriesAndCompactionsWorkWithACacheSmallerThanTheLake) {
  Fixture f(GetParam(), /*delete_after_s=*/0, /*cache_bytes=*/1);
  for (int hour = 0; hour < 3; ++hour) {
    f.Deliver(10, 100 * hour, hour);
    f.Deliver(10, 100 * hour + 10, hour);
  }
  EXPECT_EQ(f.CountAndSum().first, 60);
  ASSERT_EQ(f.Compact({.now = true, .partition = "dt=2022-07-14/hour=07"}), 1u);
  EXPECT_EQ(f.CountAndSum().first, 60);
  f.Deliver(10, 500, 2);
  EXPECT_EQ(f.CountAndSum().first, 70);
  ASSERT_EQ(f.Compact({.now = true, .partition = ""}), 2u);
  EXPECT_EQ(f.CountAndSum(),
            std::make_pair(int64_t{70}, SumOf(0, 20) + SumOf(100, 20) + SumOf(200, 20) + SumOf(500, 10)));
  if (GetParam() == Store::kS3) {
    EXPECT_GT(f.metrics.CounterValue("sensorpipe_cache_evictions_total"), 0u);
    // What the latest statement read is all that is left: the three Parquet files.
    uint64_t current = 0;
    for (const DataFile& file : f.catalog->CurrentFiles("readings").value()) current += file.bytes;
    EXPECT_EQ(f.CachedBytes(), current);
  }
}

// A disk that fails: in a round started afresh each time, every file operation that changes
// something fails from the n-th on, for n = 0, 1, ... until the round gets through, so the failure
// lands on each step in turn: the output's folders, its sync, rename and folder sync into the lake,
// the deletion of the inputs (the rollback of a failed compaction fails too, and is left to the
// next round's recovery). The failed round says why and leaves every reading readable exactly
// once; with the disk well again, the next round finishes the job.
TEST(CompactorFaults, ADiskFailingAtAnyStepLosesNothing) {
  const auto all = std::make_pair(int64_t{20}, SumOf(0, 20));
  for (int64_t failing = 0;; ++failing) {
    ASSERT_LT(failing, 100) << "no round got through";
    SCOPED_TRACE("the disk fails from step " + std::to_string(failing));
    FaultInjectionEnv env(Env::Default());
    Fixture f(Store::kFolder, /*delete_after_s=*/0, /*cache_bytes=*/0, &env);
    f.Deliver(20, 0);  // one raw object per shard
    env.SetCrashAfter(failing);
    auto done = f.compactor->RunOnce({.now = true, .partition = ""}, /*wait=*/true);
    env.SetCrashAfter(-1);
    if (!done.ok()) {
      EXPECT_EQ(done.status().code(), Status::Code::kIOError) << done.status().ToString();
      EXPECT_THAT(std::string(done.status().message()), ::testing::HasSubstr("simulated crash"));
      ASSERT_EQ(f.CountAndSum(), all);
      ASSERT_OK(f.compactor->RunOnce({.now = true, .partition = ""}, /*wait=*/true).status());
    }
    EXPECT_EQ(f.metrics.CounterValue("sensorpipe_compactions_total"), 1u);
    ASSERT_OK_AND_ASSIGN(auto files, f.catalog->CurrentFiles("readings"));
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].format, "parquet");
    EXPECT_EQ(files[0].records, 20u);
    EXPECT_EQ(f.Objects("raw/"), 0u);
    EXPECT_EQ(f.Objects("compacted/"), 1u);  // a failed round's output was rolled back
    EXPECT_EQ(f.CountAndSum(), all);
    if (done.ok()) break;
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, CompactorTest, ::testing::Values(Store::kFolder, Store::kS3),
                         [](const ::testing::TestParamInfo<Store>& info) {
                           return info.param == Store::kFolder ? "Folder" : "S3";
                         });

}  // namespace
}  // namespace sp
