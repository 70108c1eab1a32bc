// The README's first command, as a user runs it (minus the install and build, done by the test
// build): scripts/demo.sh starts broker, daemon and a simulated device; Ctrl-C stops them in
// order, and then every reading the broker acknowledged to the device is in the lake. Also with
// --secure: certificates, TLS and the ACL of docs/trust.md. Then the demo as the README tells it:
// its output through `| tee`, the seed's day loaded by scripts/seed-day.sh (the report the README
// quotes, word for word), Ctrl-C to the whole pipeline stopping every child; and a demo whose HTTP
// port another daemon holds never says it is running.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/process.h"

namespace sp::testing {
namespace {

class Demo : public ::testing::TestWithParam<bool> {};

TEST_P(Demo, RunsAndStopsCleanlyOnCtrlC) {
  const bool secure = GetParam();
  TempDir dir;
  // Started as root, mosquitto switches to its own user, which must reach the demo's folder.
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  const std::string source = SourceDir();
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
                         "SELECT count(*) AS n FROM readings WHERE device = 'sim-pi'"},
                        kDeadline);
    return r.ok() && r->exit_code == 0 && r->out.size() > 2 ? std::stoll(r->out.substr(2)) : -1;
  };
  // Readings reach the lake within the demo's 10 s delivery interval.
  ASSERT_TRUE(WaitUntil([&] { return count() > 0; }, kDeadline)) << ReadFile(dir.Sub("demo") + "/sensorpipe.log");

  ASSERT_OK(demo->Signal(SIGINT));
  ASSERT_OK_AND_ASSIGN(int code, demo->Wait(kDeadline));
  EXPECT_EQ(code, 0) << demo->Log();
  // The device stopped first and says what the broker acknowledged; the daemon stopped next and
  // flushed: all of it is in the lake.
  std::smatch m;
  const std::string agent_log = ReadFile(dir.Sub("demo") + "/agent.log");
  ASSERT_TRUE(std::regex_search(agent_log, m, std::regex(R"(stopped: (\d+) taken, (\d+) acknowledged)"))) << agent_log;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_EQ(count(), std::stoll(m[2])) << ReadFile(dir.Sub("demo") + "/sensorpipe.log");
  EXPECT_NE(ReadFile(dir.Sub("demo") + "/sensorpipe.log").find("stopped cleanly"), std::string::npos);
  if (secure) {
    // The broker named both clients after their certificates.
    const std::string broker_log = ReadFile(dir.Sub("demo") + "/broker/mosquitto.log");
    EXPECT_NE(broker_log.find(" as sensorpipe ("), std::string::npos) << broker_log;
    EXPECT_NE(broker_log.find(" as sim-pi ("), std::string::npos) << broker_log;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, Demo, ::testing::Bool(),
                         [](const auto& info) { return std::string(info.param ? "Secure" : "Plain"); });

//! The environment that points demo.sh and seed-day.sh at the test build and a demo folder.
std::vector<std::string> DemoEnv(const TempDir& dir) {
  return {"SP_SKIP_BUILD=1", "SP_BUILD_DIR=" + std::filesystem::path(BinDir()).parent_path().string(),
          "SP_DEMO_DIR=" + dir.Sub("demo")};
}

//! The pids of processes whose command line mentions text (the demo's folder), this one aside.
std::vector<pid_t> ProcessesMentioning(const std::string& text) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos || std::stoi(name) == ::getpid()) continue;
    // Read with read(2): the process may end meanwhile, which a stream reports by throwing.
    std::string cmdline;
    const int fd = ::open((entry.path() / "cmdline").c_str(), O_RDONLY);
    if (fd < 0) continue;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) cmdline.append(buf, n);
    ::close(fd);
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(text) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

//! Fails the test if a process of the demo in dir outlives it for long (then stops it, so a
//! failure leaves nothing running).
void ExpectNoneSurvives(const TempDir& dir) {
  if (WaitUntil([&] { return ProcessesMentioning(dir.path()).empty(); }, kDeadline)) return;
  for (pid_t pid : ProcessesMentioning(dir.path())) {
    ADD_FAILURE() << "still running: pid " << pid;
    ::kill(pid, SIGKILL);
  }
}

//! The lines of the README's fenced block that follows the line containing marker.
std::vector<std::string> ReadmeBlockAfter(const std::string& marker) {
  const std::string readme = ReadFile(SourceDir() + "/README.md");
  const size_t at = readme.find(marker);
  if (at == std::string::npos) return {};
  const size_t open = readme.find("```\n", at) + 4;
  return Lines(readme.substr(open, readme.find("```", open) - open));
}

// `scripts/demo.sh | tee log`, the seed's day loaded as the README says, then Ctrl-C: the terminal
// sends SIGINT to the whole pipeline, tee dies at once, and what the script prints while it stops
// its children goes to a pipe without a reader.
TEST(DemoAsTheReadmeTellsIt, SeedDayThenCtrlCThroughTee) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  // setsid: a process group of its own, as a shell gives a pipeline, so SIGINT can reach all of it.
  ASSERT_OK_AND_ASSIGN(auto pipeline, Process::Start({"setsid", "bash", "-c", "\"$0\" | tee \"$1\"",
                                                      SourceDir() + "/scripts/demo.sh", dir.Sub("tee.log")},
                                                     dir.Sub("stderr.log"), DemoEnv(dir)));
  struct CtrlCAtExit {
    Process* p;
    const TempDir& dir;
    ~CtrlCAtExit() {
      if (p->Running()) ::kill(-p->pid(), SIGINT);
      (void)p->Wait(kDeadline);
      ExpectNoneSurvives(dir);
    }
  } ctrl_c_at_exit{pipeline.get(), dir};
  ASSERT_TRUE(WaitUntil(
      [&] { return ReadFile(dir.Sub("tee.log")).find("Press Ctrl-C") != std::string::npos || !pipeline->Running(); },
      kDeadline));
  const std::string out = ReadFile(dir.Sub("tee.log"));
  ASSERT_TRUE(pipeline->Running()) << out << pipeline->Log();

  // A token for HTTP ingest, made for this demo and in its config.
  std::smatch token;
  ASSERT_TRUE(std::regex_search(out, token, std::regex("HTTP ingest token: ([0-9a-f]{32}) "))) << out;
  EXPECT_EQ(ReadFile(dir.Sub("demo/http_token")), token[1]);
  EXPECT_NE(ReadFile(dir.Sub("demo/sensorpipe.toml")).find("token = \"" + token[1].str() + "\""), std::string::npos);

  std::vector<std::string> argv = {"env"};
  for (const std::string& e : DemoEnv(dir)) argv.push_back(e);
  argv.insert(argv.end(), {SourceDir() + "/scripts/seed-day.sh", FixturesDir() + "/seed_day.ndjson"});
  ASSERT_OK_AND_ASSIGN(CommandOutput seed, RunCommand(argv, kDeadline * 2));
  ASSERT_EQ(seed.exit_code, 0) << seed.out << seed.err;
  EXPECT_NE(seed.out.find("{\"accepted\":5400,\"rejected\":0,\"filtered\":0,\"errors\":[]}"), std::string::npos)
      << seed.out;
  // The README's link to the seed's day, and the summary it quotes, as the script prints them.
  const std::string readme = ReadFile(SourceDir() + "/README.md");
  const size_t link = readme.find("`/?range=custom&from=2022-07-14");
  ASSERT_NE(link, std::string::npos);
  EXPECT_NE(seed.out.find(readme.substr(link + 1, readme.find('`', link + 1) - link - 1) + "\n"), std::string::npos)
      << seed.out;
  const std::vector<std::string> summary = ReadmeBlockAfter("Its summary reads:");
  ASSERT_FALSE(summary.empty());
  const size_t at = seed.out.find("### Summary\n\n");
  ASSERT_NE(at, std::string::npos) << seed.out;
  const size_t from = at + std::string("### Summary\n\n").size();
  EXPECT_EQ(Lines(seed.out.substr(from, seed.out.find("\n\n", from) - from)), summary) << seed.out;
  // Read in Seoul time, under a device id of its own: the simulated device has none of it.
  ASSERT_OK_AND_ASSIGN(
      CommandOutput devices,
      RunCommand({BinDir() + "/sensorpipe", "query", "--config", dir.Sub("demo/sensorpipe.toml"), "--format", "csv",
                  "SELECT device, min(ts), count(*) FILTER (WHERE ts < '2023-01-01') AS seed_day "
                  "FROM readings GROUP BY 1 ORDER BY 1"},
                 kDeadline));
  std::erase(devices.out, '\r');  // CSV lines end with CRLF
  EXPECT_TRUE(std::regex_search(devices.out, std::regex("\nseed,2022-07-13 15:00:00,5400\n"
                                                        "sim-pi,20[2-9][0-9]-[^,]*,0\n$")))
      << devices.out;

  ASSERT_EQ(::kill(-pipeline->pid(), SIGINT), 0);
  ASSERT_OK_AND_ASSIGN(int code, pipeline->Wait(kDeadline));
  (void)code;  // the pipeline's status is tee's, killed by SIGINT
  ExpectNoneSurvives(dir);
  EXPECT_NE(ReadFile(dir.Sub("demo/sensorpipe.log")).find("stopped cleanly"), std::string::npos);
}

// The HTTP port is held by another daemon, which answers /healthz like the demo's own would: the
// demo must not call that running, and it keeps the token it made before.
TEST(DemoAsTheReadmeTellsIt, APortHeldByAnotherListenerIsNotReady) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  ASSERT_OK_AND_ASSIGN(auto other, Daemon::Start(dir.Sub("other"), NoBrokerUrl(), ""));
  std::filesystem::create_directories(dir.Sub("demo"));
  std::ofstream(dir.Sub("demo/http_token")) << "0123456789abcdef0123456789abcdef";
  std::vector<std::string> env = DemoEnv(dir);
  env.push_back("SP_DEMO_HTTP_PORT=" + std::to_string(other->http_port()));
  ASSERT_OK_AND_ASSIGN(auto demo, Process::Start({SourceDir() + "/scripts/demo.sh"}, dir.Sub("demo.out"), env));
  struct CtrlCAtExit {
    Process* p;
    ~CtrlCAtExit() {
      if (p->Running() && p->Signal(SIGINT).ok()) (void)p->Wait(kDeadline);
    }
  } ctrl_c_at_exit{demo.get()};
  ASSERT_OK_AND_ASSIGN(int code, demo->Wait(kDeadline));
  EXPECT_EQ(code, 1) << demo->Log();
  EXPECT_EQ(demo->Log().find("sensorpipe is running"), std::string::npos) << demo->Log();
  EXPECT_NE(demo->Log().find("demo: sensorpipe exited early"), std::string::npos) << demo->Log();
  EXPECT_EQ(ReadFile(dir.Sub("demo/http_token")), "0123456789abcdef0123456789abcdef");
  EXPECT_NE(ReadFile(dir.Sub("demo/sensorpipe.toml")).find("token = \"0123456789abcdef0123456789abcdef\""),
            std::string::npos);
  ASSERT_OK_AND_ASSIGN(int other_code, other->Stop());
  EXPECT_EQ(other_code, 0);
  ExpectNoneSurvives(dir);
}

}  // namespace
}  // namespace sp::testing
