// kill -9 of the daemon at random moments while a device publishes QoS 1 messages at a steady
// rate: afterwards the log holds every message the broker accepted from the device, none missing,
// in order. (A message whose PUBACK the kill cut off is delivered again by the broker, so the log
// may hold it twice, and the readings view counts it once.) And a
// daemon stopped for 10 s while the device publishes misses nothing either.
// SOAK=1 runs the ingest issue's 50 kills.
#include <gtest/gtest.h>
#include <signal.h>

#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/testing.h"
#include "support/pipeline.h"
#include "support/process.h"

namespace sp::testing {
namespace {

// A daemon and a simulated device publishing 100 QoS 1 messages a second to a real broker.
class IngestOutage : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(pipeline_, Pipeline::Start(dir_.path(), "[mqtt]\nclient_id = \"sp-kill\"\n"));
    ASSERT_OK_AND_ASSIGN(agent_,
                         Process::Start({BinDir() + "/sensorpipe-agent", "--simulate", "--url", pipeline_.broker->url(),
                                         "--device", "pi-kill", "--interval", "0.01", "--spool", dir_.Sub("spool")},
                                        dir_.Sub("agent.log")));
  }

  // Stops the device, which reports what the broker acknowledged; waits for the daemon to drain
  // its session; then checks that the log holds exactly the counts 0 .. acknowledged-1, each first
  // appearing after the one before it. Returns the number of records (with redeliveries).
  void ExpectEveryAcknowledgedMessageInOrder(int64_t* acknowledged, size_t* records) {
    ASSERT_OK(agent_->Signal(SIGTERM));
    ASSERT_OK_AND_ASSIGN(int agent_code, agent_->Wait(kDeadline));
    std::smatch m;
    const std::string agent_log = agent_->Log();
    ASSERT_TRUE(std::regex_search(agent_log, m, std::regex(R"(stopped: (\d+) taken, (\d+) acknowledged)")))
        << agent_log;
    *acknowledged = std::stoll(m[2]);
    ASSERT_EQ(agent_code, 0) << "the device could not deliver everything: " << agent_log;
    ASSERT_GT(*acknowledged, 0);
    std::vector<int64_t> seqs;
    ASSERT_TRUE(WaitUntil(
        [&] {
          seqs = LogSeqs();
          return std::set<int64_t>(seqs.begin(), seqs.end()).size() >= static_cast<size_t>(*acknowledged);
        },
        kDeadline))
        << "distinct in the log: " << std::set<int64_t>(seqs.begin(), seqs.end()).size() << " of " << *acknowledged;
    std::set<int64_t> seen;
    int64_t next_new = 0;
    for (int64_t s : seqs) {
      if (seen.insert(s).second) {
        ASSERT_EQ(s, next_new) << "out of order or missing";
        ++next_new;
      }
    }
    EXPECT_EQ(next_new, *acknowledged);
    *records = seqs.size();
    ASSERT_OK_AND_ASSIGN(int code, pipeline_.daemon->Stop());
    EXPECT_EQ(code, 0);
    // The query layer counts each message once, redeliveries or not.
    ASSERT_OK_AND_ASSIGN(std::string answer,
                         pipeline_.daemon->Query(
                             "SELECT count(*) AS n, count(DISTINCT seq) AS d FROM readings WHERE device = 'pi-kill'"));
    EXPECT_EQ(answer, "n,d\n" + std::to_string(*acknowledged) + "," + std::to_string(*acknowledged) + "\n");
  }

  // The device's counts in the order the log holds them.
  std::vector<int64_t> LogSeqs() {
    auto out =
        RunCommand({BinDir() + "/sensorpipe", "log", "tail", "--config", pipeline_.daemon->config_path()}, kDeadline);
    std::vector<int64_t> seqs;
    if (!out.ok()) return seqs;
    std::istringstream lines(out->out);
    std::string line;
    const std::regex seq(R"re("device":"pi-kill".*"seq":(\d+))re");
    while (std::getline(lines, line)) {
      std::smatch s;
      if (std::regex_search(line, s, seq)) seqs.push_back(std::stoll(s[1]));
    }
    return seqs;
  }

  TempDir dir_;
  Pipeline pipeline_;
  std::unique_ptr<Process> agent_;
};

TEST_F(IngestOutage, TheLogHoldsEveryAcceptedMessageThroughKill9) {
  const bool soak = std::getenv("SOAK") && std::string(std::getenv("SOAK")) == "1";
  const int kills = soak ? 50 : 3;
  std::mt19937 rng(4);
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 700)(rng)));
    ASSERT_OK(pipeline_.daemon->process().Signal(SIGKILL));
    ASSERT_OK(pipeline_.daemon->process().Wait(kDeadline).status());
    Status restarted = pipeline_.daemon->Restart();
    ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  }
  int64_t acknowledged = 0;
  size_t records = 0;
  ExpectEveryAcknowledgedMessageInOrder(&acknowledged, &records);
  if (soak) {
    std::printf(
        "SOAK ingest kill -9: %d kills, %lld messages acknowledged by the broker, all in the log in order "
        "(%zu records with redeliveries), readings counting each once\n",
        kills, static_cast<long long>(acknowledged), records);
  }
}

// The daemon is stopped for 10 s while the device keeps publishing: the broker keeps the
// persistent session's messages, and the daemon takes them all when it is back.
TEST_F(IngestOutage, StoppedForTenSecondsWhilePublishingContinues) {
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_OK_AND_ASSIGN(int code, pipeline_.daemon->Stop());
  ASSERT_EQ(code, 0);
  std::this_thread::sleep_for(std::chrono::seconds(10));
  ASSERT_OK(pipeline_.daemon->Restart());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int64_t acknowledged = 0;
  size_t records = 0;
  ExpectEveryAcknowledgedMessageInOrder(&acknowledged, &records);
  EXPECT_GT(acknowledged, 500);                           // about 1,100 at 100 a second
  EXPECT_EQ(records, static_cast<size_t>(acknowledged));  // a clean stop leaves nothing unacknowledged
}

}  // namespace
}  // namespace sp::testing
