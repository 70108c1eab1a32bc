// kill -9 of a process appending under load, at random moments: every append that returned (the
// process printed it) is in the log after reopening, each thread's records in order and without
// gaps. SOAK=1 runs the log issue's 50 kills.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/testing.h"
#include "log/file_log.h"
#include "support/process.h"

namespace sp::testing {
namespace {

TEST(LogKill, EveryReturnedAppendSurvivesKill9) {
  const bool soak = std::getenv("SOAK") && std::string(std::getenv("SOAK")) == "1";
  const int kills = soak ? 50 : 3;
  std::mt19937 rng(9);
  TempDir dir;
  size_t total_acked = 0;
  std::set<std::string> acked;
  for (int run = 0; run < kills; ++run) {
    const std::string out = dir.Sub("appender-" + std::to_string(run) + ".out");
    ASSERT_OK_AND_ASSIGN(auto p, Process::Start({BinDir() + "/../tests/log_appender", dir.Sub("log"), "k" + std::to_string(run)}, out));
    // Wait until it is appending, then kill it at a random moment.
    ASSERT_TRUE(WaitUntil([&] { return p->Log().size() > 100 || !p->Running(); }, std::chrono::seconds(60))) << p->Log();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(rng)));
    ASSERT_OK(p->Signal(SIGKILL));
    ASSERT_OK(p->Wait(std::chrono::seconds(30)).status());
    std::istringstream lines(p->Log());
    std::string line;
    while (std::getline(lines, line)) {
      if (lines.eof()) break;  // a last line without its newline was cut by the kill
      acked.insert(line);
    }
  }
  total_acked = acked.size();

  Metrics metrics;
  FileLogOptions o;
  o.dir = dir.Sub("log");
  o.shards = 2;
  ASSERT_OK_AND_ASSIGN(auto log, OpenFileLog(Env::Default(), Clock::Default(), &metrics, o));
  ASSERT_OK_AND_ASSIGN(Stream * stream, log->OpenStream("readings"));
  ASSERT_OK_AND_ASSIGN(auto c, stream->OpenConsumer("check", StartFrom::kOldest));
  std::set<std::string> present;
  std::map<std::string, int> next_seq;  // per run and thread: records come in order, no gaps
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto got, c->Poll(10000, std::chrono::milliseconds(0)));
    if (got.empty()) break;
    for (const auto& r : got) {
      ASSERT_TRUE(present.emplace(r.value).second) << "duplicate " << r.value;
      const size_t dash = r.value.rfind('-');
      const std::string writer(r.value.substr(0, dash));
      ASSERT_EQ(std::stoi(std::string(r.value.substr(dash + 1))), next_seq[writer]++) << r.value;
    }
  }
  for (const auto& v : acked) ASSERT_TRUE(present.count(v)) << "acknowledged " << v << " is missing";
  if (soak) {
    std::printf("SOAK kill -9: %d kills under load, %zu acknowledged records all present, %zu in the log\n", kills,
                total_acked, present.size());
  }
}

}  // namespace
}  // namespace sp::testing
