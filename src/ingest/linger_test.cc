#include "ingest/linger.h"

#include <gtest/gtest.h>

namespace sp {
namespace {

using std::chrono::microseconds;

TEST(LingerPolicyTest, OneLargePollIsCommittedAtOnce) {
  LingerPolicy p;
  EXPECT_EQ(p.OnPoll(10), microseconds(0));
  EXPECT_EQ(p.OnPoll(500), microseconds(0));  // after one slow fdatasync, say
  EXPECT_EQ(p.OnPoll(10), microseconds(0));
  EXPECT_EQ(p.OnPoll(47), microseconds(0));
  EXPECT_EQ(p.OnPoll(48), microseconds(0));
  EXPECT_EQ(p.OnPoll(48), microseconds(500));  // two busy polls in a row
}

// Feeds waits at `per_second` until the wait is no longer `from`; returns how many it took.
int WaitsAt(LingerPolicy& p, microseconds from, int per_second) {
  int n = 0;
  while (p.OnPoll(60) == from && n < 1000) {
    p.OnLingered(static_cast<size_t>(per_second * from.count() / 1'000'000), from.count());
    ++n;
  }
  return n;
}

TEST(LingerPolicyTest, SustainedLoadDoublesTheWaitUpToTheMaximum) {
  LingerPolicy p;
  p.OnPoll(60);
  ASSERT_EQ(p.OnPoll(60), microseconds(500));
  // Each step waits until the rate has held for twice the longer wait (2 ms before 1 ms, ...).
  EXPECT_EQ(WaitsAt(p, microseconds(500), 100'000), 4);
  EXPECT_EQ(WaitsAt(p, microseconds(1000), 100'000), 4);
  EXPECT_EQ(WaitsAt(p, microseconds(2000), 100'000), 4);
  EXPECT_EQ(WaitsAt(p, microseconds(4000), 100'000), 3);
  EXPECT_EQ(p.OnPoll(20), microseconds(5000));  // the maximum; a small poll between waits does not stop it
  p.OnLingered(480, 5000);                      // exactly 96,000 a second still counts
  EXPECT_EQ(p.OnPoll(60), microseconds(5000));
  // A lull steps down one wait at a time, and the climb starts again from there.
  p.OnLingered(479, 5000);
  EXPECT_EQ(p.OnPoll(60), microseconds(2500));
  EXPECT_EQ(WaitsAt(p, microseconds(2500), 100'000), 4);
  EXPECT_EQ(p.OnPoll(60), microseconds(5000));
  for (microseconds w : {microseconds(2500), microseconds(1250), microseconds(625), microseconds(0)}) {
    p.OnLingered(0, p.OnPoll(60).count());
    EXPECT_EQ(p.OnPoll(60), w);
  }
  EXPECT_EQ(p.OnPoll(60), microseconds(500));  // stopped: two busy polls start it again
}

TEST(LingerPolicyTest, ABacklogDrainedAfterAStallDoesNotReachTheLongWaits) {
  LingerPolicy p;
  p.OnPoll(500);
  ASSERT_EQ(p.OnPoll(500), microseconds(500));
  microseconds longest{};
  for (int64_t waited = 0; waited < 8000;) {  // 8 ms of waits at the broker's full rate
    const microseconds w = p.OnPoll(100);
    longest = std::max(longest, w);
    p.OnLingered(static_cast<size_t>(150 * w.count() / 1000), w.count());
    waited += w.count();
  }
  EXPECT_LE(longest, microseconds(2000));
  int waits = 0;  // drained: 50,000 a second again
  while (p.OnPoll(40).count() > 0 && waits < 10) {
    p.OnLingered(static_cast<size_t>(50 * p.OnPoll(40).count() / 1000), p.OnPoll(40).count());
    ++waits;
  }
  EXPECT_LE(waits, 3);
}

TEST(LingerPolicyTest, AModerateRateStopsWaitingAfterOneShortWait) {
  LingerPolicy p;
  p.OnPoll(50);
  ASSERT_EQ(p.OnPoll(50), microseconds(500));
  p.OnLingered(25, 500);  // 50,000 a second: the broker's lump is gone
  EXPECT_EQ(p.OnPoll(50), microseconds(0));
  EXPECT_EQ(p.OnPoll(50), microseconds(500));  // busy again twice: one short wait
  p.OnLingered(20, 500);
  EXPECT_EQ(p.OnPoll(12), microseconds(0));
}

TEST(LingerPolicyTest, JudgesTheRateByTheTimeActuallyWaited) {
  LingerPolicy p;
  p.OnPoll(50);
  ASSERT_EQ(p.OnPoll(50), microseconds(500));
  p.OnLingered(100, 3000);  // overslept: 33,000 a second
  EXPECT_EQ(p.OnPoll(50), microseconds(0));
}

TEST(LingerPolicyTest, AnEmptyPollEndsIt) {
  LingerPolicy p;
  p.OnPoll(60);
  p.OnPoll(60);
  p.OnLingered(500, 500);
  EXPECT_EQ(p.OnPoll(0), microseconds(0));
  EXPECT_EQ(p.OnPoll(60), microseconds(0));
  EXPECT_EQ(p.OnPoll(60), microseconds(500));
}

TEST(LingerPolicyTest, OptionsAreUsed) {
  LingerPolicy p({.min_messages = 4, .first = microseconds(100), .max = microseconds(300)});
  p.OnPoll(4);
  ASSERT_EQ(p.OnPoll(4), microseconds(100));
  EXPECT_EQ(WaitsAt(p, microseconds(100), 40'000), 4);
  EXPECT_EQ(WaitsAt(p, microseconds(200), 40'000), 3);  // 600 µs of waits before the 300 µs cap
  EXPECT_EQ(p.OnPoll(4), microseconds(300));
  p.OnLingered(11, 300);  // below 4 per 100 µs
  EXPECT_EQ(p.OnPoll(4), microseconds(150));
  p.OnLingered(5, 150);
  EXPECT_EQ(p.OnPoll(4), microseconds(0));
}

}  // namespace
}  // namespace sp
