#include "delivery/delivery.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <map>
#include <set>

#include "common/testing.h"
#include "common/time.h"
#include "log/file_log.h"
#include "store/fs_object_store.h"

namespace sp {
namespace {

using std::chrono::milliseconds;

// Fails every Put after the first `allowed` ones, to stop a flush half way.
class FailingStore final : public ObjectStore {
 public:
  explicit FailingStore(ObjectStore* inner) : inner_(inner) {}
  Status Put(const std::string& key, std::string_view data) override {
    if (allowed-- <= 0) return Status::IOError("disk on fire");
    return inner_->Put(key, data);
  }
  Status PutFile(const std::string& key, const std::string& local_path) override {
    return inner_->PutFile(key, local_path);
  }
  Result<std::string> Get(const std::string& key) override { return inner_->Get(key); }
  Status GetFile(const std::string& key, const std::string& path) override { return inner_->GetFile(key, path); }
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override { return inner_->List(prefix); }
  Status Delete(const std::string& key) override { return inner_->Delete(key); }
  std::string Locate(const std::string& key) const override { return inner_->Locate(key); }
  int allowed = 1 << 30;

 private:
  ObjectStore* inner_;
};

std::string Unzstd(const std::string& data) {
  std::string out(ZSTD_getFrameContentSize(data.data(), data.size()), '\0');
  size_t n = ZSTD_decompress(out.data(), out.size(), data.data(), data.size());
  EXPECT_FALSE(ZSTD_isError(n));
  return out;
}

constexpr int64_t kHour = 3'600'000'000;
constexpr int64_t k20220713T23 = 1657753200LL * 1'000'000;  // 2022-07-13 23:00:00 UTC

struct Fixture {
  Fixture() : store(Env::Default(), dir.Sub("lake")) {
    FileLogOptions o;
    o.dir = dir.Sub("log");
    o.shards = 2;
    log = std::move(OpenFileLog(Env::Default(), &clock, &metrics, o)).value();
    stream = log->OpenStream("readings").value();
    catalog = std::move(OpenSqliteCatalog(dir.Sub("catalog.sqlite"), &clock)).value();
  }
  void Append(int n, int64_t start_us, int64_t step_us) {
    std::vector<Record> recs;
    for (int i = 0; i < n; ++i) {
      recs.push_back(
          {"dev" + std::to_string(i % 3), start_us + i * step_us, "{\"n\":" + std::to_string(appended++) + "}"});
    }
    ASSERT_OK(stream->Append(recs));
  }
  // Every line of every object under prefix.
  std::vector<std::string> Lines(const std::string& prefix = "raw/") {
    std::vector<std::string> lines;
    for (const auto& o : store.List(prefix).value()) {
      std::string text = Unzstd(store.Get(o.key).value());
      for (size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) {
        lines.push_back(text.substr(at, nl - at));
      }
    }
    return lines;
  }
  DeliveryOptions Options() {
    DeliveryOptions o;
    o.size_hint_bytes = 1 << 20;
    o.interval_s = 60;
    return o;
  }
  testing::TempDir dir;
  testing::ManualClock clock;
  Metrics metrics;
  FsObjectStore store;
  std::unique_ptr<Log> log;
  Stream* stream;
  std::unique_ptr<Catalog> catalog;
  int appended = 0;
};

TEST(Delivery, PartitionsByUtcHourAndNamesObjectsByOffsets) {
  Fixture f;
  f.Append(6, k20220713T23, kHour / 2);  // 23:00, 23:30, 00:00 (next day), ...
  ASSERT_OK_AND_ASSIGN(auto d, Delivery::Open(f.stream, &f.store, f.catalog.get(), &f.clock, &f.metrics, f.Options()));
  ASSERT_OK(d->RunOnce(milliseconds(0)));
  ASSERT_OK(d->Flush());
  ASSERT_OK_AND_ASSIGN(auto objects, f.store.List("raw/"));
  std::set<std::string> partitions;
  for (const auto& o : objects) {
    partitions.insert(o.key.substr(0, o.key.rfind('/')));
    EXPECT_NE(o.key.find("/readings-000"), std::string::npos) << o.key;
    EXPECT_TRUE(o.key.ends_with(".ndjson.zst")) << o.key;
  }
  EXPECT_EQ(partitions, (std::set<std::string>{"raw/dt=2022-07-13/hour=23", "raw/dt=2022-07-14/hour=00",
                                               "raw/dt=2022-07-14/hour=01"}));
  auto lines = f.Lines();
  EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(), 6u);
  EXPECT_EQ(Delivery::ObjectKey("raw", "dt=2022-07-13/hour=23", "readings", 1, 5, 17),
            "raw/dt=2022-07-13/hour=23/readings-0001-00000000000000000005-00000000000000000017.ndjson.zst");
  EXPECT_EQ(f.metrics.CounterValue("sensorpipe_records_delivered_total", {{"view", "raw"}}), 6u);
}

TEST(Delivery, FlushesBySizeAndByAge) {
  Fixture f;
  DeliveryOptions o = f.Options();
  o.size_hint_bytes = 200;
  ASSERT_OK_AND_ASSIGN(auto d, Delivery::Open(f.stream, &f.store, f.catalog.get(), &f.clock, &f.metrics, o));
  f.Append(3, k20220713T23, 1);
  ASSERT_OK(d->RunOnce(milliseconds(0)));
  EXPECT_TRUE(f.Lines().empty());  // 3 small lines: below the size hint, not old yet
  f.Append(30, k20220713T23, 1);
  ASSERT_OK(d->RunOnce(milliseconds(0)));
  EXPECT_EQ(f.Lines().size(), 33u);  // over the size hint

  f.Append(2, k20220713T23, 1);
  ASSERT_OK(d->RunOnce(milliseconds(0)));
  EXPECT_EQ(f.Lines().size(), 33u);
  f.clock.now += 58'000'000;
  ASSERT_OK(d->RunOnce(milliseconds(0)));
  EXPECT_EQ(f.Lines().size(), 33u);
  f.clock.now += 1'000'000;  // the oldest buffered record is now 59 s old: 1 s left to write it
  ASSERT_OK(d->RunOnce(milliseconds(0)));
  EXPECT_EQ(f.Lines().size(), 35u);
}

TEST(Delivery, StopDrainsTheLogAndFlushes) {
  Fixture f;
  ASSERT_OK_AND_ASSIGN(auto d, Delivery::Open(f.stream, &f.store, f.catalog.get(), &f.clock, &f.metrics, f.Options()));
  ASSERT_OK(d->Start());
  f.Append(10000, k20220713T23, 1000);
  ASSERT_OK(d->Stop());
  EXPECT_EQ(f.Lines().size(), 10000u);
}

// A crash between a flush's puts and its catalog commit: the next start redoes that flush, so the
// objects already put come out again under the same names with the same bytes, and every record
// is in exactly one object.
TEST(Delivery, AFlushThatDidNotCommitIsRedoneWithTheSameObjects) {
  Fixture f;
  f.Append(50, k20220713T23, kHour / 10);  // 50 records over 5 hours and 2 shards: ~10 objects
  FailingStore failing(&f.store);
  std::map<std::string, std::string> put;
  {
    ASSERT_OK_AND_ASSIGN(auto d,
                         Delivery::Open(f.stream, &failing, f.catalog.get(), &f.clock, &f.metrics, f.Options()));
    ASSERT_OK(d->RunOnce(milliseconds(0)));
    failing.allowed = 3;  // three objects land, then the disk fails: no commit
    EXPECT_FALSE(d->Flush().ok());
    for (const auto& o : f.store.List("raw/").value()) put[o.key] = f.store.Get(o.key).value();
    ASSERT_EQ(put.size(), 3u);
  }  // the process "dies" here: no Stop, nothing more written
  failing.allowed = 1 << 30;
  f.Append(5, k20220713T23, 1);  // more records arrive meanwhile; they are not in the redone flush
  ASSERT_OK_AND_ASSIGN(auto d, Delivery::Open(f.stream, &failing, f.catalog.get(), &f.clock, &f.metrics, f.Options()));
  ASSERT_OK(d->RunOnce(milliseconds(0)));
  for (const auto& [key, bytes] : put) {
    ASSERT_OK_AND_ASSIGN(std::string again, f.store.Get(key));
    EXPECT_EQ(again, bytes) << key;
  }
  EXPECT_EQ(f.catalog->CurrentFiles("readings").value().size(), f.store.List("raw/").value().size());
  ASSERT_OK(d->Stop());
  d.reset();
  auto lines = f.Lines();
  EXPECT_EQ(lines.size(), 55u);
  EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(), 55u);
  // A later start leaves committed objects alone.
  ASSERT_OK_AND_ASSIGN(auto again,
                       Delivery::Open(f.stream, &f.store, f.catalog.get(), &f.clock, &f.metrics, f.Options()));
  EXPECT_EQ(f.Lines().size(), 55u);
}

TEST(Delivery, TheCatalogListsEveryObjectWithItsRecordsAndTimes) {
  Fixture f;
  f.Append(50, k20220713T23, kHour / 10);
  ASSERT_OK_AND_ASSIGN(auto d, Delivery::Open(f.stream, &f.store, f.catalog.get(), &f.clock, &f.metrics, f.Options()));
  ASSERT_OK(d->Stop());
  ASSERT_OK_AND_ASSIGN(auto files, f.catalog->CurrentFiles("readings"));
  ASSERT_EQ(files.size(), f.store.List("raw/").value().size());
  uint64_t records = 0;
  for (const DataFile& file : files) {
    records += file.records;
    EXPECT_EQ(file.path.substr(0, 4 + file.partition.size()), "raw/" + file.partition);
    EXPECT_EQ(file.format, "ndjson.zst");
    EXPECT_LE(file.min_ts, file.max_ts);
    EXPECT_EQ(ToCivil(file.min_ts).hour, ToCivil(file.max_ts).hour);
    ASSERT_EQ(file.offsets.size(), 1u);
    EXPECT_EQ(file.path, Delivery::ObjectKey("raw", file.partition, "readings", file.offsets[0].shard,
                                             file.offsets[0].first, file.offsets[0].last));
  }
  EXPECT_EQ(records, 50u);
  ASSERT_OK_AND_ASSIGN(auto offsets, f.catalog->DeliveryOffsets("lake-raw"));
  const auto ends = f.stream->EndOffsets();
  EXPECT_EQ(offsets, (std::map<uint32_t, uint64_t>{{0, ends[0]}, {1, ends[1]}}));
}

// A crash after the catalog committed a flush but before the log checkpoint was written: the
// checkpoint is behind, and the catalog's offsets win, so nothing is delivered twice.
TEST(Delivery, ACheckpointBehindTheCatalogIsCaughtUp) {
  Fixture f;
  f.Append(40, k20220713T23, kHour / 20);
  {
    ASSERT_OK_AND_ASSIGN(auto d,
                         Delivery::Open(f.stream, &f.store, f.catalog.get(), &f.clock, &f.metrics, f.Options()));
    ASSERT_OK(d->Stop());
  }
  {
    ASSERT_OK_AND_ASSIGN(auto c, f.stream->OpenConsumer("lake-raw", StartFrom::kOldest));
    ASSERT_OK(c->Commit({{0, 0}, {1, 0}}));
  }
  ASSERT_OK_AND_ASSIGN(auto d, Delivery::Open(f.stream, &f.store, f.catalog.get(), &f.clock, &f.metrics, f.Options()));
  ASSERT_OK(d->Stop());
  auto lines = f.Lines();
  EXPECT_EQ(lines.size(), 40u);
  EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(), 40u);
}

// Records deleted by retention before delivery read them are counted and reported, and
// delivery goes on with the rest; nothing is skipped silently.
TEST(Delivery, ExpiredRecordsAreCountedNotSilentlySkipped) {
  testing::TempDir dir;
  testing::ManualClock clock;
  Metrics metrics;
  FsObjectStore store(Env::Default(), dir.Sub("lake"));
  FileLogOptions o;
  o.dir = dir.Sub("log");
  o.shards = 1;
  o.segment_bytes = 4096;
  o.retention_bytes = 8192;
  ASSERT_OK_AND_ASSIGN(auto log, OpenFileLog(Env::Default(), &clock, &metrics, o));
  ASSERT_OK_AND_ASSIGN(Stream * stream, log->OpenStream("readings"));
  ASSERT_OK_AND_ASSIGN(auto catalog, OpenSqliteCatalog(dir.Sub("catalog.sqlite"), &clock));
  ASSERT_OK_AND_ASSIGN(auto d, Delivery::Open(stream, &store, catalog.get(), &clock, &metrics, DeliveryOptions{}));
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK(stream->Append(std::vector<Record>{
        {"d", k20220713T23, "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(100, 'p') + "\"}"}}));
  }
  ASSERT_OK(d->Stop());
  const uint64_t expired = metrics.CounterValue("sensorpipe_delivery_expired_records_total", {{"view", "raw"}});
  const uint64_t delivered = metrics.CounterValue("sensorpipe_records_delivered_total", {{"view", "raw"}});
  EXPECT_GT(expired, 0u);
  EXPECT_EQ(expired + delivered, 200u);
  EXPECT_EQ(expired, stream->Stats()[0].oldest_offset);
}

TEST(FsObjectStore, PutGetListDelete) {
  testing::TempDir dir;
  FsObjectStore store(Env::Default(), dir.path());
  ASSERT_OK(store.Put("raw/dt=2022-07-13/hour=15/a.ndjson.zst", "aaa"));
  ASSERT_OK(store.Put("raw/dt=2022-07-13/hour=16/b.ndjson.zst", "bb"));
  ASSERT_OK(store.Put("errors/dt=2022-07-13/c.ndjson.zst", "c"));
  ASSERT_OK_AND_ASSIGN(auto raw, store.List("raw/"));
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].key, "raw/dt=2022-07-13/hour=15/a.ndjson.zst");
  EXPECT_EQ(raw[0].size, 3u);
  ASSERT_OK_AND_ASSIGN(std::string got, store.Get("raw/dt=2022-07-13/hour=16/b.ndjson.zst"));
  EXPECT_EQ(got, "bb");
  ASSERT_OK(store.Delete("raw/dt=2022-07-13/hour=15/a.ndjson.zst"));
  ASSERT_OK(store.Delete("raw/dt=2022-07-13/hour=15/a.ndjson.zst"));  // already gone is fine
  EXPECT_EQ(store.List("raw/").value().size(), 1u);
  EXPECT_FALSE(Env::Default()->FileExists(dir.Sub("raw/dt=2022-07-13/hour=15")));  // empty folder removed
  EXPECT_FALSE(store.Put("../escape", "x").ok());
}

}  // namespace
}  // namespace sp
