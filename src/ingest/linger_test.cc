#include "ingest/linger.h"

#include <gtest/gtest.h>

namespace sp {
namespace {

using std::chrono::microseconds;

// Polls are judged by their rate (messages over the time since the previous poll), not their size.
TEST(LingerPolicyTest, TwoFastPollsInARowStartTheShortestWait) {
  LingerPolicy p;
  EXPECT_EQ(p.OnPoll(10, 2000), microseconds(0));  // 5,000 a second
  EXPECT_EQ(p.OnPoll(500, 300), microseconds(0));  // one fast poll: after one slow fdatasync, say
  EXPECT_EQ(p.OnPoll(10, 2000), microseconds(0));
  EXPECT_EQ(p.OnPoll(100, 20000), microseconds(0));  // large, but 5,000 a second
  EXPECT_EQ(p.OnPoll(100, 20000), microseconds(0));
  EXPECT_EQ(p.OnPoll(7, 500), microseconds(0));  // 14,000 a second
  EXPECT_EQ(p.OnPoll(8, 500), microseconds(0));  // 16,000: the first fast poll
  EXPECT_EQ(p.OnPoll(8, 500), microseconds(500));
}

// Feeds waits at `per_second` until the wait is no longer `from`; returns how many it took.
int WaitsAt(LingerPolicy& p, microseconds from, int per_second) {
  int n = 0;
  while (p.OnPoll(60, 300) == from && n < 1000) {
    p.OnLingered(static_cast<size_t>(per_second * from.count() / 1'000'000), from.count());
    ++n;
  }
  return n;
}

TEST(LingerPolicyTest, SustainedFastLoadDoublesTheWaitUpToTheMaximum) {
  LingerPolicy p;
  p.OnPoll(60, 300);
  ASSERT_EQ(p.OnPoll(60, 300), microseconds(500));
  // Each step waits until the rate has held for twice the longer wait (2 ms before 1 ms, ...).
  EXPECT_EQ(WaitsAt(p, microseconds(500), 100'000), 4);
  EXPECT_EQ(WaitsAt(p, microseconds(1000), 100'000), 4);
  EXPECT_EQ(WaitsAt(p, microseconds(2000), 100'000), 4);
  EXPECT_EQ(WaitsAt(p, microseconds(4000), 100'000), 3);
  EXPECT_EQ(p.OnPoll(2, 300), microseconds(5000));  // the maximum; a slow poll between waits does not stop it
  p.OnLingered(480, 5000);                          // exactly 96,000 a second still counts
  EXPECT_EQ(p.OnPoll(60, 300), microseconds(5000));
  // A lull steps down one wait at a time, and the climb starts again from there.
  p.OnLingered(479, 5000);
  EXPECT_EQ(p.OnPoll(60, 300), microseconds(2500));
  EXPECT_EQ(WaitsAt(p, microseconds(2500), 100'000), 4);
  EXPECT_EQ(p.OnPoll(60, 300), microseconds(5000));
  for (microseconds w : {microseconds(2500), microseconds(1250), microseconds(625), microseconds(0)}) {
    p.OnLingered(0, p.OnPoll(60, 300).count());
    EXPECT_EQ(p.OnPoll(60, 300), w);
  }
  EXPECT_EQ(p.OnPoll(60, 300), microseconds(500));  // stopped: two fast polls start it again
}

TEST(LingerPolicyTest, AModerateRateKeepsTheShortestWait) {
  LingerPolicy p;
  p.OnPoll(15, 300);
  ASSERT_EQ(p.OnPoll(15, 300), microseconds(500));  // 50,000 a second
  for (int i = 0; i < 100; ++i) {
    p.OnLingered(25, 500);  // for as long as it lasts: never longer
    ASSERT_EQ(p.OnPoll(15, 300), microseconds(500));
  }
  p.OnLingered(7, 500);  // 14,000 a second: no longer worth a wait
  EXPECT_EQ(p.OnPoll(15, 300), microseconds(0));
  EXPECT_EQ(p.OnPoll(15, 300), microseconds(500));  // fast again twice
}

TEST(LingerPolicyTest, ABacklogDrainedAfterAStallDoesNotReachTheLongWaits) {
  LingerPolicy p;
  p.OnPoll(500, 3000);
  ASSERT_EQ(p.OnPoll(500, 3000), microseconds(500));
  microseconds longest{};
  for (int64_t waited = 0; waited < 8000;) {  // 8 ms of waits at the broker's full rate
    const microseconds w = p.OnPoll(100, 300);
    longest = std::max(longest, w);
    p.OnLingered(static_cast<size_t>(150 * w.count() / 1000), w.count());
    waited += w.count();
  }
  EXPECT_LE(longest, microseconds(2000));
  int waits = 0;  // drained: 50,000 a second again, back to the shortest wait
  while (p.OnPoll(15, 300) > microseconds(500) && waits < 10) {
    p.OnLingered(static_cast<size_t>(50 * p.OnPoll(15, 300).count() / 1000), p.OnPoll(15, 300).count());
    ++waits;
  }
  EXPECT_LE(waits, 2);
  EXPECT_EQ(p.OnPoll(15, 300), microseconds(500));
}

TEST(LingerPolicyTest, JudgesTheRateByTheTimeActuallyWaited) {
  LingerPolicy p;
  p.OnPoll(60, 300);
  ASSERT_EQ(p.OnPoll(60, 300), microseconds(500));
  for (int i = 0; i < 10; ++i) p.OnLingered(60, 1000);  // overslept: 60,000 a second, not 120,000
  EXPECT_EQ(p.OnPoll(60, 300), microseconds(500));
  p.OnLingered(40, 3000);  // 13,000 a second
  EXPECT_EQ(p.OnPoll(60, 300), microseconds(0));
}

TEST(LingerPolicyTest, AnEmptyPollEndsIt) {
  LingerPolicy p;
  p.OnPoll(60, 300);
  p.OnPoll(60, 300);
  p.OnLingered(500, 500);
  EXPECT_EQ(p.OnPoll(0, 500'000), microseconds(0));
  EXPECT_EQ(p.OnPoll(60, 300), microseconds(0));
  EXPECT_EQ(p.OnPoll(60, 300), microseconds(500));
}

TEST(LingerPolicyTest, OptionsAreUsed) {
  LingerPolicy p({.min_messages = 2, .climb_messages = 4, .first = microseconds(100), .max = microseconds(300)});
  p.OnPoll(2, 100);
  ASSERT_EQ(p.OnPoll(2, 100), microseconds(100));
  EXPECT_EQ(WaitsAt(p, microseconds(100), 40'000), 4);
  EXPECT_EQ(WaitsAt(p, microseconds(200), 40'000), 3);  // 600 µs of waits before the 300 µs cap
  EXPECT_EQ(p.OnPoll(2, 100), microseconds(300));
  p.OnLingered(11, 300);  // below 4 per 100 µs
  EXPECT_EQ(p.OnPoll(2, 100), microseconds(150));
  p.OnLingered(3, 150);  // 2 per 100 µs: the shortest wait
  EXPECT_EQ(p.OnPoll(2, 100), microseconds(100));
  p.OnLingered(1, 100);
  EXPECT_EQ(p.OnPoll(2, 100), microseconds(0));
}

}  // namespace
}  // namespace sp
