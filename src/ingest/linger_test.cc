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
  EXPECT_EQ(p.OnPoll(31), microseconds(0));
  EXPECT_EQ(p.OnPoll(32), microseconds(0));
  EXPECT_EQ(p.OnPoll(32), microseconds(500));  // two busy polls in a row
}

TEST(LingerPolicyTest, SustainedLoadDoublesTheWaitUpToTheMaximum) {
  LingerPolicy p;
  p.OnPoll(60);
  ASSERT_EQ(p.OnPoll(60), microseconds(500));
  p.OnLingered(50, 500);  // 100,000 a second
  EXPECT_EQ(p.OnPoll(60), microseconds(1000));
  p.OnLingered(100, 1000);
  EXPECT_EQ(p.OnPoll(20), microseconds(2000));  // a small poll between waits does not stop it
  p.OnLingered(200, 2000);
  EXPECT_EQ(p.OnPoll(60), microseconds(4000));
  p.OnLingered(400, 4000);
  EXPECT_EQ(p.OnPoll(60), microseconds(5000));
  p.OnLingered(320, 5000);  // exactly 64,000 a second still counts
  EXPECT_EQ(p.OnPoll(60), microseconds(5000));
  p.OnLingered(319, 5000);
  EXPECT_EQ(p.OnPoll(60), microseconds(0));
}

TEST(LingerPolicyTest, AModerateRateStopsWaitingAfterOneShortWait) {
  LingerPolicy p;
  p.OnPoll(40);
  ASSERT_EQ(p.OnPoll(40), microseconds(500));
  p.OnLingered(25, 500);  // 50,000 a second: the broker's lump is gone
  EXPECT_EQ(p.OnPoll(40), microseconds(0));
  EXPECT_EQ(p.OnPoll(40), microseconds(500));  // busy again twice: one short wait
  p.OnLingered(20, 500);
  EXPECT_EQ(p.OnPoll(12), microseconds(0));
}

TEST(LingerPolicyTest, JudgesTheRateByTheTimeActuallyWaited) {
  LingerPolicy p;
  p.OnPoll(40);
  ASSERT_EQ(p.OnPoll(40), microseconds(500));
  p.OnLingered(100, 3000);  // overslept: 33,000 a second
  EXPECT_EQ(p.OnPoll(40), microseconds(0));
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
  p.OnLingered(4, 100);
  EXPECT_EQ(p.OnPoll(4), microseconds(200));
  p.OnLingered(8, 200);
  EXPECT_EQ(p.OnPoll(4), microseconds(300));
}

}  // namespace
}  // namespace sp
