#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include "common/testing.h"

namespace sp {
namespace {

DataFile Raw(const std::string& partition, uint32_t shard, uint64_t first, uint64_t last) {
  DataFile f;
  f.view = "readings";
  f.partition = partition;
  f.path = "raw/" + partition + "/readings-" + std::to_string(shard) + "-" + std::to_string(first) + ".ndjson.zst";
  f.format = "ndjson.zst";
  f.records = last - first + 1;
  f.bytes = 100;
  f.min_ts = 1;
  f.max_ts = 2;
  f.offsets = {{shard, first, last}};
  return f;
}

struct Fixture {
  testing::TempDir dir;
  testing::ManualClock clock;
  std::unique_ptr<Catalog> catalog = std::move(OpenSqliteCatalog(dir.Sub("catalog.sqlite"), &clock)).value();
};

TEST(SqliteCatalog, DeliveryCommitsFilesAndOffsetsTogether) {
  Fixture f;
  EXPECT_TRUE(f.catalog->DeliveryOffsets("lake-raw").value().empty());
  ASSERT_OK(f.catalog->CommitDelivery(
      "lake-raw", {Raw("dt=2022-07-14/hour=06", 0, 0, 9), Raw("dt=2022-07-14/hour=07", 0, 10, 19)}, {{0, 20}, {1, 0}}));
  EXPECT_EQ(f.catalog->DeliveryOffsets("lake-raw").value(), (std::map<uint32_t, uint64_t>{{0, 20}, {1, 0}}));
  ASSERT_OK_AND_ASSIGN(auto files, f.catalog->CurrentFiles("readings"));
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].partition, "dt=2022-07-14/hour=06");
  EXPECT_EQ(files[0].records, 10u);
  EXPECT_EQ(files[0].added_us, f.clock.now);
  ASSERT_EQ(files[1].offsets.size(), 1u);
  EXPECT_EQ(files[1].offsets[0].first, 10u);
  EXPECT_EQ(files[1].offsets[0].last, 19u);
  EXPECT_TRUE(f.catalog->CurrentFiles("errors").value().empty());
  EXPECT_EQ(f.catalog->KnownPaths("raw/dt=2022-07-14/hour=06/").value().size(), 1u);

  // A path can be current once: committing it again fails and changes nothing, offsets included.
  EXPECT_FALSE(f.catalog->CommitDelivery("lake-raw", {Raw("dt=2022-07-14/hour=06", 0, 0, 9)}, {{0, 99}}).ok());
  EXPECT_EQ(f.catalog->DeliveryOffsets("lake-raw").value().at(0), 20u);

  // Another connection, as another process would have, sees the committed state.
  ASSERT_OK_AND_ASSIGN(auto other, OpenSqliteCatalog(f.dir.Sub("catalog.sqlite"), &f.clock));
  EXPECT_EQ(other->CurrentFiles("").value().size(), 2u);
}

TEST(SqliteCatalog, ACompactionSwapsItsInputsForItsOutputAtOnce) {
  Fixture f;
  const std::string p = "dt=2022-07-14/hour=06";
  ASSERT_OK(
      f.catalog->CommitDelivery("lake-raw", {Raw(p, 0, 0, 9), Raw(p, 1, 0, 4), Raw(p, 0, 10, 19)}, {{0, 20}, {1, 5}}));
  ASSERT_OK_AND_ASSIGN(auto inputs, f.catalog->CurrentFiles("readings"));
  ASSERT_OK_AND_ASSIGN(Compaction c, f.catalog->BeginCompaction("readings", p, inputs, "compacted/" + p));
  EXPECT_EQ(c.output_path, "compacted/" + p + "/readings-" + std::string(11, '0') + "1.parquet");
  ASSERT_EQ(f.catalog->RunningCompactions().value().size(), 1u);
  EXPECT_EQ(f.catalog->RunningCompactions().value()[0].inputs.size(), 3u);
  // A second compaction of the same files cannot begin... after this one commits.
  DataFile out{0, "readings", p, c.output_path, "parquet", 25, 500, 1, 2, 0, {{0, 0, 19}, {1, 0, 4}}};
  f.clock.now += 1000;
  ASSERT_OK(f.catalog->CommitCompaction(c, out));
  ASSERT_OK_AND_ASSIGN(auto now, f.catalog->CurrentFiles("readings"));
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].path, c.output_path);
  EXPECT_EQ(now[0].offsets.size(), 2u);
  EXPECT_TRUE(f.catalog->RunningCompactions().value().empty());
  EXPECT_FALSE(f.catalog->BeginCompaction("readings", p, inputs, "compacted/" + p).ok());
  EXPECT_EQ(f.catalog->RecentCompactions(5).value().at(0).state, "committed");

  // The inputs wait for deletion; they are still known, so no orphan sweep takes them.
  EXPECT_TRUE(f.catalog->DeletionsDue(f.clock.now - 1001).value().empty());
  ASSERT_OK_AND_ASSIGN(auto due, f.catalog->DeletionsDue(f.clock.now));
  EXPECT_EQ(due.size(), 3u);
  EXPECT_EQ(f.catalog->KnownPaths("raw/").value().size(), 3u);
  ASSERT_OK(f.catalog->DeletionsDone({due[0].data_file_id}));
  EXPECT_EQ(f.catalog->KnownPaths("raw/").value().size(), 2u);
}

TEST(SqliteCatalog, CountsAndListsCurrentFilesPerPartition) {
  Fixture f;
  const std::string p6 = "dt=2022-07-14/hour=06", p7 = "dt=2022-07-14/hour=07";
  DataFile early = Raw(p6, 0, 0, 9);
  early.min_ts = -5;  // before 1970: min_ts is signed
  ASSERT_OK(f.catalog->CommitDelivery("lake-raw", {early, Raw(p7, 0, 10, 19)}, {{0, 20}}));
  f.clock.now += 1000;
  DataFile error = Raw(p6, 0, 0, 2);
  error.view = "errors";
  error.path = "errors/" + p6 + "/0.ndjson.zst";
  ASSERT_OK(f.catalog->CommitDelivery("lake-raw", {Raw(p6, 0, 20, 24), error}, {{0, 25}}));
  // p6 compacted into Parquet, then one more raw file arrives: two formats in one partition.
  ASSERT_OK_AND_ASSIGN(auto inputs, f.catalog->PartitionFiles("readings", p6));
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs[0].offsets.size(), 1u);
  ASSERT_OK_AND_ASSIGN(Compaction c, f.catalog->BeginCompaction("readings", p6, inputs, "compacted/" + p6));
  ASSERT_OK(f.catalog->CommitCompaction(c, {0, "readings", p6, c.output_path, "parquet", 15, 700, -5, 2, 0, {}}));
  f.clock.now += 1000;
  ASSERT_OK(f.catalog->CommitDelivery("lake-raw", {Raw(p6, 0, 25, 29)}, {{0, 30}}));

  ASSERT_OK_AND_ASSIGN(auto groups, f.catalog->CurrentFileGroups("readings"));
  ASSERT_EQ(groups.size(), 3u);
  auto expect = [](const FileGroup& g, const std::string& partition, const std::string& format, uint64_t files,
                   uint64_t records, uint64_t bytes, int64_t min_ts, int64_t added) {
    EXPECT_EQ(g.view, "readings");
    EXPECT_EQ(g.partition, partition);
    EXPECT_EQ(g.format, format);
    EXPECT_EQ(g.files, files);
    EXPECT_EQ(g.records, records);
    EXPECT_EQ(g.bytes, bytes);
    EXPECT_EQ(g.min_ts, min_ts);
    EXPECT_EQ(g.newest_added_us, added);
  };
  const int64_t t0 = f.clock.now - 2000;
  expect(groups[0], p6, "ndjson.zst", 1, 5, 100, 1, t0 + 2000);
  expect(groups[1], p6, "parquet", 1, 15, 700, -5, t0 + 1000);
  expect(groups[2], p7, "ndjson.zst", 1, 10, 100, 1, t0);
  ASSERT_OK_AND_ASSIGN(auto all, f.catalog->CurrentFileGroups(""));
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].view, "errors");
  EXPECT_EQ(all[0].records, 3u);
  EXPECT_TRUE(f.catalog->CurrentFileGroups("nothing").value().empty());

  ASSERT_OK_AND_ASSIGN(auto p6_files, f.catalog->PartitionFiles("readings", p6));
  ASSERT_EQ(p6_files.size(), 2u);  // the Parquet file and the late raw one, not the ended inputs
  EXPECT_EQ(p6_files[0].path, c.output_path);
  EXPECT_EQ(p6_files[1].offsets.at(0).first, 25u);
  EXPECT_EQ(f.catalog->PartitionFiles("errors", p6).value().size(), 1u);
  EXPECT_TRUE(f.catalog->PartitionFiles("readings", "dt=2022-07-14").value().empty());  // not a prefix match
}

TEST(SqliteCatalog, ACompactionWhoseInputChangedIsAbortedAndChangesNothing) {
  Fixture f;
  const std::string p = "dt=2022-07-14/hour=06";
  ASSERT_OK(f.catalog->CommitDelivery("lake-raw", {Raw(p, 0, 0, 9), Raw(p, 0, 10, 19)}, {{0, 20}}));
  ASSERT_OK_AND_ASSIGN(auto inputs, f.catalog->CurrentFiles("readings"));
  ASSERT_OK_AND_ASSIGN(Compaction first, f.catalog->BeginCompaction("readings", p, inputs, "compacted/" + p));
  ASSERT_OK_AND_ASSIGN(Compaction second, f.catalog->BeginCompaction("readings", p, inputs, "compacted/" + p));
  DataFile out{0, "readings", p, first.output_path, "parquet", 20, 500, 1, 2, 0, {}};
  ASSERT_OK(f.catalog->CommitCompaction(first, out));
  out.path = second.output_path;
  Status s = f.catalog->CommitCompaction(second, out);
  EXPECT_TRUE(s.IsAborted()) << s.ToString();
  EXPECT_EQ(f.catalog->CurrentFiles("readings").value().size(), 1u);
  ASSERT_OK(f.catalog->AbortCompaction(second.id));
  EXPECT_TRUE(f.catalog->RunningCompactions().value().empty());
}

}  // namespace
}  // namespace sp
