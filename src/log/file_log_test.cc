// The log's appends, reads and consumers: order, checkpoints, polls, batches, the page cache, rolls,
// reads by time and the sparse index. Recovery and retention have tests of their own beside it.
#include "log/file_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <thread>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/testing.h"
#include "log/batch.h"
#include "log/file_log_testing.h"

namespace sp {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

TEST(FileLog, AppendsReadBackInOrderPerKeyAcrossReopen) {
  testing::TempDir dir;
  Harness h(dir.path());
  ASSERT_OK(h.Open());
  for (int i = 0; i < 500; ++i) {
    std::vector<Record> batch = {Rec("dev" + std::to_string(i % 7), 1000 + i, "v" + std::to_string(i)),
                                 Rec("dev" + std::to_string((i + 3) % 7), -5, std::string(i % 50, 'x'))};
    ASSERT_OK(h.stream->Append(batch));
  }
  ASSERT_OK(h.Open());  // reopen: recovery of intact segments keeps everything
  auto all = h.ReadAll();
  ASSERT_EQ(all.size(), 1000u);
  std::map<std::string, std::vector<std::string>> by_key;
  for (const auto& r : all) {
    EXPECT_EQ(r.shard, h.stream->ShardFor(r.key));
    by_key[r.key].push_back(r.value);
  }
  // Per key, the values come back in append order.
  std::map<std::string, std::vector<std::string>> want;
  for (int i = 0; i < 500; ++i) {
    want["dev" + std::to_string(i % 7)].push_back("v" + std::to_string(i));
    want["dev" + std::to_string((i + 3) % 7)].push_back(std::string(i % 50, 'x'));
  }
  EXPECT_EQ(by_key, want);
  EXPECT_EQ(all.front().timestamp_us == 1000 || all.front().timestamp_us == -5, true);
}

TEST(FileLog, ConsumerResumesFromItsCheckpoint) {
  testing::TempDir dir;
  Harness h(dir.path(), 2);
  ASSERT_OK(h.Open());
  std::vector<Record> recs;
  for (int i = 0; i < 100; ++i) recs.push_back(Rec("k" + std::to_string(i), i, std::to_string(i)));
  ASSERT_OK(h.stream->Append(recs));
  {
    ASSERT_OK_AND_ASSIGN(auto c, h.stream->OpenConsumer("lake", StartFrom::kOldest));
    ASSERT_OK_AND_ASSIGN(auto got, c->Poll(30, milliseconds(0)));
    ASSERT_EQ(got.size(), 30u);
    std::map<uint32_t, uint64_t> next;
    for (const auto& r : got) next[r.shard] = r.offset + 1;
    ASSERT_OK(c->Commit({next.begin(), next.end()}));
  }
  ASSERT_OK(h.Open());
  ASSERT_OK_AND_ASSIGN(auto c, h.stream->OpenConsumer("lake", StartFrom::kOldest));
  size_t rest = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto got, c->Poll(1000, milliseconds(0)));
    if (got.empty()) break;
    rest += got.size();
  }
  EXPECT_EQ(rest, 70u);
  // A second consumer is independent and starts at the oldest record.
  EXPECT_EQ(h.ReadAll("other").size(), 100u);
}

TEST(FileLog, PollReturnsAtMostMaxAcrossShardsAndResumesExactly) {
  testing::TempDir dir;
  Harness h(dir.path(), 4);
  ASSERT_OK(h.Open());
  for (int i = 0; i < 50; ++i) {
    std::vector<Record> batch;
    for (int k = 0; k < 8; ++k) batch.push_back(Rec("dev" + std::to_string(k), i, std::to_string(i * 8 + k)));
    ASSERT_OK(h.stream->Append(batch));
  }
  ASSERT_OK_AND_ASSIGN(auto c, h.stream->OpenConsumer("small-polls", StartFrom::kOldest));
  std::set<std::string> seen;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto got, c->Poll(7, milliseconds(0)));
    ASSERT_LE(got.size(), 7u);
    if (got.empty()) break;
    for (const auto& r : got) EXPECT_TRUE(seen.emplace(r.value).second) << "read twice: " << r.value;
  }
  EXPECT_EQ(seen.size(), 400u);
  // Seek moves the read position back: the shard is read again from there.
  ASSERT_OK(c->Seek(0, 0));
  ASSERT_OK_AND_ASSIGN(auto again, c->Poll(1000, milliseconds(0)));
  EXPECT_EQ(again.size(), h.stream->EndOffsets()[0]);
}

// Poll reuses the strings of the records it returned before: each record must still hold exactly
// its own bytes whatever longer or shorter ones its slot held, across polls of any size.
TEST(FileLog, RecordsInReusedSlotsHoldExactlyTheirOwnBytes) {
  testing::TempDir dir;
  Harness h(dir.path(), 3, 4096);  // small segments: polls also cross rolls
  ASSERT_OK(h.Open());
  std::mt19937 rng(7);
  auto text = [&rng](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
  };
  std::map<uint32_t, std::vector<Record>> expected;  // per shard, in offset order
  for (int batch = 0; batch < 60; ++batch) {
    std::vector<Record> recs;
    for (size_t k = rng() % 9; k > 0; --k) {
      // Keys of 1 to 40 bytes (inline and allocated strings), values of 0 to 599.
      recs.push_back(Rec(text(1 + rng() % 40), static_cast<int64_t>(rng() % 1000) - 500, text(rng() % 600)));
      expected[h.stream->ShardFor(recs.back().key)].push_back(recs.back());
    }
    ASSERT_OK(h.stream->Append(recs));
  }
  ASSERT_OK_AND_ASSIGN(auto c, h.stream->OpenConsumer("slots", StartFrom::kOldest));
  size_t read = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto got, c->Poll(1 + rng() % 50, milliseconds(0)));
    if (got.empty()) break;
    for (const StoredRecord& r : got) {
      ASSERT_LT(r.offset, expected[r.shard].size());
      const Record& want = expected[r.shard][r.offset];
      ASSERT_EQ(r.key, want.key) << "shard " << r.shard << " offset " << r.offset;
      ASSERT_EQ(r.value, want.value) << "shard " << r.shard << " offset " << r.offset;
      ASSERT_EQ(r.timestamp_us, want.timestamp_us);
      ++read;
    }
  }
  size_t total = 0;
  for (const auto& [shard, recs] : expected) total += recs.size();
  EXPECT_EQ(read, total);
}

// Decode adds only the records at or past min_offset, and on damage leaves out as it was.
TEST(Batch, DecodeSkipsEarlierRecordsAndAddsNothingOnDamage) {
  const std::vector<Record> recs = {Rec("a", 5, "one"), Rec("b", 3, ""), Rec("c", 9, std::string(300, 'x'))};
  std::vector<const Record*> ptrs;
  for (const Record& r : recs) ptrs.push_back(&r);
  std::string bytes;
  batch::Encode(100, ptrs, &bytes);
  batch::RecordBuffer out;
  ASSERT_OK(batch::Decode(bytes, 2, 101, &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out.records()[0].offset, 101u);
  EXPECT_EQ(out.records()[0].value, "");
  EXPECT_EQ(out.records()[1].key, "c");
  EXPECT_EQ(out.records()[1].timestamp_us, 9);
  EXPECT_EQ(out.records()[1].shard, 2u);
  // A batch claiming a fourth record it does not hold, with a CRC that matches the claim.
  EncodeFixed32(bytes.data() + 20, 4);
  EncodeFixed32(bytes.data(), crc32c::Extend(0, bytes.data() + 4, bytes.size() - 4));
  EXPECT_FALSE(batch::Decode(bytes, 2, 0, &out).ok());
  EXPECT_EQ(out.size(), 2u);
}

// Records point into the batches they were decoded from: every record read into a RecordBuffer
// must still read as written after many more batches (small ones filling chunks, and ones larger
// than a chunk), and again after Clear reuses the room.
TEST(Batch, RecordsStayValidWhileMoreBatchesAreRead) {
  batch::RecordBuffer out;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> values;
    for (int b = 0; b < 200; ++b) {
      const size_t size = b % 50 == 7 ? (3 << 20) / 2 : 100 + static_cast<size_t>(b * 37 % 9000);
      const Record r = Rec("k" + std::to_string(b), b, std::string(size, static_cast<char>('a' + (b + round) % 26)));
      const Record* ptr = &r;
      std::string bytes;
      batch::Encode(static_cast<uint64_t>(b), std::span<const Record* const>(&ptr, 1), &bytes);
      char* room = out.BatchRoom(bytes.size());
      std::memcpy(room, bytes.data(), bytes.size());
      ASSERT_OK(batch::Decode(std::string_view(room, bytes.size()), 0, 0, &out));
      values.push_back(r.value);
    }
    ASSERT_EQ(out.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      ASSERT_EQ(out.records()[i].key, "k" + std::to_string(i));
      ASSERT_EQ(out.records()[i].value, values[i]) << "record " << i << " of round " << round;
    }
    out.Clear();
    EXPECT_EQ(out.size(), 0u);
  }
}

// The group commit writes batches of at most 64 KiB of keys and values (a record larger than that
// alone in its own), and a poll that already holds records stops before a batch it would have to
// cut: readers never read a batch twice for its records (docs/format/log.md).
TEST(FileLog, LargeAppendsBecomeBatchesThatPollsTakeWhole) {
  testing::TempDir dir;
  Harness h(dir.path(), 1);
  ASSERT_OK(h.Open());
  std::vector<Record> big;  // an HTTP request's worth: 10,000 readings of ~150 bytes
  for (int i = 0; i < 10000; ++i) big.push_back(Rec("dev", i, std::to_string(i) + std::string(140, 'r')));
  big.push_back(Rec("dev", 10000, std::string(100000, 'L')));  // alone over the cap
  big.push_back(Rec("dev", 10001, "after"));
  ASSERT_OK(h.stream->Append(big));
  for (int i = 0; i < 3; ++i) {  // small appends: one batch each
    ASSERT_OK(h.stream->Append(std::vector<Record>(5, Rec("dev", 20000 + i, "small-" + std::to_string(i)))));
  }
  std::ifstream in(dir.path() + "/readings/0000/00000000000000000000.log", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<uint32_t> counts;
  for (size_t pos = 0; pos + batch::kHeaderSize <= bytes.size();) {
    auto hd = batch::DecodeHeader(std::string_view(bytes).substr(pos));
    if (!hd.ok()) break;  // the zero tail
    counts.push_back(hd->count);
    if (hd->count > 1) {
      EXPECT_LE(hd->total_size(), batch::kHeaderSize + batch::kMaxRecordBytes + 8 * hd->count);
    }
    pos += hd->total_size();
  }
  ASSERT_GE(counts.size(), 10000u * 143 / (64 << 10) + 2 + 3);
  EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), 0u), 10017u);
  EXPECT_EQ(counts[counts.size() - 3], 5u);

  ASSERT_OK_AND_ASSIGN(auto c, h.stream->OpenConsumer("whole", StartFrom::kOldest));
  size_t read = 0;
  std::vector<size_t> polls;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto got, c->Poll(4096, milliseconds(0)));
    if (got.empty()) break;
    ASSERT_LE(got.size(), 4096u);
    for (const StoredRecord& r : got) ASSERT_EQ(r.offset, read++);
    polls.push_back(got.size());
  }
  EXPECT_EQ(read, 10017u);
  // The three small batches at the end: a poll of 7 takes one (5), not one and a cut of the next.
  ASSERT_OK(c->Seek(0, 10002));
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(auto got, c->Poll(7, milliseconds(0)));
    ASSERT_EQ(got.size(), 5u) << "poll " << i;
    EXPECT_EQ(got[0].value, "small-" + std::to_string(i));
  }
  // A batch larger than a whole poll is still read, cut at the limit.
  ASSERT_OK(c->Seek(0, 0));
  ASSERT_OK_AND_ASSIGN(auto got, c->Poll(3, milliseconds(0)));
  EXPECT_EQ(got.size(), 3u);
}

// The fraction of [from, to) of path, page-aligned, that is in the page cache (mincore).
double Resident(const std::string& path, size_t from, size_t to) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  void* map = ::mmap(nullptr, to - from, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(from));
  ::close(fd);
  if (map == MAP_FAILED) return -1;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in((to - from + page - 1) / page);
  const bool ok = ::mincore(map, to - from, in.data()) == 0;
  ::munmap(map, to - from);
  if (!ok) return -1;
  return static_cast<double>(std::count_if(in.begin(), in.end(), [](unsigned char c) { return c & 1; })) /
         static_cast<double>(in.size());
}

// Synced pages every consumer has read leave the page cache; pages a consumer has yet to read stay.
TEST(FileLog, PagesEveryConsumerReadLeaveThePageCache) {
  testing::TempDir dir;
  Harness h(dir.path(), 1);
  ASSERT_OK(h.Open());
  const std::string seg = dir.path() + "/readings/0000/00000000000000000000.log";
  ASSERT_OK_AND_ASSIGN(auto fast, h.stream->OpenConsumer("fast", StartFrom::kOldest));
  auto append_mib = [&](int n) {
    for (int i = 0; i < n; ++i) {
      std::vector<Record> batch;
      for (int k = 0; k < 64; ++k)
        batch.push_back(Rec("dev", i, std::string(16 << 10, static_cast<char>('a' + k % 26))));
      ASSERT_OK(h.stream->Append(batch));
      while (true) {  // the consumer keeps up
        ASSERT_OK_AND_ASSIGN(auto got, fast->Poll(1000, milliseconds(0)));
        if (got.empty()) break;
      }
    }
  };
  append_mib(8);
  append_mib(1);  // the drop follows the consumer's position as of the last commit
  EXPECT_LT(Resident(seg, 0, 6 << 20), 0.1);

  // A consumer that has read nothing since it opened holds what came after in the cache.
  ASSERT_OK_AND_ASSIGN(auto slow, h.stream->OpenConsumer("slow", StartFrom::kLatest));
  append_mib(8);
  EXPECT_GT(Resident(seg, 10 << 20, 16 << 20), 0.9);
}

TEST(FileLog, StartFromLatestSeesOnlyNewRecords) {
  testing::TempDir dir;
  Harness h(dir.path());
  ASSERT_OK(h.Open());
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("a", 1, "old")}));
  ASSERT_OK_AND_ASSIGN(auto c, h.stream->OpenConsumer("tail", StartFrom::kLatest));
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("a", 2, "new")}));
  ASSERT_OK_AND_ASSIGN(auto got, c->Poll(10, milliseconds(0)));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, "new");
  EXPECT_FALSE(h.stream->OpenConsumer("tail", StartFrom::kLatest).ok());  // one open consumer per name
}

TEST(FileLog, ConcurrentAppendersShareSyncs) {
  testing::TempDir dir;
  Harness h(dir.path(), 1);
  ASSERT_OK(h.Open());
  constexpr int kThreads = 8, kEach = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("t" + std::to_string(t), i, std::to_string(i))}));
      }
    });
  }
  for (auto& t : threads) t.join();
  auto all = h.ReadAll();
  ASSERT_EQ(all.size(), size_t{kThreads * kEach});
  std::map<std::string, int> next;
  for (const auto& r : all) EXPECT_EQ(r.value, std::to_string(next[r.key]++));  // each producer's order kept
  uint64_t syncs = h.metrics->CounterValue("sensorpipe_log_syncs_total");
  EXPECT_LT(syncs, uint64_t{kThreads * kEach}) << "appends waiting for a sync should share the next one";
  EXPECT_GT(syncs, 0u);
}

TEST(FileLog, EachStreamCanHaveItsOwnDurability) {
  testing::TempDir dir;
  Harness h(dir.path(), 1);
  h.options.stream_fsync["errors"].kind = FsyncPolicy::Kind::kNone;
  ASSERT_OK(h.Open());
  ASSERT_OK_AND_ASSIGN(Stream * errors, h.log->OpenStream("errors"));
  ASSERT_OK(errors->Append(std::vector<Record>{Rec("e", 1, "x")}));
  EXPECT_EQ(h.metrics->CounterValue("sensorpipe_log_syncs_total"), 0u);
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("r", 1, "y")}));  // readings: "batch"
  EXPECT_EQ(h.metrics->CounterValue("sensorpipe_log_syncs_total"), 1u);
}

TEST(FileLog, PollWakesOnAppendAndOnWakeup) {
  testing::TempDir dir;
  Harness h(dir.path());
  ASSERT_OK(h.Open());
  ASSERT_OK_AND_ASSIGN(auto c, h.stream->OpenConsumer("waiter", StartFrom::kOldest));
  auto start = std::chrono::steady_clock::now();
  std::thread producer([&] {
    std::this_thread::sleep_for(milliseconds(50));
    ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("a", 1, "hello")}));
  });
  ASSERT_OK_AND_ASSIGN(auto got, c->Poll(10, std::chrono::seconds(60)));
  producer.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));

  start = std::chrono::steady_clock::now();
  std::thread waker([&] {
    std::this_thread::sleep_for(milliseconds(50));
    c->Wakeup();
  });
  ASSERT_OK_AND_ASSIGN(got, c->Poll(10, std::chrono::seconds(60)));
  waker.join();
  EXPECT_TRUE(got.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(FileLog, SegmentsRollAndReadAcross) {
  testing::TempDir dir;
  Harness h(dir.path(), 1, 4096);
  ASSERT_OK(h.Open());
  for (int i = 0; i < 300; ++i) ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", i, std::string(100, 'a' + i % 26))}));
  size_t segments = 0;
  for (const auto& e : fs::directory_iterator(dir.path() + "/readings/0000")) segments += e.path().extension() == ".log";
  EXPECT_GT(segments, 5u);
  ASSERT_OK(h.Open());
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 300, "last")}));
  auto all = h.ReadAll();
  ASSERT_EQ(all.size(), 301u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].offset, i);
  EXPECT_EQ(all.back().value, "last");
}

TEST(FileLog, OffsetForTimeFindsTheFirstRecordAtOrAfter) {
  testing::TempDir dir;
  Harness h(dir.path(), 1, 4096);
  ASSERT_OK(h.Open());
  // Event times 0, 10, 20, ... in batches of 3 across several segments; one late record.
  for (int i = 0; i < 90; i += 3) {
    ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", i * 10, std::string(80, 'a')),
                                                   Rec("d", (i + 1) * 10, std::string(80, 'b')),
                                                   Rec("d", (i + 2) * 10, std::string(80, 'c'))}));
  }
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 5, "late")}));  // offset 90
  auto at = [&](int64_t ts) { return h.stream->OffsetForTime(0, ts).value(); };
  EXPECT_EQ(at(-100), 0u);
  EXPECT_EQ(at(0), 0u);
  EXPECT_EQ(at(1), 1u);
  EXPECT_EQ(at(10), 1u);
  EXPECT_EQ(at(445), 45u);
  EXPECT_EQ(at(890), 89u);
  EXPECT_EQ(at(891), 91u);  // past everything: the end
  EXPECT_GT(h.stream->Stats()[0].segments, 1u);
  ASSERT_OK(h.Open());  // the same answers from an index rebuilt at open
  EXPECT_EQ(at(445), 45u);
  ASSERT_OK_AND_ASSIGN(auto c, h.stream->OpenConsumer("at-time", StartFrom::kOldest));
  ASSERT_OK(c->Seek(0, at(445)));
  ASSERT_OK_AND_ASSIGN(auto got, c->Poll(1, milliseconds(0)));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].timestamp_us, 450);
}

// Small batches (one record per MQTT read at low rates) keep the index small: one entry per
// 4 KiB of segment. Reads from any offset and any time still land exactly.
TEST(FileLog, SparseIndexStaysSmallAndSeeksExactly) {
  testing::TempDir dir;
  Harness h(dir.path(), 1, 200 << 10);
  ASSERT_OK(h.Open());
  for (int i = 0; i < 5000; ++i) {
    ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", i * 1000, "value-" + std::to_string(i))}));
  }
  ASSERT_GT(h.stream->Stats()[0].segments, 1u);
  const std::string index = dir.path() + "/readings/0000/00000000000000000000.index";
  ASSERT_TRUE(fs::exists(index));
  const uint64_t seg_bytes = fs::file_size(dir.path() + "/readings/0000/00000000000000000000.log");
  EXPECT_LE(fs::file_size(index), (seg_bytes / 4096 + 2) * 24 + 64) << "not sparse";
  ASSERT_OK(h.Open());
  ASSERT_OK_AND_ASSIGN(auto c, h.stream->OpenConsumer("seeker", StartFrom::kOldest));
  for (uint64_t offset : {0u, 1u, 77u, 2999u, 3000u, 4321u, 4999u}) {
    ASSERT_OK(c->Seek(0, offset));
    ASSERT_OK_AND_ASSIGN(auto got, c->Poll(1, milliseconds(0)));
    ASSERT_EQ(got.size(), 1u) << offset;
    EXPECT_EQ(got[0].offset, offset);
    EXPECT_EQ(got[0].value, "value-" + std::to_string(offset));
    ASSERT_OK_AND_ASSIGN(uint64_t at, h.stream->OffsetForTime(0, int64_t(offset) * 1000 - 1));
    EXPECT_EQ(at, offset);
  }
}

TEST(FileLog, ShardCountIsFixedAtCreation) {
  testing::TempDir dir;
  Harness h(dir.path(), 3);
  ASSERT_OK(h.Open());
  EXPECT_EQ(h.stream->shard_count(), 3u);
  h.options.shards = 8;
  ASSERT_OK(h.Open());
  EXPECT_EQ(h.stream->shard_count(), 3u);
}

}  // namespace
}  // namespace sp
