// The Raspberry Pi's agent: the arm64 binary scripts/build-arm64.sh cross-builds, run under
// qemu-user (binfmt_misc is not mounted here, so qemu-aarch64 is called by name) with the
// simulator, prints the seed's message and publishes over MQTT to a real mosquitto.
//
// qemu's library root is / (the :arm64 packages' multiarch folders, as on a Pi), not the cross
// toolchain's /usr/aarch64-linux-gnu: under that prefix the loader is the toolchain's
// (libc6-arm64-cross 2.36-8) but libc.so.6 is found in /lib/aarch64-linux-gnu (libc6:arm64
// 2.36-9+deb12u14, pulled in by the :arm64 -dev packages), and the mismatched pair spins forever
// in the first pthread_create.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "common/testing.h"
#include "support/mosquitto.h"
#include "support/process.h"

namespace sp::testing {
namespace {

// One reading in the seed's field names and order, with an ISO 8601 timestamp with offset.
// (Raw strings with a delimiter: the pattern holds ')"'.)
const char kNumber[] = R"(-?\d+(\.\d+)?)";
const std::regex kReading(
    std::string(R"x(\{"client_id":"pi-arm64","timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)")x") +
    R"x(,"humidity":)x" + kNumber + R"x(,"temperature":)x" + kNumber + R"x(,"pressure":)x" + kNumber +
    R"x(,"pitch":)x" + kNumber + R"x(,"roll":)x" + kNumber + R"x(,"yaw":)x" + kNumber + R"x(,"count":(\d+)\})x");

class AgentArm64 : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* source = std::getenv("SP_SOURCE_DIR");
    agent_ = std::string(source ? source : ".") + "/build-arm64/bin/sensorpipe-agent";
    if (!std::filesystem::exists(agent_) && !std::getenv("SP_REQUIRE_ARM64")) {
      GTEST_SKIP() << "no arm64 build at " << agent_ << ": run scripts/build-arm64.sh (scripts/test.sh does, "
                   << "and sets SP_REQUIRE_ARM64=1 so this fails there instead of skipping)";
    }
    // Its ELF header names the machine: a host binary in the arm64 folder would prove nothing.
    const std::string header = ReadFile(agent_).substr(0, 20);
    ASSERT_EQ(header.size(), 20u) << "cannot read " << agent_ << " (SP_REQUIRE_ARM64 is set)";
    ASSERT_EQ(header.rfind("\177ELF", 0), 0u) << agent_ << " is not an ELF file";
    EXPECT_EQ(static_cast<uint8_t>(header[18]) | static_cast<uint8_t>(header[19]) << 8, 183) << "not EM_AARCH64";
  }

  //! The agent under qemu-aarch64 with args, to completion. Its config file (absent: the defaults)
  //! is in dir_, so its spool and its persistent count are too, not in the test's working folder.
  Result<CommandOutput> RunAgent(std::vector<std::string> args) {
    args.insert(args.begin(), {"qemu-aarch64", "-L", "/", agent_, "--config", dir_.Sub("agent.toml")});
    return RunCommand(args, std::chrono::seconds(60));
  }

  TempDir dir_;
  std::string agent_;
};

TEST_F(AgentArm64, OncePrintsOneReading) {
  ASSERT_OK_AND_ASSIGN(CommandOutput once, RunAgent({"--simulate", "--once", "--device", "pi-arm64"}));
  ASSERT_EQ(once.exit_code, 0) << once.err;
  const std::vector<std::string> lines = Lines(once.out);
  ASSERT_EQ(lines.size(), 1u) << once.out;
  EXPECT_TRUE(std::regex_match(lines[0], kReading)) << lines[0];
}

TEST_F(AgentArm64, PublishesToARealBroker) {
  ASSERT_OK_AND_ASSIGN(auto broker, Mosquitto::Start(dir_.Sub("broker")));
  // A persistent session subscribed first (mosquitto_sub -c, leaving after a second) queues
  // everything the agent publishes, so reading it afterwards needs no timing between processes.
  const std::vector<std::string> sub = {
      "mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(broker->port()), "-c", "-i", "arm64-sub", "-t",
      "sensor/#",      "-q", "1",         "-v"};
  auto args = sub;
  args.insert(args.end(), {"-W", "1"});
  ASSERT_OK(RunCommand(args, std::chrono::seconds(30)).status());

  ASSERT_OK_AND_ASSIGN(CommandOutput agent, RunAgent({"--simulate", "--count", "5", "--interval", "0.2", "--url",
                                                      broker->url(), "--device", "pi-arm64"}));
  EXPECT_EQ(agent.exit_code, 0) << agent.err;

  args = sub;
  args.insert(args.end(), {"-C", "5", "-W", "30"});
  ASSERT_OK_AND_ASSIGN(CommandOutput got, RunCommand(args, std::chrono::seconds(60)));
  EXPECT_EQ(got.exit_code, 0) << got.err << broker->Log();
  const std::vector<std::string> lines = Lines(got.out);
  ASSERT_EQ(lines.size(), 5u) << got.out;
  // Each reading once, in order: the counts follow one another (the first need not be 0 once the
  // count survives restarts).
  int64_t first = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string prefix = "sensor/pi-arm64/data ";
    ASSERT_EQ(lines[i].rfind(prefix, 0), 0u) << lines[i];
    std::smatch m;
    const std::string payload = lines[i].substr(prefix.size());
    ASSERT_TRUE(std::regex_match(payload, m, kReading)) << payload;
    const int64_t count = std::stoll(m[m.size() - 1].str());
    if (i == 0) first = count;
    EXPECT_EQ(count, first + static_cast<int64_t>(i)) << got.out;
  }
}

}  // namespace
}  // namespace sp::testing
