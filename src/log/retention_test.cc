// Retention by size and by age, and segments rolled by age: time comes from a test clock.
#include <gtest/gtest.h>

#include "common/testing.h"
#include "log/file_log.h"
#include "log/file_log_testing.h"

namespace sp {
namespace {

using std::chrono::milliseconds;

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

}  // namespace
}  // namespace sp
