// The README's first command, as a user runs it (minus the install and build, done by the test
// build): scripts/demo.sh starts broker, daemon and a simulated device; Ctrl-C stops them in
// order, and then every reading the broker acknowledged to the device is in the lake. Also with
// --secure: certificates, TLS and the ACL of docs/trust.md.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "common/testing.h"
#include "support/process.h"

namespace sp::testing {
namespace {

constexpr auto kDeadline = std::chrono::seconds(120);

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class Demo : public ::testing::TestWithParam<bool> {};

TEST_P(Demo, RunsAndStopsCleanlyOnCtrlC) {
  const bool secure = GetParam();
  TempDir dir;
  // Started as root, mosquitto switches to its own user, which must reach the demo's folder.
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  const std::string source = std::getenv("SP_SOURCE_DIR") ? std::getenv("SP_SOURCE_DIR") : ".";
  const std::string build = std::filesystem::path(BinDir()).parent_path().string();
  std::vector<std::string> argv = {source + "/scripts/demo.sh"};
  if (secure) argv.push_back("--secure");
  ASSERT_OK_AND_ASSIGN(auto demo,
                       Process::Start(argv, dir.Sub("demo.out"),
                                      {"SP_SKIP_BUILD=1", "SP_BUILD_DIR=" + build, "SP_DEMO_DIR=" + dir.Sub("demo")}));
  // Whatever fails below, Ctrl-C the script so that it stops the broker, daemon and device it
  // started: a SIGKILL (the Process destructor's) would leave them running without it.
  struct CtrlCAtExit {
    Process* p;
    ~CtrlCAtExit() {
      if (p->Running() && p->Signal(SIGINT).ok()) (void)p->Wait(kDeadline);
    }
  } ctrl_c_at_exit{demo.get()};
  ASSERT_TRUE(
      WaitUntil([&] { return demo->Log().find("Press Ctrl-C") != std::string::npos || !demo->Running(); }, kDeadline))
      << demo->Log();
  ASSERT_TRUE(demo->Running()) << demo->Log();
  const std::string out = demo->Log();
  EXPECT_NE(out.find("Dashboard:  http://127.0.0.1:"), std::string::npos) << out;
  EXPECT_NE(out.find("sensorpipe query --config"), std::string::npos) << out;
  EXPECT_NE(out.find(secure ? "Broker:     mqtts://" : "Broker:     mqtt://"), std::string::npos) << out;

  const std::string config = dir.Sub("demo") + "/sensorpipe.toml";
  auto count = [&] {
    auto r = RunCommand({BinDir() + "/sensorpipe", "query", "--config", config, "--format", "csv",
                         "SELECT count(*) AS n FROM readings WHERE device = 'raspberrypi'"},
                        kDeadline);
    return r.ok() && r->exit_code == 0 && r->out.size() > 2 ? std::stoll(r->out.substr(2)) : -1;
  };
  // Readings reach the lake within the demo's 10 s delivery interval.
  ASSERT_TRUE(WaitUntil([&] { return count() > 0; }, kDeadline)) << Slurp(dir.Sub("demo") + "/sensorpipe.log");

  ASSERT_OK(demo->Signal(SIGINT));
  ASSERT_OK_AND_ASSIGN(int code, demo->Wait(kDeadline));
  EXPECT_EQ(code, 0) << demo->Log();
  // The device stopped first and says what the broker acknowledged; the daemon stopped next and
  // flushed: all of it is in the lake.
  std::smatch m;
  const std::string agent_log = Slurp(dir.Sub("demo") + "/agent.log");
  ASSERT_TRUE(std::regex_search(agent_log, m, std::regex(R"(stopped: (\d+) taken, (\d+) acknowledged)"))) << agent_log;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_EQ(count(), std::stoll(m[2])) << Slurp(dir.Sub("demo") + "/sensorpipe.log");
  EXPECT_NE(Slurp(dir.Sub("demo") + "/sensorpipe.log").find("stopped cleanly"), std::string::npos);
  if (secure) {
    // The broker named both clients after their certificates.
    const std::string broker_log = Slurp(dir.Sub("demo") + "/broker/mosquitto.log");
    EXPECT_NE(broker_log.find(" as sensorpipe ("), std::string::npos) << broker_log;
    EXPECT_NE(broker_log.find(" as raspberrypi ("), std::string::npos) << broker_log;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, Demo, ::testing::Bool(),
                         [](const auto& info) { return std::string(info.param ? "Secure" : "Plain"); });

}  // namespace
}  // namespace sp::testing
