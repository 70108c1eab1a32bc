// The agent binary against a real mosquitto: readings arrive at QoS 1 with a growing count. And
// its --config-reference, which docs/agent-configuration.md must be.
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>

#include "common/testing.h"
#include "support/http.h"
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

// docs/agent-configuration.md is what `sensorpipe-agent --config-reference` prints from the agent's
// table of settings, so a key added or changed there without the page fails here.
TEST(AgentPublish, ConfigurationReferenceIsCurrent) {
  ASSERT_OK_AND_ASSIGN(CommandOutput out,
                       RunCommand({BinDir() + "/sensorpipe-agent", "--config-reference"}, kDeadline));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  std::ifstream in(SourceDir() + "/docs/agent-configuration.md");
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(page == out.out) << "docs/agent-configuration.md is not what the binary prints; write it again with\n"
                               << "  build/bin/sensorpipe-agent --config-reference > docs/agent-configuration.md";
}

// /metrics, /healthz and /readyz of a running agent, as a Prometheus scrape would see them.
TEST(AgentPublish, ExposesHealthAndMetrics) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto broker, Mosquitto::Start(dir.Sub("broker")));
  const int port = FreePort();
  ASSERT_OK_AND_ASSIGN(auto agent, Process::Start({BinDir() + "/sensorpipe-agent", "--simulate", "--url", broker->url(),
                                                   "--device", "pi-metrics", "--interval", "0.1", "--spool",
                                                   dir.Sub("spool"), "--metrics-listen",
                                                   "127.0.0.1:" + std::to_string(port)},
                                                  dir.Sub("agent.log")));
  auto metric = [&](const std::string& name) -> double {
    auto res = HttpGet(port, "/metrics");
    if (!res.ok() || res->status != 200) return -1;
    const size_t at = res->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(res->body.substr(at + name.size() + 2));
  };
  ASSERT_TRUE(WaitUntil([&] { return metric("sensorpipe_agent_acknowledged_total") >= 3; }, std::chrono::seconds(60)))
      << agent->Log();
  EXPECT_GE(metric("sensorpipe_agent_readings_total"), 3);
  EXPECT_EQ(metric("sensorpipe_agent_mqtt_connected"), 1);
  EXPECT_EQ(metric("sensorpipe_agent_spool_overflowed_total"), 0);
  // spool_sync at its default, interval:10000: the first reading is synced at once, then one per 10 s.
  EXPECT_GE(metric("sensorpipe_agent_spool_syncs_total"), 1);
  EXPECT_GE(metric("sensorpipe_agent_spool_pending"), 0);
  EXPECT_EQ(HttpGet(port, "/healthz")->status, 200);
  EXPECT_EQ(HttpGet(port, "/readyz")->status, 200);
  EXPECT_EQ(HttpGet(port, "/nope")->status, 404);
  // Without its broker the agent is alive but not ready.
  ASSERT_OK(broker->Stop());
  EXPECT_TRUE(WaitUntil([&] { return HttpGet(port, "/readyz")->status == 503; }, std::chrono::seconds(60)));
  EXPECT_EQ(HttpGet(port, "/healthz")->status, 200);
  EXPECT_TRUE(WaitUntil([&] { return metric("sensorpipe_agent_spool_pending") >= 2; }, std::chrono::seconds(60)));
  ASSERT_OK(agent->Signal(SIGTERM));
  ASSERT_OK_AND_ASSIGN(int code, agent->Wait(std::chrono::seconds(60)));
  EXPECT_EQ(code, 3) << agent->Log();  // readings taken while the broker was gone stay spooled
  EXPECT_NE(agent->Log().find("stay in the spool and are sent at the next start"), std::string::npos) << agent->Log();
}

// A broker that refuses the topic (MQTT 5 PUBACK reason 0x87, not authorized): the readings leave
// the spool, since sending them again cannot help, but counted and logged, never silently.
TEST(AgentPublish, ReadingsTheBrokerRefusesAreCounted) {
  TempDir dir;
  {
    std::ofstream acl(dir.Sub("acl"));
    acl << "topic read #\n";  // anonymous clients may read, not write
  }
  // mosquitto 2.0.11 with max_queued_messages 0 (unlimited, as the test broker has it) drops the
  // connection right after refusing a QoS 1 publish ("Bad socket read/write"); any limit avoids it.
  ASSERT_OK_AND_ASSIGN(auto broker, Mosquitto::Start(dir.Sub("broker"), "acl_file " + dir.Sub("acl") +
                                                                            "\nmax_queued_messages 1000000\n"));
  const int port = FreePort();
  ASSERT_OK_AND_ASSIGN(CommandOutput agent,
                       RunCommand({BinDir() + "/sensorpipe-agent", "--simulate", "--url", broker->url(), "--device",
                                   "pi-denied", "--interval", "0.1", "--count", "3", "--spool", dir.Sub("spool"),
                                   "--metrics-listen", "127.0.0.1:" + std::to_string(port)},
                                  std::chrono::seconds(60)));
  EXPECT_EQ(agent.exit_code, 0) << agent.err << broker->Log();  // nothing left in the spool
  EXPECT_EQ(agent.err.find("connection lost"), std::string::npos) << agent.err << broker->Log();
  EXPECT_NE(agent.err.find("the broker refused reading 0 on sensor/pi-denied/data: reason 0x87"), std::string::npos)
      << agent.err;
  EXPECT_NE(agent.err.find("3 acknowledged (3 of them refused by the broker)"), std::string::npos) << agent.err;
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
  // A device id the pipeline would refuse stops the agent before it takes a reading.
  ASSERT_OK_AND_ASSIGN(CommandOutput bad_id, RunCommand({BinDir() + "/sensorpipe-agent", "--simulate", "--once",
                                                         "--device", "pi/kitchen"},
                                                        std::chrono::seconds(30)));
  EXPECT_EQ(bad_id.exit_code, 1);
  EXPECT_NE(bad_id.err.find("device id 'pi/kitchen' must be 1-128 characters"), std::string::npos) << bad_id.err;
  EXPECT_EQ(once.out.rfind("{\"client_id\":\"d1\",\"timestamp\":\"", 0), 0u) << once.out;
}

}  // namespace
}  // namespace sp::testing
