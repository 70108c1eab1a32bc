// The log under simulated power loss and crashes (FaultInjectionEnv) and corrupt bytes. Under
// SOAK=1 the repetition counts of the log issue are run in full and a summary line is printed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "common/fault_env.h"
#include "common/testing.h"
#include "log/batch.h"
#include "log/file_log.h"
#include "log/file_log_testing.h"

namespace sp {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

bool Soak() { return std::getenv("SOAK") && std::string(std::getenv("SOAK")) == "1"; }

std::vector<OwnedRecord> ReadAll(Stream* stream) {
  auto c = stream->OpenConsumer("check", StartFrom::kOldest);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  std::vector<OwnedRecord> all;
  while (c.ok()) {
    auto got = (*c)->Poll(1000, milliseconds(0));
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok() || got->empty()) break;
    for (const StoredRecord& r : *got) all.push_back(OwnedRecord::From(r));
  }
  return all;
}

Result<std::unique_ptr<Log>> Open(Env* env, Metrics* metrics, const std::string& dir, FsyncPolicy fsync = {}) {
  FileLogOptions o;
  o.dir = dir;
  o.shards = 2;
  o.segment_bytes = 4096;  // small, so rolls happen often and their ordering is exercised too
  o.fsync = fsync;
  return OpenFileLog(env, Clock::Default(), metrics, o);
}

// Power loss at a random moment, many times: every record whose append returned under
// fsync = "batch" is there after reopening, in order, and nothing else appears.
TEST(FileLogFaults, PowerLossKeepsEveryAcknowledgedAppend) {
  const int runs = Soak() ? 100 : 10;
  std::mt19937 rng(20221114);
  int crashes_in_open = 0;
  size_t total_acked = 0, total_lost_unacked = 0;
  for (int run = 0; run < runs; ++run) {
    testing::TempDir dir;
    FaultInjectionEnv env(Env::Default());
    Metrics metrics;
    env.SetCrashAfter(std::uniform_int_distribution<int>(1, 600)(rng));
    std::vector<std::string> attempted, acked;  // values, in append order
    {
      auto log = Open(&env, &metrics, dir.path());
      if (!log.ok()) {
        ++crashes_in_open;
      } else if (auto stream = (*log)->OpenStream("readings"); !stream.ok()) {
        ++crashes_in_open;
      } else {
        for (int i = 0; i < 400; ++i) {
          std::vector<Record> batch;
          const int n = std::uniform_int_distribution<int>(1, 5)(rng);
          for (int k = 0; k < n; ++k) {
            std::string value = "r" + std::to_string(run) + "-" + std::to_string(attempted.size());
            batch.push_back({"dev" + std::to_string(attempted.size() % 5), int64_t(attempted.size()), value});
            attempted.push_back(value);
          }
          if (!(*stream)->Append(batch).ok()) break;
          for (const auto& r : batch) acked.push_back(r.value);
        }
      }
    }  // the log closes; with the "crash" in force its last syncs fail, as they would
    ASSERT_OK(env.DropUnsyncedData());

    Metrics metrics2;
    ASSERT_OK_AND_ASSIGN(auto log, Open(Env::Default(), &metrics2, dir.path()));
    ASSERT_OK_AND_ASSIGN(Stream * stream, log->OpenStream("readings"));
    std::set<std::string> present;
    std::map<std::string, int64_t> last_index_per_key;
    for (const auto& r : ReadAll(stream)) {
      // Nothing that was never appended, nothing twice, and each device's records in order.
      auto pos = std::find(attempted.begin(), attempted.end(), r.value);
      ASSERT_NE(pos, attempted.end()) << "run " << run << ": unknown record " << r.value;
      ASSERT_TRUE(present.insert(r.value).second) << "run " << run << ": duplicate " << r.value;
      int64_t index = pos - attempted.begin();
      auto [it, fresh] = last_index_per_key.emplace(r.key, index);
      if (!fresh) {
        ASSERT_LT(it->second, index) << "run " << run << ": out of order for " << r.key;
        it->second = index;
      }
    }
    for (const auto& v : acked) ASSERT_TRUE(present.count(v)) << "run " << run << ": acknowledged " << v << " lost";
    total_acked += acked.size();
    total_lost_unacked += attempted.size() - present.size();
  }
  if (Soak()) {
    std::printf("SOAK power-loss: %d runs, %zu acknowledged records all present, %zu unacknowledged lost, "
                "%d crashes during open\n", runs, total_acked, total_lost_unacked, crashes_in_open);
  }
}

// A checkpoint written while the process dies (and the power goes) at any step reads back as
// the old checkpoint or the new one, never as an error or a mix.
TEST(FileLogFaults, CheckpointSurvivesACrashAtEveryStep) {
  const int repeats = Soak() ? 20 : 3;
  int saw_new = 0, saw_old = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    for (int step = 0; step < 12; ++step) {
      testing::TempDir dir;
      FaultInjectionEnv env(Env::Default());
      Metrics metrics;
      {
        ASSERT_OK_AND_ASSIGN(auto log, Open(&env, &metrics, dir.path()));
        ASSERT_OK_AND_ASSIGN(Stream * stream, log->OpenStream("readings"));
        ASSERT_OK_AND_ASSIGN(auto c, stream->OpenConsumer("lake", StartFrom::kOldest));
        ASSERT_OK(c->Commit({{0, 1}, {1, 2}}));
        env.SetCrashAfter(step);
        (void)c->Commit({{0, 30}, {1, 40}});
      }
      ASSERT_OK(env.DropUnsyncedData());
      Metrics metrics2;
      ASSERT_OK_AND_ASSIGN(auto log, Open(Env::Default(), &metrics2, dir.path()));
      ASSERT_OK_AND_ASSIGN(Stream * stream, log->OpenStream("readings"));
      ASSERT_OK_AND_ASSIGN(auto c, stream->OpenConsumer("lake", StartFrom::kOldest));
      auto got = c->Committed();
      if (got == std::vector<uint64_t>{30, 40}) {
        ++saw_new;
      } else {
        ASSERT_EQ(got, (std::vector<uint64_t>{1, 2})) << "crash at step " << step;
        ++saw_old;
      }
    }
  }
  EXPECT_GT(saw_new, 0);
  EXPECT_GT(saw_old, 0);
  if (Soak()) std::printf("SOAK checkpoint: %d crash points x %d runs: %d old, %d new, 0 damaged\n", 12, repeats, saw_old, saw_new);
}

// The zero tail's bytes overwritten by an append whose fdatasync never ran are zeros again after
// a power cut (FaultInjectionEnv keeps that honest): the batch is gone, nothing is counted.
TEST(FileLogFaults, AnUnsyncedBatchInTheZeroTailIsLostAtAPowerCut) {
  testing::TempDir dir;
  FaultInjectionEnv env(Env::Default());
  Metrics metrics;
  FileLogOptions o;
  o.dir = dir.path();
  o.shards = 1;
  const std::string seg = dir.path() + "/readings/0000/00000000000000000000.log";
  uint64_t good = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto log, OpenFileLog(&env, Clock::Default(), &metrics, o));
    ASSERT_OK_AND_ASSIGN(Stream * stream, log->OpenStream("readings"));
    ASSERT_OK(stream->Append(std::vector<Record>{{"d", 1, "synced"}}));
    good = stream->Stats()[0].bytes;
    env.SetCrashAfter(1);  // the next write goes to the file, its fdatasync does not happen
    EXPECT_FALSE(stream->Append(std::vector<Record>{{"d", 2, "never synced"}}).ok());
    const size_t at = Slurp(seg).find("never synced");
    ASSERT_NE(at, std::string::npos);
    EXPECT_GT(at, good);
  }
  ASSERT_OK(env.DropUnsyncedData());
  const std::string after = Slurp(seg);
  EXPECT_GT(after.size(), good) << "the zero tail was synced with the first batch";
  EXPECT_EQ(after.find_first_not_of('\0', good), std::string::npos) << "an unsynced overwrite survived the power cut";
  Metrics metrics2;
  ASSERT_OK_AND_ASSIGN(auto log, OpenFileLog(Env::Default(), Clock::Default(), &metrics2, o));
  ASSERT_OK_AND_ASSIGN(Stream * stream, log->OpenStream("readings"));
  const auto all = ReadAll(stream);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].value, "synced");
  EXPECT_EQ(metrics2.CounterValue("sensorpipe_log_recovered_bytes_total"), 0u);
}

// A power cut in the zero tail may keep a later page of the lost group and lose an earlier one:
// a torn batch, then a whole batch that was never acknowledged. Recovery cuts at the torn batch
// and truncates the rest, so the stale batch can never come back, not even once new appends end
// exactly where it began with its first offset the expected one.
TEST(FileLogFaults, StaleBytesAfterATornBatchInTheZeroTailNeverComeBack) {
  testing::TempDir dir;
  FileLogOptions o;
  o.dir = dir.path();
  o.shards = 1;
  const std::string seg = dir.path() + "/readings/0000/00000000000000000000.log";
  // A process dies (every mutation fails from then on, so no clean close cuts the zero tail).
  auto run_and_die = [&](const std::vector<Record>& records) {
    FaultInjectionEnv env(Env::Default());
    Metrics metrics;
    {
      auto log = OpenFileLog(&env, Clock::Default(), &metrics, o);
      ASSERT_TRUE(log.ok());
      auto stream = (*log)->OpenStream("readings");
      ASSERT_TRUE(stream.ok());
      ASSERT_OK((*stream)->Append(records));
      env.SetCrashAfter(0);
    }
    ASSERT_OK(env.DropUnsyncedData());
  };
  run_and_die({{"d", 1, "a0"}, {"d", 2, "a1"}});
  ASSERT_FALSE(HasFatalFailure());
  std::string bytes = Slurp(seg);
  auto header = batch::DecodeHeader(bytes);
  ASSERT_TRUE(header.ok());
  const uint64_t end_a = header->total_size();
  ASSERT_GT(bytes.size(), end_a + 4096) << "a zero tail";
  // The lost group: batch B (offset 2), torn after its first 20 bytes, then batch C (offset 3),
  // whole, where B ended.
  const Record b_rec{"d", 3, "b-lost"}, c_rec{"d", 4, "c-stale"};
  std::string b, c;
  const Record* b_ptr = &b_rec;
  const Record* c_ptr = &c_rec;
  batch::Encode(2, std::span<const Record* const>(&b_ptr, 1), &b);
  batch::Encode(3, std::span<const Record* const>(&c_ptr, 1), &c);
  bytes.replace(end_a, 20, b, 0, 20);
  bytes.replace(end_a + b.size(), c.size(), c);
  Spit(seg, bytes);
  {
    Metrics metrics;
    ASSERT_OK_AND_ASSIGN(auto log, OpenFileLog(Env::Default(), Clock::Default(), &metrics, o));
    ASSERT_OK_AND_ASSIGN(Stream * stream, log->OpenStream("readings"));
    // Damage runs to C's last non-zero byte; the zeros after it are the tail.
    EXPECT_EQ(metrics.CounterValue("sensorpipe_log_recovered_bytes_total"), b.size() + c.find_last_not_of('\0') + 1);
    EXPECT_EQ(fs::file_size(seg), end_a);
    EXPECT_EQ(ReadAll(stream).size(), 2u);
  }
  // B' has B's size and count: it ends where C begins, and C's offset 3 is the next one.
  const Record b2_rec{"d", 3, "b-anew"};
  std::string b2;
  const Record* b2_ptr = &b2_rec;
  batch::Encode(2, std::span<const Record* const>(&b2_ptr, 1), &b2);
  ASSERT_EQ(b2.size(), b.size());
  run_and_die({b2_rec});
  ASSERT_FALSE(HasFatalFailure());
  Metrics metrics;
  ASSERT_OK_AND_ASSIGN(auto log, OpenFileLog(Env::Default(), Clock::Default(), &metrics, o));
  ASSERT_OK_AND_ASSIGN(Stream * stream, log->OpenStream("readings"));
  const auto all = ReadAll(stream);
  ASSERT_EQ(all.size(), 3u) << "the stale batch came back";
  EXPECT_EQ(all[2].value, "b-anew");
  EXPECT_EQ(stream->EndOffsets()[0], 3u);
  EXPECT_EQ(metrics.CounterValue("sensorpipe_log_recovered_bytes_total"), 0u);
}

// A segment of many batches and its batch boundaries.
struct Segment {
  testing::TempDir dir;
  std::string path;
  std::string bytes;
  std::vector<uint64_t> boundaries;  // 0 and the end of every batch
  std::vector<uint64_t> records_before;  // records in the batches before each boundary
};

void MakeSegment(Segment* s, int batches) {
  FileLogOptions o;
  o.dir = s->dir.path();
  o.shards = 1;
  Metrics metrics;
  {
    auto log = OpenFileLog(Env::Default(), Clock::Default(), &metrics, o).value();
    Stream* stream = log->OpenStream("readings").value();
    for (int i = 0; i < batches; ++i) {
      std::vector<Record> b;
      for (int k = 0; k <= i % 3; ++k) b.push_back({"d", i, "value-" + std::to_string(i) + "-" + std::to_string(k)});
      ASSERT_OK(stream->Append(b));
    }
  }
  s->path = s->dir.path() + "/readings/0000/00000000000000000000.log";
  s->bytes = Slurp(s->path);
  uint64_t pos = 0, records = 0;
  s->boundaries.push_back(0);
  s->records_before.push_back(0);
  while (pos < s->bytes.size()) {
    auto h = batch::DecodeHeader(std::string_view(s->bytes).substr(pos));
    ASSERT_TRUE(h.ok());
    pos += h->total_size();
    records += h->count;
    s->boundaries.push_back(pos);
    s->records_before.push_back(records);
  }
}

// Recovery of one damaged copy: never crashes, cuts at a batch boundary, counts what it cut.
void CheckRecovery(const Segment& s, const std::string& damaged, uint64_t max_valid_end) {
  Spit(s.path, damaged);
  Metrics metrics;
  FileLogOptions o;
  o.dir = s.dir.path();
  o.shards = 1;
  ASSERT_OK_AND_ASSIGN(auto log, OpenFileLog(Env::Default(), Clock::Default(), &metrics, o));
  ASSERT_OK_AND_ASSIGN(Stream * stream, log->OpenStream("readings"));
  const uint64_t size = fs::file_size(s.path);
  auto b = std::find(s.boundaries.begin(), s.boundaries.end(), size);
  ASSERT_NE(b, s.boundaries.end()) << "recovery cut at " << size << ", not a batch boundary";
  ASSERT_LE(size, max_valid_end);
  // Damage is counted up to the last non-zero byte: zeros after it look like the zero tail.
  const size_t last = damaged.find_last_not_of('\0');
  EXPECT_EQ(metrics.CounterValue("sensorpipe_log_recovered_bytes_total"),
            last == std::string::npos || last < size ? 0 : last + 1 - size);
  const auto all = ReadAll(stream);
  ASSERT_EQ(all.size(), s.records_before[b - s.boundaries.begin()]);
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i].offset, i);
}

TEST(FileLogFaults, CutAtEveryByteRecoversToTheLastWholeBatch) {
  Segment s;
  MakeSegment(&s, Soak() ? 60 : 12);
  for (uint64_t cut = 0; cut <= s.bytes.size(); ++cut) {
    const uint64_t valid = *std::prev(std::upper_bound(s.boundaries.begin(), s.boundaries.end(), cut));
    CheckRecovery(s, s.bytes.substr(0, cut), valid);
    if (HasFatalFailure()) return;
  }
  if (Soak()) std::printf("SOAK cut: %zu reopen cycles, each cut at the last whole batch\n", s.bytes.size() + 1);
}

TEST(FileLogFaults, FlippedBitsAtSeededPositionsAreCaught) {
  Segment s;
  MakeSegment(&s, 30);
  std::mt19937 rng(1000);
  const int flips = Soak() ? 1000 : 200;
  for (int i = 0; i < flips; ++i) {
    const uint64_t at = std::uniform_int_distribution<uint64_t>(0, s.bytes.size() - 1)(rng);
    std::string damaged = s.bytes;
    damaged[at] ^= static_cast<char>(1 << (rng() % 8));
    // Everything before the damaged batch must survive.
    const uint64_t batch_start = *std::prev(std::upper_bound(s.boundaries.begin(), s.boundaries.end(), at));
    CheckRecovery(s, damaged, batch_start);
    if (HasFatalFailure()) return;
  }
  if (Soak()) std::printf("SOAK bit flips: %d seeded positions, each batch with a flip cut, no crash\n", flips);
}

}  // namespace
}  // namespace sp
