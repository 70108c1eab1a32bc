// The agent's spool through real outages, with the real broker, daemon and agent binary: the broker
// stopped for 60 s while the agent samples once a second, and the agent killed with kill -9 at
// random moments. Afterwards the readings view holds every reading the agent took, each once, in
// the order it was taken. SOAK=1 runs the issue's 20 kills, otherwise 3.
#include <gtest/gtest.h>
#include <signal.h>

#include <random>
#include <regex>
#include <thread>

#include "common/testing.h"
#include "support/pipeline.h"
#include "support/process.h"

namespace sp::testing {
namespace {

class AgentSpool : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(
        pipeline_, Pipeline::Start(dir_.path(), "[mqtt]\nclient_id = \"sp-spool\"\n[delivery]\ninterval_s = 1\n"));
  }

  Result<std::unique_ptr<Process>> StartAgent(const std::string& interval, int count = 0) {
    std::vector<std::string> argv = {BinDir() + "/sensorpipe-agent", "--simulate", "--url",
                                     pipeline_.broker->url(), "--device", "pi-spool", "--interval",
                                     interval, "--spool", dir_.Sub("spool")};
    if (count > 0) argv.insert(argv.end(), {"--count", std::to_string(count)});
    return Process::Start(argv, dir_.Sub("agent.log"));
  }

  // The readings view holds counts 0 .. n-1 of pi-spool, each once, and their times rise with them.
  void ExpectReadings(int64_t n) {
    const std::string want = "n,d,lo,hi\n" + std::to_string(n) + "," + std::to_string(n) + ",0," +
                             std::to_string(n - 1) + "\n";
    std::string got;
    const std::string sql =
        "SELECT count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi FROM readings "
        "WHERE device = 'pi-spool'";
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto answer = pipeline_.daemon->Query(sql);
          got = answer.ok() ? *answer : answer.status().ToString();
          return got == want;
        },
        kDeadline))
        << "readings: " << got << "wanted: " << want;
    ASSERT_OK_AND_ASSIGN(
        std::string disorder,
        pipeline_.daemon->Query("SELECT count(*) AS n FROM (SELECT ts, lag(ts) OVER (ORDER BY seq) AS prev "
                                "FROM readings WHERE device = 'pi-spool') WHERE ts < prev"));
    EXPECT_EQ(disorder, "n\n0\n");
  }

  TempDir dir_;
  Pipeline pipeline_;
};

TEST_F(AgentSpool, TheBrokerGoneForAMinuteLosesNothing) {
  constexpr int kReadings = 90;
  ASSERT_OK_AND_ASSIGN(auto agent, StartAgent("1", kReadings));
  std::this_thread::sleep_for(std::chrono::seconds(5));
  ASSERT_OK(pipeline_.broker->Stop());
  std::this_thread::sleep_for(std::chrono::seconds(60));
  ASSERT_OK(pipeline_.broker->Restart());
  // The agent stops after its last reading once the spool is empty: exit code 0 says the broker
  // acknowledged every reading. It samples for kReadings seconds in all, 65 of them gone by now.
  ASSERT_OK_AND_ASSIGN(int code, agent->Wait(std::chrono::seconds(kReadings) + kDeadline));
  const std::string log = agent->Log();
  EXPECT_EQ(code, 0) << log;
  EXPECT_NE(log.find("connection lost"), std::string::npos) << log;
  std::smatch m;
  const std::regex stop_line(R"(stopped: (\d+) taken, \d+ acknowledged \(0 of them refused by the broker\), 0 waiting)");
  ASSERT_TRUE(std::regex_search(log, m, stop_line)) << log;
  EXPECT_EQ(std::stoi(m[1]), kReadings);
  ExpectReadings(kReadings);
}

TEST_F(AgentSpool, Kill9NeverLosesASpooledReading) {
  const bool soak = std::getenv("SOAK") && std::string(std::getenv("SOAK")) == "1";
  const int kills = soak ? 20 : 3;
  std::mt19937 rng(8);
  for (int k = 0; k < kills; ++k) {
    ASSERT_OK_AND_ASSIGN(auto agent, StartAgent("0.02"));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 1500)(rng)));
    ASSERT_OK(agent->Signal(SIGKILL));
    ASSERT_OK(agent->Wait(kDeadline).status());
  }
  // A last, clean run takes 20 more and sends whatever the killed ones left in the spool.
  ASSERT_OK_AND_ASSIGN(auto agent, StartAgent("0.02", 20));
  ASSERT_OK_AND_ASSIGN(int code, agent->Wait(kDeadline));
  const std::string log = agent->Log();
  EXPECT_EQ(code, 0) << log;
  // Its start line says where the count stood: every count below it plus its own 20 must arrive.
  const std::regex start_line(R"(next count (\d+)\))");
  int64_t next = -1;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), start_line);
       it != std::sregex_iterator(); ++it) {
    next = std::stoll((*it)[1]);
  }
  ASSERT_GT(next, 0) << log;
  ExpectReadings(next + 20);
  if (soak) {
    std::printf("SOAK agent kill -9: %d kills, %lld readings taken, every one in readings once and in order\n", kills,
                static_cast<long long>(next + 20));
  }
}

}  // namespace
}  // namespace sp::testing
