// kill -9 of the daemon at random moments while a device publishes QoS 1 messages at a steady
// rate: afterwards the log holds every message the broker accepted from the device, none missing,
// in order. (A message whose PUBACK the kill cut off is delivered again by the broker, so the log
// may hold it twice; the lake's compaction removes such duplicates by (device, seq, ts).)
// SOAK=1 runs the ingest issue's 50 kills.
#include <gtest/gtest.h>
#include <signal.h>

#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/mosquitto.h"
#include "support/process.h"

namespace sp::testing {
namespace {

constexpr auto kDeadline = std::chrono::seconds(120);

TEST(IngestKill, TheLogHoldsEveryAcceptedMessageThroughKill9) {
  const bool soak = std::getenv("SOAK") && std::string(std::getenv("SOAK")) == "1";
  const int kills = soak ? 50 : 3;
  std::mt19937 rng(4);
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto broker, Mosquitto::Start(dir.Sub("broker")));
  ASSERT_OK_AND_ASSIGN(auto daemon, Daemon::Start(dir.Sub("sp"), broker->url(), "[mqtt]\nclient_id = \"sp-kill\"\n"
                                                                                  "url = \"" + broker->url() + "\"\n"));
  ASSERT_TRUE(WaitUntil([&] { return daemon->Metric("sensorpipe_mqtt_connected") == 1; }, kDeadline));
  // The device publishes 100 messages a second at QoS 1 for the whole test.
  ASSERT_OK_AND_ASSIGN(auto agent, Process::Start({BinDir() + "/sensorpipe-agent", "--simulate", "--url", broker->url(),
                                                   "--device", "pi-kill", "--interval", "0.01"},
                                                  dir.Sub("agent.log")));
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 700)(rng)));
    ASSERT_OK(daemon->process().Signal(SIGKILL));
    ASSERT_OK(daemon->process().Wait(kDeadline).status());
    Status restarted = daemon->Restart();
    ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  }
  // The device stops and reports what the broker acknowledged; the daemon then drains its session.
  ASSERT_OK(agent->Signal(SIGTERM));
  ASSERT_OK_AND_ASSIGN(int agent_code, agent->Wait(kDeadline));
  std::smatch m;
  const std::string agent_log = agent->Log();
  ASSERT_TRUE(std::regex_search(agent_log, m, std::regex(R"(stopped: (\d+) published, (\d+) acknowledged)"))) << agent_log;
  const int64_t acknowledged = std::stoll(m[2]);
  ASSERT_EQ(agent_code, 0) << "the device could not deliver everything: " << agent_log;
  ASSERT_GT(acknowledged, 0);
  auto log_seqs = [&] {
    auto out = RunCommand({BinDir() + "/sensorpipe", "log", "tail", "--config", daemon->config_path()}, kDeadline);
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
  };
  std::vector<int64_t> seqs;
  ASSERT_TRUE(WaitUntil(
      [&] {
        seqs = log_seqs();
        return std::set<int64_t>(seqs.begin(), seqs.end()).size() >= static_cast<size_t>(acknowledged);
      },
      kDeadline))
      << "distinct in the log: " << std::set<int64_t>(seqs.begin(), seqs.end()).size() << " of " << acknowledged;
  // None missing: exactly the counts 0 .. acknowledged-1. In order: each count first appears
  // after the one before it.
  std::set<int64_t> seen;
  int64_t next_new = 0;
  for (int64_t s : seqs) {
    if (seen.insert(s).second) {
      ASSERT_EQ(s, next_new) << "out of order or missing";
      ++next_new;
    }
  }
  EXPECT_EQ(next_new, acknowledged);
  ASSERT_OK_AND_ASSIGN(int code, daemon->Stop());
  EXPECT_EQ(code, 0);
  if (soak) {
    std::printf("SOAK ingest kill -9: %d kills, %lld messages acknowledged by the broker, all %lld in the log in "
                "order (%zu records with redeliveries)\n",
                kills, static_cast<long long>(acknowledged), static_cast<long long>(next_new), seqs.size());
  }
}

}  // namespace
}  // namespace sp::testing
