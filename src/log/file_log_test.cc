#include "log/file_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

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

namespace sp {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

Record Rec(std::string key, int64_t ts, std::string value) { return Record{std::move(key), ts, std::move(value)}; }

struct Harness {
  explicit Harness(std::string dir, uint32_t shards = 4, uint64_t segment_bytes = 64 << 20) {
    options.dir = std::move(dir);
    options.shards = shards;
    options.segment_bytes = segment_bytes;
  }
  Status Open() {
    log.reset();
    metrics = std::make_unique<Metrics>();
    auto l = OpenFileLog(Env::Default(), clock, metrics.get(), options);
    if (!l.ok()) return l.status();
    log = std::move(l).value();
    auto s = log->OpenStream("readings");
    if (!s.ok()) return s.status();
    stream = *s;
    return Status::OK();
  }
  // Everything a fresh consumer reads from the oldest record.
  std::vector<OwnedRecord> ReadAll(const std::string& name = "reader") {
    auto c = stream->OpenConsumer(name, StartFrom::kOldest);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    std::vector<OwnedRecord> all;
    while (true) {
      auto got = (*c)->Poll(1000, milliseconds(0));
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (!got.ok() || got->empty()) break;
      for (const StoredRecord& r : *got) all.push_back(OwnedRecord::From(r));
    }
    return all;
  }
  FileLogOptions options;
  Clock* clock = Clock::Default();
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Log> log;
  Stream* stream = nullptr;
};

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

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void Spit(const std::string& path, const std::string& data) { std::ofstream(path, std::ios::binary) << data; }

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

// Wall time shifted by a settable amount; monotonic time fixed unless set.
class TestClock final : public Clock {
 public:
  int64_t NowMicros() override { return Clock::Default()->NowMicros() + wall_shift_us; }
  int64_t MonotonicMicros() override { return monotonic_us; }
  int64_t wall_shift_us = 0;
  int64_t monotonic_us = 1'000'000;
};

TEST(FileLog, RetentionBySizeKeepsTheNewestAndTellsLateReaders) {
  testing::TempDir dir;
  Harness h(dir.path(), 1, 4096);
  h.options.retention_bytes = 10000;
  ASSERT_OK(h.Open());
  ASSERT_OK_AND_ASSIGN(auto late, h.stream->OpenConsumer("late", StartFrom::kOldest));
  for (int i = 0; i < 300; ++i) ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", i, std::string(100, 'x'))}));
  const ShardStats st = h.stream->Stats()[0];
  EXPECT_LE(st.bytes, 10000u + 4096u);  // the limit, plus the segment being written
  EXPECT_GT(st.oldest_offset, 0u);
  EXPECT_EQ(st.end_offset, 300u);
  EXPECT_GT(h.metrics->CounterValue("sensorpipe_log_segments_deleted_total"), 0u);
  // A reader whose position was deleted is told, with where the log now starts.
  auto r = late->Poll(10, milliseconds(0));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsOutOfRange()) << r.status().ToString();
  ASSERT_OK(late->Seek(0, st.oldest_offset));
  size_t read = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto got, late->Poll(1000, milliseconds(0)));
    if (got.empty()) break;
    EXPECT_EQ(got.front().offset, st.oldest_offset + read);
    read += got.size();
  }
  EXPECT_EQ(read, 300 - st.oldest_offset);
  // After a reopen the log starts at the first segment retention kept (the check at open may
  // drop one more, as the segment being written has grown).
  late.reset();
  ASSERT_OK(h.Open());
  const uint64_t oldest = h.stream->Stats()[0].oldest_offset;
  EXPECT_GE(oldest, st.oldest_offset);
  EXPECT_EQ(h.ReadAll().size(), 300 - oldest);
}

TEST(FileLog, RetentionBySizeCountsTheWholeStream) {
  testing::TempDir dir;
  Harness h(dir.path(), 4, 4096);
  h.options.retention_bytes = 40000;
  ASSERT_OK(h.Open());
  for (int i = 0; i < 1200; ++i) {
    ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("dev" + std::to_string(i % 4), i, std::string(100, 'x'))}));
  }
  uint64_t total = 0;
  for (const auto& st : h.stream->Stats()) total += st.bytes;
  EXPECT_LE(total, 40000u + 4 * 4096u);  // the limit, plus what the shards are writing
  EXPECT_GT(h.metrics->CounterValue("sensorpipe_log_segments_deleted_total"), 0u);
}

TEST(FileLog, RetentionByAgeUsesTheTimeOfTheLastWrite) {
  testing::TempDir dir;
  TestClock clock;
  Harness h(dir.path(), 1, 4096);
  h.clock = &clock;
  h.options.retention_ms = 3'600'000;
  ASSERT_OK(h.Open());
  // Event times a year old do not matter: the segments were written just now.
  for (int i = 0; i < 100; ++i) ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 0, std::string(100, 'y'))}));
  EXPECT_EQ(h.stream->Stats()[0].oldest_offset, 0u);
  EXPECT_GT(h.stream->Stats()[0].segments, 1u);
  // Two hours later every sealed segment is past retention; the next roll deletes them.
  clock.wall_shift_us = 2 * 3'600'000'000LL;
  for (int i = 0; i < 40; ++i) ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 0, std::string(100, 'z'))}));
  EXPECT_GT(h.stream->Stats()[0].oldest_offset, 100u);
  EXPECT_GT(h.metrics->CounterValue("sensorpipe_log_segments_deleted_total"), 0u);
}

TEST(FileLog, SegmentsRollByAge) {
  testing::TempDir dir;
  TestClock clock;
  Harness h(dir.path(), 1);
  h.clock = &clock;
  h.options.segment_ms = 60'000;
  ASSERT_OK(h.Open());
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 1, "a")}));
  clock.monotonic_us += 59'000'000;
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 2, "b")}));
  EXPECT_EQ(h.stream->Stats()[0].segments, 1u);
  clock.monotonic_us += 1'000'000;
  ASSERT_OK(h.stream->Append(std::vector<Record>{Rec("d", 3, "c")}));
  EXPECT_EQ(h.stream->Stats()[0].segments, 2u);
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
