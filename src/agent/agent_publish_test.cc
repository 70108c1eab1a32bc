// The agent binary against a real mosquitto: readings arrive at QoS 1 with a growing count.
#include <gtest/gtest.h>

#include "common/testing.h"
#include "support/mosquitto.h"
#include "support/process.h"

namespace sp::testing {
namespace {

TEST(AgentPublish, SimulatedReadingsReachTheBroker) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto broker, Mosquitto::Start(dir.Sub("broker")));
  // A persistent session subscribed first (mosquitto_sub -c, leaving after a second) queues
  // everything the agent publishes; reading it afterwards needs no timing between processes.
  const std::vector<std::string> sub_args = {"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(broker->port()),
                                             "-c", "-i", "test-sub", "-t", "sensor/#", "-q", "1"};
  auto args = sub_args;
  args.insert(args.end(), {"-W", "1"});
  ASSERT_OK(RunCommand(args, std::chrono::seconds(30)).status());
  ASSERT_OK_AND_ASSIGN(CommandOutput agent,
                       RunCommand({BinDir() + "/sensorpipe-agent", "--simulate", "--url", broker->url(), "--device",
                                   "pi-test", "--topic", "sensor/{device}/data", "--interval", "0.1", "--count", "3",
                                   "--spool", dir.Sub("spool")},
                                  std::chrono::seconds(60)));
  EXPECT_EQ(agent.exit_code, 0) << agent.err;
  args = sub_args;
  args.insert(args.end(), {"-C", "3", "-v"});
  ASSERT_OK_AND_ASSIGN(CommandOutput sub, RunCommand(args, std::chrono::seconds(60)));
  EXPECT_EQ(sub.exit_code, 0) << sub.err;
  const std::string& out = sub.out;
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(out.find("\"count\":" + std::to_string(i) + "}"), std::string::npos) << out;
  }
  EXPECT_NE(out.find("sensor/pi-test/data {\"client_id\":\"pi-test\",\"timestamp\":\""), std::string::npos) << out;
}

TEST(AgentPublish, UsageAndHonestRefusals) {
  ASSERT_OK_AND_ASSIGN(CommandOutput bad, RunCommand({BinDir() + "/sensorpipe-agent", "--interval", "x"}, std::chrono::seconds(30)));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("Usage:"), std::string::npos) << bad.err;
  ASSERT_OK_AND_ASSIGN(CommandOutput real, RunCommand({BinDir() + "/sensorpipe-agent"}, std::chrono::seconds(30)));
  EXPECT_EQ(real.exit_code, 1);
  EXPECT_NE(real.err.find("--simulate"), std::string::npos) << real.err;
  ASSERT_OK_AND_ASSIGN(CommandOutput once, RunCommand({BinDir() + "/sensorpipe-agent", "--simulate", "--once", "--device", "d1"},
                                                      std::chrono::seconds(30)));
  EXPECT_EQ(once.exit_code, 0) << once.err;
  EXPECT_EQ(once.out.rfind("{\"client_id\":\"d1\",\"timestamp\":\"", 0), 0u) << once.out;
}

}  // namespace
}  // namespace sp::testing
