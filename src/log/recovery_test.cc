// Recovery at open: torn and corrupt tails, the zero tail, damage in sealed segments, checkpoints
// and index files that do not check out. The power-cut tests are in file_log_fault_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "common/testing.h"
#include "log/batch.h"
#include "log/file_log.h"
#include "log/file_log_testing.h"

namespace sp {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// Where the batches at the start of a segment's bytes end.
uint64_t DataEnd(std::string_view bytes) {
  uint64_t pos = 0;
  while (true) {
    auto h = batch::DecodeHeader(bytes.substr(pos));
    if (!h.ok() || pos + h->total_size() > bytes.size()) return pos;
    pos += h->total_size();
  }
}
bool AllZero(std::string_view bytes) {
  return bytes.find_first_not_of('\0') == std::string_view::npos;
}
// Bytes from the start of `tail` to its last non-zero byte: what recovery counts as damage.
uint64_t NonZeroLength(std::string_view tail) {
  const size_t last = tail.find_last_not_of('\0');
  return last == std::string_view::npos ? 0 : last + 1;
}

// Cuts the last batch at every byte: recovery keeps exactly the earlier batches, counts what it
// dropped, and appends continue at the right offset.
TEST(FileLog, TornTailIsCutAtTheLastValidBatch) {
  testing::TempDir dir;
  Harness h(dir.path(), 1);
  ASSERT_OK(h.Open());
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 1, "one"), Rec("d", 2, "two")}));
  const std::string seg = dir.path() + "/readings/0000/00000000000000000000.log";
  h.log.reset();
  const uint64_t good = fs::file_size(seg);
  ASSERT_OK(h.Open());
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 3, "three"), Rec("d", 4, std::string(60, 'z'))}));
  h.log.reset();
  const std::string full = Slurp(seg);
  ASSERT_GT(full.size(), good);
  for (size_t cut = good; cut < full.size(); ++cut) {
    Spit(seg, full.substr(0, cut));
    ASSERT_OK(h.Open());
    // Zeros at the end of the cut batch are not counted: they look like the zero tail.
    EXPECT_EQ(h.metrics->CounterValue("sensorpipe_log_recovered_bytes_total"),
              NonZeroLength(std::string_view(full).substr(good, cut - good)))
        << cut;
    EXPECT_EQ(fs::file_size(seg), good);
    EXPECT_EQ(h.stream->EndOffsets()[0], 2u);
    ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 5, "after")}));
    auto all = h.ReadAll();
    ASSERT_EQ(all.size(), 3u) << cut;
    EXPECT_EQ(all[2].value, "after");
    EXPECT_EQ(all[2].offset, 2u);
    h.log.reset();
  }
}

// Under fsync = "batch" the active segment runs ahead of its data with zeros. A kill leaves them
// (the file as it is while the log is open is what the kernel keeps); the next open cuts them
// without counting or reporting damage, and a clean close never leaves them.
TEST(FileLog, AZeroTailLeftByAKillIsCutWithoutCountingIt) {
  testing::TempDir dir;
  Harness h(dir.path(), 1);
  ASSERT_OK(h.Open());
  for (int i = 0; i < 3; ++i) ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", i, "v" + std::to_string(i))}));
  const std::string seg = dir.path() + "/readings/0000/00000000000000000000.log";
  const std::string killed = Slurp(seg);
  const uint64_t data = DataEnd(killed);
  EXPECT_GE(killed.size(), data + (512 << 10)) << "the active segment is kept ahead of its data";
  EXPECT_TRUE(AllZero(std::string_view(killed).substr(data)));
  h.log.reset();
  EXPECT_EQ(fs::file_size(seg), data) << "a clean close cuts the zero tail";

  Spit(seg, killed);
  ASSERT_OK(h.Open());
  EXPECT_EQ(h.metrics->CounterValue("sensorpipe_log_recovered_bytes_total"), 0u);
  EXPECT_EQ(fs::file_size(seg), data);
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 3, "after")}));
  auto all = h.ReadAll();
  ASSERT_EQ(all.size(), 4u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].offset, i);
  EXPECT_EQ(all[3].value, "after");
}

// A batch torn inside the zero tail (its end never reached the disk: zeros where it should be):
// cut at the last whole batch, and only the torn batch's non-zero bytes count as damage.
TEST(FileLog, ATornBatchBeforeTheZeroTailIsCutAndOnlyItsBytesCount) {
  testing::TempDir dir;
  Harness h(dir.path(), 1);
  ASSERT_OK(h.Open());
  const std::string seg = dir.path() + "/readings/0000/00000000000000000000.log";
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 1, "one")}));
  const uint64_t good = DataEnd(Slurp(seg));
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 2, "two"), Rec("d", 3, std::string(70, 'z'))}));
  const std::string live = Slurp(seg);
  h.log.reset();
  const uint64_t end = DataEnd(live);
  ASSERT_LT(good, end);
  for (uint64_t cut = good + 1; cut < end; ++cut) {
    std::string torn = live;
    std::fill(torn.begin() + static_cast<std::ptrdiff_t>(cut), torn.begin() + static_cast<std::ptrdiff_t>(end), '\0');
    Spit(seg, torn);
    ASSERT_OK(h.Open());
    EXPECT_EQ(h.metrics->CounterValue("sensorpipe_log_recovered_bytes_total"),
              NonZeroLength(std::string_view(torn).substr(good)))
        << cut;
    EXPECT_EQ(fs::file_size(seg), good) << cut;
    auto all = h.ReadAll();
    ASSERT_EQ(all.size(), 1u) << cut;
    EXPECT_EQ(all[0].value, "one");
    h.log.reset();
  }
}

// A roll cuts the sealed segment to exactly its batches; the zero tail is never past
// segment_bytes.
TEST(FileLog, ARollCutsTheSealedSegmentToItsData) {
  testing::TempDir dir;
  Harness h(dir.path(), 1, 64 << 10);
  ASSERT_OK(h.Open());
  for (int i = 0; i < 200; ++i) ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", i, std::string(1000, 'r'))}));
  std::vector<std::string> segs;
  for (const auto& e : fs::directory_iterator(dir.path() + "/readings/0000")) {
    if (e.path().extension() == ".log") segs.push_back(e.path());
  }
  std::sort(segs.begin(), segs.end());
  ASSERT_GE(segs.size(), 3u);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    const std::string bytes = Slurp(segs[i]);
    EXPECT_EQ(DataEnd(bytes), bytes.size()) << segs[i];
    EXPECT_LE(bytes.size(), 64u << 10);
  }
  const std::string active = Slurp(segs.back());
  EXPECT_EQ(active.size(), 64u << 10) << "the zero tail stops at segment_bytes";
  EXPECT_TRUE(AllZero(std::string_view(active).substr(DataEnd(active))));
  ASSERT_OK(h.Open());
  EXPECT_EQ(h.ReadAll().size(), 200u);
  EXPECT_EQ(h.metrics->CounterValue("sensorpipe_log_recovered_bytes_total"), 0u);
  EXPECT_EQ(h.metrics->CounterValue("sensorpipe_log_corrupt_batches_total"), 0u);
}

// Only fsync = "batch" writes zeros ahead: the other policies sync too rarely to gain from it.
TEST(FileLog, NoZeroTailUnderIntervalOrNone) {
  for (const char* policy : {"interval:1000", "none"}) {
    testing::TempDir dir;
    Harness h(dir.path(), 1);
    ASSERT_OK_AND_ASSIGN(h.options.fsync, ParseFsyncPolicy(policy));
    ASSERT_OK(h.Open());
    for (int i = 0; i < 10; ++i) ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", i, "v")}));
    const std::string bytes = Slurp(dir.path() + "/readings/0000/00000000000000000000.log");
    EXPECT_EQ(DataEnd(bytes), bytes.size()) << policy;
    EXPECT_EQ(h.ReadAll().size(), 10u) << policy;
  }
}

// Readers stop at the end of the published batches, never at the end of the file: a consumer
// polling while appends go on reads every record once, in order, and never a zero.
TEST(FileLog, AReaderConcurrentWithAppendsNeverReadsTheZeroTail) {
  testing::TempDir dir;
  Harness h(dir.path(), 2, 256 << 10);  // a few rolls too
  ASSERT_OK(h.Open());
  ASSERT_OK_AND_ASSIGN(auto c, h.stream->OpenConsumer("tail", StartFrom::kOldest));
  constexpr int kAppends = 2000;
  std::thread producer([&] {
    for (int i = 0; i < kAppends; ++i) {
      ASSERT_OK(
          h.stream->Append(std::vector<Record>{Rec("dev" + std::to_string(i % 5), i, "value-" + std::to_string(i)),
                                               Rec("dev" + std::to_string(i % 5), i, std::string(i % 300, 'p'))}));
    }
  });
  std::map<uint32_t, uint64_t> next;
  std::map<std::string, int> last_index;
  size_t read = 0;
  while (read < 2 * kAppends) {
    auto got = c->Poll(500, std::chrono::seconds(10));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    if (got->empty()) break;  // the producer failed: it reports that itself
    for (const auto& r : *got) {
      ASSERT_EQ(r.offset, next[r.shard]++);
      if (r.value.rfind("value-", 0) == 0) {
        const int i = std::stoi(std::string(r.value.substr(6)));
        auto [it, fresh] = last_index.emplace(r.key, i);
        if (!fresh) {
          ASSERT_LT(it->second, i) << r.key;
        }
        it->second = i;
      } else {
        ASSERT_EQ(r.value, std::string(r.value.size(), 'p'));
      }
    }
    read += got->size();
  }
  producer.join();
  EXPECT_EQ(read, 2u * kAppends);
  EXPECT_EQ(h.metrics->CounterValue("sensorpipe_log_corrupt_batches_total"), 0u);
}

// `sensorpipe log ...` opens the log read-only, perhaps while the daemon writes: the zero tail is
// not damage, and the file is left exactly as it was.
TEST(FileLog, AReadOnlyOpenReadsPastNothingAndLeavesTheZeroTailAlone) {
  testing::TempDir dir;
  Harness w(dir.path(), 1);
  ASSERT_OK(w.Open());
  for (int i = 0; i < 20; ++i) ASSERT_OK(w.stream->Append(std::vector<Record>{Rec("d", i, "v" + std::to_string(i))}));
  const std::string seg = dir.path() + "/readings/0000/00000000000000000000.log";
  const std::string before = Slurp(seg);
  ASSERT_GT(before.size(), DataEnd(before));
  for (int round = 0; round < 2; ++round) {
    Harness r(dir.path(), 1);
    r.options.read_only = true;
    ASSERT_OK(r.Open());
    EXPECT_EQ(r.ReadAll().size(), 20u + round);
    EXPECT_EQ(r.stream->Stats()[0].bytes, DataEnd(Slurp(seg)));
    EXPECT_EQ(r.metrics->CounterValue("sensorpipe_log_recovered_bytes_total"), 0u);
    EXPECT_EQ(r.metrics->CounterValue("sensorpipe_log_corrupt_batches_total"), 0u);
    if (round == 0) {
      EXPECT_EQ(Slurp(seg), before) << "a read-only open changed the file";
      ASSERT_OK(w.stream->Append(std::vector<Record>{Rec("d", 20, "v20")}));  // the writer goes on
    }
  }
}

TEST(FileLog, FlippedBitInTheLastBatchDropsIt) {
  testing::TempDir dir;
  Harness h(dir.path(), 1);
  ASSERT_OK(h.Open());
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 1, "one")}));
  h.log.reset();
  const std::string seg = dir.path() + "/readings/0000/00000000000000000000.log";
  const uint64_t good = fs::file_size(seg);
  ASSERT_OK(h.Open());
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 2, "two")}));
  h.log.reset();
  const std::string full = Slurp(seg);
  for (size_t at = good; at < full.size(); ++at) {
    std::string bad = full;
    bad[at] ^= 0x10;
    Spit(seg, bad);
    ASSERT_OK(h.Open());
    auto all = h.ReadAll();
    ASSERT_EQ(all.size(), 1u) << "flip at " << at;
    EXPECT_EQ(all[0].value, "one");
    h.log.reset();
  }
}

TEST(FileLog, DamageInASealedSegmentIsSkippedNotFatal) {
  testing::TempDir dir;
  Harness h(dir.path(), 1, 4096);
  ASSERT_OK(h.Open());
  for (int i = 0; i < 100; ++i) ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", i, std::string(200, 'q'))}));
  h.log.reset();
  // Flip a byte inside the second record's value of the first (sealed) segment.
  const std::string seg = dir.path() + "/readings/0000/00000000000000000000.log";
  std::string data = Slurp(seg);
  data[data.size() / 2] ^= 0x01;
  Spit(seg, data);
  ASSERT_OK(h.Open());
  auto all = h.ReadAll();
  EXPECT_EQ(all.size(), 99u);
  EXPECT_EQ(h.metrics->CounterValue("sensorpipe_log_corrupt_batches_total"), 1u);
}

TEST(FileLog, ADamagedHeaderInASealedSegmentResumesAtTheNextValidBatch) {
  testing::TempDir dir;
  Harness h(dir.path(), 1, 4096);
  ASSERT_OK(h.Open());
  // 20 batches fill the first segment; the 21st rolls it, so it is sealed with an index file.
  // (A batch here is 200 bytes: 40 of header, 160 of record.)
  for (int i = 0; i < 21; ++i) ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", i, std::string(155, 'a' + i))}));
  ASSERT_EQ(h.stream->Stats()[0].segments, 2u);
  h.log.reset();
  // Batch 5's length field becomes garbage: the walk cannot step over it.
  const std::string seg = dir.path() + "/readings/0000/00000000000000000000.log";
  std::string data = Slurp(seg);
  ASSERT_EQ(data.size() % 20, 0u);
  data[5 * (data.size() / 20) + 6] = '\x7f';
  Spit(seg, data);
  ASSERT_OK(h.Open());
  auto all = h.ReadAll();
  // Everything but batch 5 is read, in order; the damage is counted.
  ASSERT_EQ(all.size(), 20u);
  EXPECT_EQ(all[4].offset, 4u);
  EXPECT_EQ(all[5].offset, 6u);
  EXPECT_EQ(all.back().offset, 20u);
  EXPECT_GE(h.metrics->CounterValue("sensorpipe_log_corrupt_batches_total"), 1u);
}

TEST(FileLog, CorruptCheckpointIsAnErrorNotAGuess) {
  testing::TempDir dir;
  Harness h(dir.path(), 2);
  ASSERT_OK(h.Open());
  {
    ASSERT_OK_AND_ASSIGN(auto c, h.stream->OpenConsumer("lake", StartFrom::kOldest));
    ASSERT_OK(c->Commit({{0, 5}, {1, 7}}));
    EXPECT_EQ(c->Committed(), (std::vector<uint64_t>{5, 7}));
  }
  const std::string ckpt = dir.path() + "/readings/consumers/lake.ckpt";
  std::string data = Slurp(ckpt);
  data[14] ^= 0x40;
  Spit(ckpt, data);
  auto c = h.stream->OpenConsumer("lake", StartFrom::kOldest);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsCorruption()) << c.status().ToString();
}

// A damaged or missing .index file is rebuilt from its segment; reads stay exact.
TEST(FileLog, ACorruptIndexIsRebuiltFromItsSegment) {
  testing::TempDir dir;
  Harness h(dir.path(), 1, 4096);
  ASSERT_OK(h.Open());
  for (int i = 0; i < 200; ++i) ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", i, std::string(60, 'q'))}));
  h.log.reset();
  std::vector<std::string> indexes;
  for (const auto& e : fs::directory_iterator(dir.path() + "/readings/0000")) {
    if (e.path().extension() == ".index") indexes.push_back(e.path());
  }
  ASSERT_GE(indexes.size(), 3u);
  std::sort(indexes.begin(), indexes.end());
  {
    std::fstream f(indexes[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x7f');
  }
  fs::remove(indexes[1]);
  const auto before = fs::file_size(indexes[2]);
  ASSERT_OK(h.Open());
  auto all = h.ReadAll();
  ASSERT_EQ(all.size(), 200u);
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i].offset, i);
  EXPECT_TRUE(fs::exists(indexes[1])) << "a missing index is written again";
  EXPECT_EQ(fs::file_size(indexes[2]), before);
  h.log.reset();
  ASSERT_OK(h.Open());  // and now every index checks out
  EXPECT_EQ(h.ReadAll().size(), 200u);
}

}  // namespace
}  // namespace sp
