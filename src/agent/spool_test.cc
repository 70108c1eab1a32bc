// The spool against real files, and against the fault-injecting Env for what only a power cut or a
// dying process can do: torn tails, lost unsynced bytes, a disk that stops taking writes.
#include "agent/spool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>

#include "agent/agent_config.h"
#include "common/fault_env.h"
#include "common/testing.h"

namespace sp {
namespace {

using testing::ManualClock;
using testing::TempDir;

std::string Payload(uint64_t seq) {
  return "{\"count\":" + std::to_string(seq) + ",\"pad\":\"" + std::string(40, 'x') + "\"}";
}

std::unique_ptr<Spool> OpenOk(Env* env, Clock* clock, const std::string& dir, SpoolOptions options = {}) {
  auto spool = Spool::Open(env, clock, dir, options);
  EXPECT_TRUE(spool.ok()) << spool.status().ToString();
  return spool.ok() ? std::move(*spool) : nullptr;
}

void AppendN(Spool* spool, int n) {
  for (int i = 0; i < n; ++i) ASSERT_OK(spool->Append(Payload(spool->next_seq())));
}

std::vector<std::string> Segments(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".spool") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SpoolSync, Parses) {
  EXPECT_EQ(SpoolSync::Parse("always")->mode, SpoolSync::Mode::kAlways);
  EXPECT_EQ(SpoolSync::Parse("none")->mode, SpoolSync::Mode::kNone);
  auto s = SpoolSync::Parse("interval:5000");
  ASSERT_OK(s.status());
  EXPECT_EQ(s->mode, SpoolSync::Mode::kInterval);
  EXPECT_EQ(s->interval_ms, 5000);
  for (const char* bad : {"interval:", "interval:0", "interval:5s", "batch", ""}) {
    EXPECT_FALSE(SpoolSync::Parse(bad).ok()) << bad;
  }
}

TEST(Spool, KeepsWhatIsNotAcknowledgedAcrossRestartsAndTheCountGrows) {
  TempDir dir;
  ManualClock clock;
  {
    auto spool = OpenOk(Env::Default(), &clock, dir.path());
    EXPECT_EQ(spool->next_seq(), 0u);
    AppendN(spool.get(), 10);
    std::string p;
    ASSERT_OK(spool->Read(3, &p));
    EXPECT_EQ(p, Payload(3));
    // PUBACKs out of order (live readings beside a backlog): the low mark moves only when the gap fills.
    ASSERT_OK(spool->Ack(1));
    ASSERT_OK(spool->Ack(0));
    ASSERT_OK(spool->Ack(5));
    EXPECT_EQ(spool->acked_below(), 2u);
    EXPECT_TRUE(spool->IsAcked(5));
    EXPECT_FALSE(spool->IsAcked(4));
    EXPECT_EQ(spool->pending(), 7u);
    EXPECT_EQ(spool->Read(0, &p).code(), Status::Code::kNotFound);
    // Another agent on the same spool is refused.
    auto second = Spool::Open(Env::Default(), &clock, dir.path(), {});
    EXPECT_EQ(second.status().code(), Status::Code::kUnavailable);
  }
  auto spool = OpenOk(Env::Default(), &clock, dir.path());
  EXPECT_EQ(spool->next_seq(), 10u);    // the count keeps growing
  EXPECT_EQ(spool->acked_below(), 2u);  // ACKED was written at the clean stop
  EXPECT_EQ(spool->pending(), 8u);      // 5's acknowledgement was in memory only: it is sent again
  std::string p;
  for (uint64_t s = 2; s < 10; ++s) {
    ASSERT_OK(spool->Read(s, &p));
    EXPECT_EQ(p, Payload(s));
  }
}

TEST(Spool, AcknowledgedSegmentsAreDeleted) {
  TempDir dir;
  ManualClock clock;
  auto spool = OpenOk(Env::Default(), &clock, dir.path(), {64 << 10, *SpoolSync::Parse("none")});  // 8 KiB segments
  AppendN(spool.get(), 600);
  const size_t before = Segments(dir.path()).size();
  EXPECT_GT(before, 4u);
  for (uint64_t s = 0; s < 600; ++s) ASSERT_OK(spool->Ack(s));
  EXPECT_EQ(spool->pending(), 0u);
  EXPECT_EQ(Segments(dir.path()).size(), 1u);  // the newest stays: it carries the sequence on
  EXPECT_LT(spool->stats().bytes, 8u << 10);
  spool.reset();
  spool = OpenOk(Env::Default(), &clock, dir.path(), {64 << 10, {}});
  EXPECT_EQ(spool->next_seq(), 600u);
  EXPECT_EQ(spool->pending(), 0u);
}

TEST(Spool, AFullSpoolDropsTheOldestAndCountsThem) {
  TempDir dir;
  ManualClock clock;
  auto spool = OpenOk(Env::Default(), &clock, dir.path(), {64 << 10, *SpoolSync::Parse("none")});
  AppendN(spool.get(), 3000);  // ~200 KiB of readings into 64 KiB
  const SpoolStats st = spool->stats();
  EXPECT_LE(st.bytes, 64u << 10);
  EXPECT_GT(st.overflowed, 1500u);
  EXPECT_EQ(spool->pending() + st.overflowed, 3000u);  // every reading is either kept or counted
  std::string p;
  EXPECT_EQ(spool->Read(0, &p).code(), Status::Code::kNotFound);
  ASSERT_OK(spool->Read(spool->acked_below(), &p));
  EXPECT_EQ(p, Payload(spool->acked_below()));
  ASSERT_OK(spool->Read(2999, &p));
  spool.reset();
  spool = OpenOk(Env::Default(), &clock, dir.path(), {64 << 10, {}});
  EXPECT_EQ(spool->stats().overflowed, st.overflowed);  // reported after a restart too
}

TEST(Spool, ATornTailIsCutAndEverythingBeforeItKept) {
  TempDir dir;
  ManualClock clock;
  {
    auto spool = OpenOk(Env::Default(), &clock, dir.path());
    AppendN(spool.get(), 20);
  }
  const std::string seg = Segments(dir.path()).back();
  // Half of the last reading, then garbage: a write the power cut tore.
  const auto size = std::filesystem::file_size(seg);
  std::filesystem::resize_file(seg, size - 30);
  {
    auto spool = OpenOk(Env::Default(), &clock, dir.path());
    EXPECT_EQ(spool->next_seq(), 19u);
    EXPECT_EQ(spool->pending(), 19u);
    std::string p;
    ASSERT_OK(spool->Read(18, &p));
    EXPECT_EQ(p, Payload(18));
    AppendN(spool.get(), 1);  // the sequence goes on from the last good reading
    ASSERT_OK(spool->Read(19, &p));
    EXPECT_EQ(p, Payload(19));
  }
  // A flipped byte in the middle: that reading and those after it in its segment are unreadable.
  {
    std::string bytes = *Env::Default()->ReadFile(seg);
    bytes[16 + 5 * (16 + Payload(0).size()) + 20] ^= 1;
    ASSERT_OK(Env::Default()->WriteFileAtomic(seg, bytes));
  }
  auto spool = OpenOk(Env::Default(), &clock, dir.path());
  std::string p;
  ASSERT_OK(spool->Read(4, &p));
  EXPECT_EQ(spool->Read(5, &p).code(), Status::Code::kNotFound);
  ASSERT_OK(spool->Read(19, &p));  // in the segment written after the restart
}

TEST(Spool, SyncAlwaysLosesNothingToAPowerCut) {
  TempDir dir;
  ManualClock clock;
  FaultInjectionEnv env(Env::Default());
  const SpoolOptions always{64 << 10, *SpoolSync::Parse("always")};
  {
    auto spool = OpenOk(&env, &clock, dir.path(), always);
    AppendN(spool.get(), 500);  // several segments
    ASSERT_OK(spool->Ack(0));
    EXPECT_EQ(spool->stats().syncs, 500u);
    env.SetCrashAfter(0);  // the power goes: nothing more reaches the disk
  }
  ASSERT_OK(env.DropUnsyncedData());
  auto spool = OpenOk(&env, &clock, dir.path(), always);
  EXPECT_EQ(spool->next_seq(), 500u);
  EXPECT_EQ(spool->acked_below(), 0u);  // the acknowledgement was not recorded: sent again, harmless
  std::string p;
  for (uint64_t s = 0; s < 500; ++s) {
    ASSERT_OK(spool->Read(s, &p));
    ASSERT_EQ(p, Payload(s));
  }
}

TEST(Spool, SyncIntervalLosesAtMostTheLastInterval) {
  TempDir dir;
  ManualClock clock;
  FaultInjectionEnv env(Env::Default());
  const SpoolOptions options{1 << 20, *SpoolSync::Parse("interval:10000")};
  {
    auto spool = OpenOk(&env, &clock, dir.path(), options);
    for (int i = 0; i < 60; ++i) {  // one reading a second for a minute
      ASSERT_OK(spool->Append(Payload(spool->next_seq())));
      clock.now += 1'000'000;
    }
    ASSERT_OK(spool->Tick());
    EXPECT_LE(spool->stats().syncs, 7u);  // one per 10 s, not one per reading
    for (int i = 0; i < 5; ++i) ASSERT_OK(spool->Append(Payload(spool->next_seq())));  // not yet synced
    env.SetCrashAfter(0);
  }
  ASSERT_OK(env.DropUnsyncedData());
  auto spool = OpenOk(&env, &clock, dir.path(), options);
  EXPECT_EQ(spool->next_seq(), 60u);  // the 5 unsynced readings are gone, nothing before them
  std::string p;
  for (uint64_t s = 0; s < 60; ++s) ASSERT_OK(spool->Read(s, &p));
}

// The agent's default policy (a config without spool_sync) through a power cut during an outage, at
// random moments: one reading a second, the sender's pump ticking every 50 ms, the broker
// acknowledging the first readings and then gone. Every reading synced before the cut survives,
// and so does every one taken more than the interval before it; what the cut takes was taken
// within the interval, or acknowledged (the broker has it), and nothing unacknowledged is taken
// for acknowledged. The disk sees one sync per interval (and one per new segment), not one per
// reading. SOAK=1 cuts 200 times, otherwise 20.
TEST(Spool, TheDefaultPolicyLosesAtMostItsIntervalToAPowerCutDuringAnOutage) {
  ASSERT_OK_AND_ASSIGN(const AgentConfig config, ParseAgentConfig("[agent]\ndevice = \"pi\"\n", "agent.toml"));
  const SpoolSync policy = config.spool_sync;
  ASSERT_EQ(policy.mode, SpoolSync::Mode::kInterval);
  const int64_t interval_us = policy.interval_ms * 1000;
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  const int cuts = std::getenv("SOAK") ? 200 : 20;
  uint64_t unacked_total = 0, lost_total = 0;
  int64_t lost_max_age_us = 0;
  for (int cut = 0; cut < cuts; ++cut) {
    SCOPED_TRACE("cut " + std::to_string(cut));
    TempDir dir;
    ManualClock clock;
    FaultInjectionEnv env(Env::Default());
    const SpoolOptions options{64 << 10, policy};  // 8 KiB segments: a new one every ~100 readings
    const uint64_t online = rng() % 30, taken = online + 1 + rng() % 300;
    const int last_ticks = static_cast<int>(rng() % 20);  // the cut comes within the last second
    std::vector<int64_t> taken_at;
    uint64_t synced_below = 0;  // every reading below it was appended before a sync
    int64_t cut_at = 0;
    {
      auto spool = OpenOk(&env, &clock, dir.path(), options);
      uint64_t syncs = 0;
      // A sync seen after an append may have come before its reading (the full segment's, when a
      // new one starts), one seen after a tick came after every reading appended so far.
      auto note_syncs = [&](uint64_t below) {
        if (spool->stats().syncs > syncs) synced_below = below;
        syncs = spool->stats().syncs;
      };
      for (uint64_t seq = 0; seq < taken; ++seq) {
        taken_at.push_back(clock.now);
        ASSERT_OK(spool->Append(Payload(seq)));
        note_syncs(seq);
        if (seq < online) ASSERT_OK(spool->Ack(seq));
        for (int tick = 0; tick < (seq + 1 < taken ? 20 : last_ticks); ++tick) {
          clock.now += 50'000;
          ASSERT_OK(spool->Tick());
          note_syncs(seq + 1);
        }
      }
      cut_at = clock.now;
      const uint64_t new_segments = Segments(dir.path()).size() - 1;  // none was deleted: all hold unacknowledged ones
      EXPECT_LE(syncs, static_cast<uint64_t>((cut_at - taken_at[0]) / interval_us) + new_segments + 1)
          << "syncs not grouped: " << syncs << " for " << taken << " readings";
      env.SetCrashAfter(0);  // the power goes: nothing more reaches the disk
    }
    ASSERT_OK(env.DropUnsyncedData());
    auto spool = OpenOk(&env, &clock, dir.path(), options);
    EXPECT_LE(spool->acked_below(), online);
    EXPECT_GE(spool->next_seq(), synced_below);
    std::string p;
    for (uint64_t seq = online; seq < taken; ++seq) {
      ++unacked_total;
      const Status read = spool->Read(seq, &p);
      if (seq >= synced_below && cut_at - taken_at[seq] <= interval_us) {  // may be lost
        if (!read.ok()) {
          ++lost_total;
          lost_max_age_us = std::max(lost_max_age_us, cut_at - taken_at[seq]);
        }
        continue;
      }
      ASSERT_TRUE(read.ok()) << "reading " << seq << " of " << taken << ", taken " << (cut_at - taken_at[seq]) / 1000
                             << " ms before the cut; synced below " << synced_below << ": " << read.ToString();
      ASSERT_EQ(p, Payload(seq));
    }
  }
  std::printf(
      "SOAK spool power cut (default spool_sync = interval:%lld): %d cuts during an outage, %llu "
      "unacknowledged readings, %llu lost, the oldest of them taken %lld ms before its cut\n",
      static_cast<long long>(interval_us / 1000), cuts, static_cast<unsigned long long>(unacked_total),
      static_cast<unsigned long long>(lost_total), static_cast<long long>(lost_max_age_us / 1000));
}

TEST(Spool, AFailingDiskIsAnErrorNotACrash) {
  TempDir dir;
  ManualClock clock;
  FaultInjectionEnv env(Env::Default());
  auto spool = OpenOk(&env, &clock, dir.path());
  AppendN(spool.get(), 3);
  env.SetCrashAfter(0);
  EXPECT_FALSE(spool->Append(Payload(3)).ok());
  std::string p;
  ASSERT_OK(spool->Read(2, &p));  // what was written is still readable
  env.SetCrashAfter(-1);
}

}  // namespace
}  // namespace sp
