// The README and docs/*.md cannot drift: every command block in them is run here as written, in a
// scratch folder beside a real daemon and a real mosquitto, or carries a visible marker saying why
// not. A block that fails, or that is neither run nor marked, fails the test.
//
// What counts as a command block: a fenced block labelled sh, bash, shell or console, or an
// unlabelled one whose first line (comments aside) starts with a program (`build/bin/...`,
// `scripts/...`, `sensorpipe`, `curl`, `scp`, ...). toml, ini, json, sql blocks and unlabelled
// output, diagrams and grammars are not.
//
// Markers, each on a line of its own inside the block, cover the commands after them to the
// block's end (so on the first line, the whole block):
//   # not run by the docs test: <why>        a Raspberry Pi, scp, systemd, the test command itself
//   # run by tests/<file>                    that file must hold every word of each command
// An unlabelled (or text/json) block right after a command block, with at most one paragraph of
// prose between them that ends with ':', is the output of that block's last command: each of its
// lines must be in what the command printed.
//
// Commands that run until stopped (kLongRunning) are started, awaited until ready, and stopped by
// pid; `sensorpipe run` replaces the test's daemon, and commands that need the daemon stopped
// (`replay`) get it stopped and started again around them.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/http.h"
#include "support/mosquitto.h"
#include "support/pipeline.h"
#include "support/process.h"

namespace sp::testing {
namespace {

namespace fs = std::filesystem;

constexpr auto kCommandDeadline = std::chrono::seconds(120);  // generous: ASan on a busy 2-core machine
constexpr auto kReadyDeadline = std::chrono::seconds(120);
constexpr std::string_view kSkipMarker = "# not run by the docs test:";
constexpr std::string_view kRunByMarker = "# run by ";
const char* const kToken = "docs-test-token";

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// ---------------------------------------------------------------------------------------------
// Reading the Markdown.

struct Block {
  std::string file;  // relative to the source folder
  int line = 0;      // of the opening fence, 1-based
  std::string lang;
  std::vector<std::string> lines;
  std::vector<std::string> before;  // the lines between the previous block (or the file's start) and this one
  std::string Where() const { return file + ":" + std::to_string(line); }
};

std::vector<Block> ParseBlocks(const std::string& file, const std::string& text) {
  std::vector<Block> blocks;
  std::vector<std::string> gap;
  Block* open = nullptr;
  int n = 0;
  for (const std::string& raw : Lines(text)) {
    ++n;
    const std::string line = Trim(raw);
    if (open == nullptr && StartsWith(line, "```")) {
      blocks.push_back(Block{file, n, Trim(line.substr(3)), {}, std::move(gap)});
      gap.clear();
      open = &blocks.back();
    } else if (open != nullptr && line == "```") {
      open = nullptr;
    } else if (open != nullptr) {
      open->lines.push_back(raw);
    } else {
      gap.push_back(raw);
    }
  }
  return blocks;
}

bool IsProgram(const std::string& word) {
  static const std::regex kProgram(
      R"((\./|build[-\w]*/|scripts/|/usr/|/bin/)\S*|sensorpipe(-agent)?|curl|mosquitto\w*|sudo|scp|ssh|cd|)"
      R"(systemctl|chown|chmod|cmake|ninja|git|apt-get|npm|node)");
  return std::regex_match(word, kProgram);
}

bool IsCommandBlock(const Block& b) {
  if (b.lang == "sh" || b.lang == "bash" || b.lang == "shell" || b.lang == "console") return true;
  if (!b.lang.empty()) return false;
  for (const std::string& raw : b.lines) {
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    return IsProgram(line.substr(0, line.find_first_of(" \t")));
  }
  return false;
}

// The output block that documents what `cmd`'s last command prints, if `next` is one.
bool IsOutputOf(const Block& cmd, const Block& next) {
  if (next.file != cmd.file || IsCommandBlock(next)) return false;
  if (!next.lang.empty() && next.lang != "text" && next.lang != "json") return false;
  std::vector<std::string> prose;
  for (const std::string& l : next.before) {
    if (!Trim(l).empty()) prose.push_back(Trim(l));
  }
  if (prose.empty()) return true;
  // One paragraph: no blank line between its first and last line, no heading, ending with ':'.
  const auto first = std::find_if(next.before.begin(), next.before.end(), [](auto& l) { return !Trim(l).empty(); });
  const auto last = std::find_if(next.before.rbegin(), next.before.rend(), [](auto& l) { return !Trim(l).empty(); });
  const bool one_paragraph = std::all_of(first, last.base(), [](auto& l) { return !Trim(l).empty(); });
  return one_paragraph && prose.front()[0] != '#' && prose.back().back() == ':';
}

// The words of a shell command as the shell splits them (quotes removed; comments and line
// continuations dropped). Enough for the docs' commands: no $(...), no escapes inside quotes.
std::vector<std::string> ShellWords(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'' || c == '"') {
      const size_t end = text.find(c, i + 1);
      word += text.substr(i + 1, end == std::string::npos ? std::string::npos : end - i - 1);
      in_word = true;
      if (end == std::string::npos) break;
      i = end;
    } else if (c == '\\' && i + 1 < text.size()) {
      if (text[i + 1] != '\n') {
        word += text[i + 1];
        in_word = true;
      }
      ++i;
    } else if (c == '#' && !in_word) {
      i = text.find('\n', i);
      if (i == std::string::npos) break;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

struct Command {
  enum class How { kRun, kSkip, kRunBy };
  int line = 0;      // in the file
  std::string text;  // as written, continuation lines included
  How how = How::kRun;
  std::string note;  // the reason it is skipped, or the test file that runs it
};

// The commands of a command block, each with the marker that covers it; an error for a marker
// without its reason or test file.
Result<std::vector<Command>> Commands(const Block& b) {
  std::vector<Command> out;
  Command::How how = Command::How::kRun;
  std::string note;
  for (size_t i = 0; i < b.lines.size(); ++i) {
    const int line = b.line + 1 + static_cast<int>(i);
    const std::string t = Trim(b.lines[i]);
    if (StartsWith(t, kSkipMarker)) {
      how = Command::How::kSkip;
      note = Trim(t.substr(kSkipMarker.size()));
      if (note.empty())
        return Status::InvalidArgument(b.file + ":" + std::to_string(line) + ": a marker without its reason");
      continue;
    }
    if (StartsWith(t, kRunByMarker)) {
      how = Command::How::kRunBy;
      note = Trim(t.substr(kRunByMarker.size()));
      if (!StartsWith(note, "tests/") || note.find(' ') != std::string::npos) {
        return Status::InvalidArgument(b.file + ":" + std::to_string(line) +
                                       ": '# run by' names one file under tests/");
      }
      continue;
    }
    if (t.empty() || t[0] == '#') continue;
    Command c{line, b.lines[i], how, note};
    while (!c.text.empty() && c.text.back() == '\\' && i + 1 < b.lines.size()) c.text += "\n" + b.lines[++i];
    out.push_back(std::move(c));
  }
  return out;
}

// A command marked `# run by tests/x.cc` is really run there: the file holds each of its words
// (a program's build folder aside: tests name it through BinDir()).
Status CheckRunBy(const Command& c, const std::string& source_dir) {
  const std::string test = ReadFile(source_dir + "/" + c.note);
  if (test.empty()) return Status::NotFound(c.note + " does not exist");
  static const std::regex kBuildBin(R"(build[-\w]*/bin/)");
  for (const std::string& word : ShellWords(c.text)) {
    const std::string w = std::regex_replace(word, kBuildBin, "");
    if (test.find(w) == std::string::npos) return Status::NotFound(c.note + " does not hold '" + w + "'");
  }
  return Status::OK();
}

TEST(DocsParse, FindsCommandBlocksMarkersAndOutputs) {
  const std::string md =
      "Intro\n\n```sh\nbuild/bin/sensorpipe lake ls   # note\nbuild/bin/sensorpipe query \\\n  \"SELECT 1\"\n"
      "# not run by the docs test: needs a Raspberry Pi\nscp a pi@pi:\n```\n\nIt prints:\n\n```\n1\n```\n"
      "```toml\n[http]\n```\n```\nsensorpipe.toml:5: [[rules]] sql: error\n```\n"
      "```\nsensorpipe report --from T [--tz ZONE]\n```\n```\nGET /api/devices\n```\n"
      "```sh\n# run by tests/demo_test.cc\nscripts/demo.sh\n```\n"
      "Two\n\nparagraphs:\n\n```\nnot output\n```\n";
  const std::vector<Block> b = ParseBlocks("x.md", md);
  ASSERT_EQ(b.size(), 8u);
  EXPECT_EQ(b[0].line, 3);
  EXPECT_EQ(b[0].lang, "sh");
  EXPECT_TRUE(IsCommandBlock(b[0]));
  EXPECT_FALSE(IsCommandBlock(b[1]));  // the output
  EXPECT_TRUE(IsOutputOf(b[0], b[1]));
  EXPECT_FALSE(IsCommandBlock(b[2]));    // toml
  EXPECT_FALSE(IsCommandBlock(b[3]));    // an error message, not a command
  EXPECT_TRUE(IsCommandBlock(b[4]));     // an unlabelled usage synopsis is a command block: it fails unless marked
  EXPECT_FALSE(IsCommandBlock(b[5]));    // an HTTP exchange
  EXPECT_FALSE(IsOutputOf(b[6], b[7]));  // two paragraphs between

  ASSERT_OK_AND_ASSIGN(std::vector<Command> cmds, Commands(b[0]));
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[0].how, Command::How::kRun);
  EXPECT_EQ(cmds[1].text, "build/bin/sensorpipe query \\\n  \"SELECT 1\"");
  EXPECT_EQ(cmds[1].line, 5);
  EXPECT_EQ(cmds[2].how, Command::How::kSkip);
  EXPECT_EQ(cmds[2].note, "needs a Raspberry Pi");
  EXPECT_EQ(ShellWords(cmds[0].text), (std::vector<std::string>{"build/bin/sensorpipe", "lake", "ls"}));
  EXPECT_EQ(ShellWords(cmds[1].text), (std::vector<std::string>{"build/bin/sensorpipe", "query", "SELECT 1"}));

  ASSERT_OK_AND_ASSIGN(std::vector<Command> demo, Commands(b[6]));
  ASSERT_EQ(demo.size(), 1u);
  EXPECT_EQ(demo[0].how, Command::How::kRunBy);
  EXPECT_OK(CheckRunBy(demo[0], SourceDir()));
  demo[0].text = "scripts/demo.sh --no-such-option";
  EXPECT_FALSE(CheckRunBy(demo[0], SourceDir()).ok());
  demo[0].note = "tests/no_such_test.cc";
  EXPECT_FALSE(CheckRunBy(demo[0], SourceDir()).ok());
  EXPECT_FALSE(Commands(ParseBlocks("x.md", "```sh\n# not run by the docs test:\nscp a b:\n```\n")[0]).ok());
}

// ---------------------------------------------------------------------------------------------
// Running the commands.

// Commands that run until stopped: how to tell they are ready, and how to stop them.
struct LongRunning {
  std::regex pattern;  // searched in the command as written
  enum class Ready { kDaemon, kNewMessage, kOutput } ready;
  std::string output;  // kOutput: what its output holds once it is ready ("": any output)
  int stop_signal;
};
const std::vector<LongRunning>& LongRunningCommands() {
  static const std::vector<LongRunning> kLongRunning = {
      // The test's daemon is stopped first; this one takes its place until the end.
      {std::regex(R"(\bsensorpipe run\b)"), LongRunning::Ready::kDaemon, "", SIGTERM},
      // A device that publishes until stopped: ready once the daemon got a message.
      {std::regex(R"(\bsensorpipe-agent\b(?!.*--(once|count|calibrate)))"), LongRunning::Ready::kNewMessage, "",
       SIGTERM},
      {std::regex(R"(\bcurl\b.*\s-N\s.*/api/events)"), LongRunning::Ready::kOutput, ": connected", SIGTERM},
      {std::regex(R"(\blog tail\b.*\s(-f|--follow)\b)"), LongRunning::Ready::kOutput, "", SIGINT},
      {std::regex(R"(\bscripts/demo\.sh\b)"), LongRunning::Ready::kOutput, "Press Ctrl-C", SIGINT},
  };
  return kLongRunning;
}
// Commands that need the daemon stopped: it is stopped before them and started again after.
const std::regex kNeedsDaemonStopped(R"(\bsensorpipe replay\b)");

class Docs : public ::testing::Test {
 protected:
  void SetUp() override {
    // The scratch folder stands for the repository's root with the docs' sensorpipe.toml in it.
    // What the docs take for granted, and what stands for it here:
    //   build/bin/           -> the test build's bin folder (a symlink `build`; `build/bin/sensorpipe`)
    //   scripts/             -> the source's scripts (a symlink; SP_SKIP_BUILD=1: nothing is built)
    //   seed_day.ndjson      -> ../shared/fixtures/seed_day.ndjson (a symlink)
    //   sensorpipe.toml      -> the test's daemon's config (below)
    //   bare `sensorpipe`    -> the same binary (its folder first in PATH)
    //   $TOKEN               -> the daemon's [http] token (in the environment)
    //   127.0.0.1:8080       -> the daemon's listener, 127.0.0.1:1883 -> the broker (kSubstitutions)
    work_ = dir_.Sub("sp");  // where Pipeline::Start puts the daemon
    fs::create_directories(work_);
    const fs::path bin = fs::absolute(BinDir());
    fs::create_directory_symlink(bin.parent_path(), work_ + "/build");
    fs::create_directory_symlink(fs::absolute(SourceDir() + "/scripts"), work_ + "/scripts");
    fs::create_symlink(fs::absolute(FixturesDir() + "/seed_day.ndjson"), work_ + "/seed_day.ndjson");
    ::setenv("PATH", (bin.string() + ":" + std::getenv("PATH")).c_str(), 1);
    ::setenv("TOKEN", kToken, 1);
    ::setenv("SP_SKIP_BUILD", "1", 1);
    // The seed's zone-less times were recorded in UTC+9 (README, "Report"); delivery every second
    // so that what a command wrote is in the lake for the next one soon.
    ASSERT_OK_AND_ASSIGN(Pipeline pipeline, Pipeline::Start(dir_.path(),
                                                            "[ingest]\ndevice_time_zone = \"Asia/Seoul\"\n"
                                                            "[delivery]\ninterval_s = 1\n"
                                                            "[http]\ntoken = \"" +
                                                                std::string(kToken) + "\"\n"));
    // The blocks stop and replace the daemon: the test holds the parts itself.
    broker_ = std::move(pipeline.broker);
    daemon_ = std::move(pipeline.daemon);
    substitutions_ = {{"127.0.0.1:8080", "127.0.0.1:" + std::to_string(daemon_->http_port())},
                      {"127.0.0.1:1883", "127.0.0.1:" + std::to_string(broker_->port())}};
    // The seed's day is in the lake before the first block, as for a user who followed the README.
    ASSERT_OK_AND_ASSIGN(HttpResponse r, HttpPost(daemon_->http_port(), "/v1/ingest",
                                                  ReadFile(FixturesDir() + "/seed_day.ndjson"), kToken));
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_OK(Settle());
  }

  void TearDown() override {
    if (daemon_ != nullptr) EXPECT_OK(StopDaemon());
  }

  // The daemon answers and the seed's rows are in the lake.
  Status Settle() {
    const bool ok = WaitUntil(
        [&] {
          auto ready = HttpGet(daemon_->http_port(), "/readyz");
          if (!ready.ok() || ready->status != 200) return false;
          auto n = daemon_->Query("SELECT count(*) AS n FROM readings WHERE device = 'raspberrypi'");
          return n.ok() && n->size() > 2 && std::stoll(n->substr(2)) >= kSeedRows;
        },
        kReadyDeadline);
    return ok ? Status::OK() : Status::Unavailable("the daemon did not come back with the seed's rows");
  }

  Status StopDaemon() {
    if (readme_daemon_ != nullptr && readme_daemon_->Running()) {
      SP_RETURN_IF_ERROR(readme_daemon_->Signal(SIGTERM));
      SP_ASSIGN_OR_RETURN(int code, readme_daemon_->Wait(kCommandDeadline));
      if (code != 0) return Status::Aborted("the docs' daemon exited " + std::to_string(code));
      return Status::OK();
    }
    SP_ASSIGN_OR_RETURN(int code, daemon_->Stop());
    if (code != 0) return Status::Aborted("the test's daemon exited " + std::to_string(code));
    return Status::OK();
  }

  // The test's own daemon again, after a command that needed it stopped or a docs' daemon that failed.
  Status RestartDaemon() {
    SP_RETURN_IF_ERROR(daemon_->Restart());
    return Settle();
  }

  std::string Substitute(std::string text) const {
    for (const auto& [written, here] : substitutions_) {
      for (size_t at = 0; (at = text.find(written, at)) != std::string::npos; at += here.size()) {
        text.replace(at, written.size(), here);
      }
    }
    return text;
  }

  // Runs one command in the scratch folder: what it printed, or why it failed.
  Result<std::string> Run(const Command& c) {
    const std::string script = "cd " + work_ + " || exit 97\n";
    const std::string text = Substitute(c.text);
    // Matched on the words alone: a comment naming a program is not a call of it.
    std::string words;
    for (const std::string& w : ShellWords(c.text)) words += w + " ";
    for (const LongRunning& lr : LongRunningCommands()) {
      if (std::regex_search(words, lr.pattern)) return RunUntilReady(lr, script + "exec " + text);
    }
    const bool needs_stopped = std::regex_search(words, kNeedsDaemonStopped);
    if (needs_stopped) SP_RETURN_IF_ERROR(StopDaemon());
    const auto start = std::chrono::steady_clock::now();
    auto out = RunCommand({"bash", "-o", "pipefail", "-c", script + text}, kCommandDeadline);
    const bool timed_out = std::chrono::steady_clock::now() - start >= kCommandDeadline;
    if (needs_stopped) SP_RETURN_IF_ERROR(RestartDaemon());
    if (!out.ok()) return out.status();
    if (timed_out) {
      return Status::Unavailable("did not finish in " + std::to_string(kCommandDeadline.count()) +
                                 " s; a command that runs until stopped needs its readiness in LongRunningCommands()");
    }
    if (out->exit_code != 0) {
      const bool usage =
          c.text.find("[--") != std::string::npos || std::regex_search(c.text, std::regex("<[a-zA-Z ]+>"));
      return Status::Aborted("exit code " + std::to_string(out->exit_code) +
                             (usage ? " (a usage synopsis? write an example, or mark it)" : "") + "\nstdout:\n" +
                             out->out + "\nstderr:\n" + out->err);
    }
    return out->out;
  }

  Result<std::string> RunUntilReady(const LongRunning& lr, const std::string& script) {
    if (lr.ready == LongRunning::Ready::kDaemon) SP_RETURN_IF_ERROR(StopDaemon());
    const double received = daemon_->Metric("sensorpipe_messages_received_total");
    const std::string log = work_ + "/long-running-" + std::to_string(++long_running_) + ".log";
    SP_ASSIGN_OR_RETURN(std::unique_ptr<Process> p, Process::Start({"bash", "-c", script}, log));
    const bool ready = WaitUntil(
        [&] {
          if (!p->Running()) return true;
          switch (lr.ready) {
            case LongRunning::Ready::kDaemon: {
              auto r = HttpGet(daemon_->http_port(), "/readyz");
              return r.ok() && r->status == 200;
            }
            case LongRunning::Ready::kNewMessage:
              return daemon_->Metric("sensorpipe_messages_received_total") > received;
            case LongRunning::Ready::kOutput:
              return p->Log().find(lr.output) != std::string::npos && !p->Log().empty();
          }
          return false;
        },
        kReadyDeadline);
    if (!p->Running() || !ready) {
      const std::string why = p->Running() ? "not ready in " + std::to_string(kReadyDeadline.count()) + " s:\n"
                                           : "exited before it was ready:\n";
      if (p->Running() && p->Signal(lr.stop_signal).ok()) (void)p->Wait(kCommandDeadline);
      if (lr.ready == LongRunning::Ready::kDaemon) SP_RETURN_IF_ERROR(RestartDaemon());
      return Status::Aborted(why + p->Log());
    }
    std::string printed = p->Log();
    if (lr.ready == LongRunning::Ready::kDaemon) {
      readme_daemon_ = std::move(p);
      SP_RETURN_IF_ERROR(Settle());
      return printed;
    }
    SP_RETURN_IF_ERROR(p->Signal(lr.stop_signal));
    if (!p->Wait(kCommandDeadline).ok())
      return Status::Unavailable("did not stop on signal " + std::to_string(lr.stop_signal));
    return printed;
  }

  TempDir dir_;
  std::string work_;
  std::unique_ptr<Mosquitto> broker_;
  std::unique_ptr<Daemon> daemon_;          // the test's daemon, on work_/sensorpipe.toml
  std::unique_ptr<Process> readme_daemon_;  // the docs' `sensorpipe run`, once it replaced daemon_
  std::vector<std::pair<std::string, std::string>> substitutions_;
  int long_running_ = 0;
};

TEST_F(Docs, EveryCommandBlockRunsOrSaysWhyNot) {
  std::vector<std::string> files = {"README.md"};
  std::vector<std::string> docs;
  for (const auto& e : fs::recursive_directory_iterator(SourceDir() + "/docs")) {
    if (e.path().extension() == ".md") docs.push_back(fs::relative(e.path(), SourceDir()).string());
  }
  std::sort(docs.begin(), docs.end());
  files.insert(files.end(), docs.begin(), docs.end());

  int ran = 0, run_elsewhere = 0;
  std::vector<std::string> skipped;
  for (const std::string& file : files) {
    const std::vector<Block> blocks = ParseBlocks(file, ReadFile(SourceDir() + "/" + file));
    for (size_t i = 0; i < blocks.size(); ++i) {
      const Block& b = blocks[i];
      if (!IsCommandBlock(b)) continue;
      auto cmds = Commands(b);
      if (!cmds.ok()) {
        ADD_FAILURE() << cmds.status().ToString();
        continue;
      }
      if (cmds->empty()) ADD_FAILURE() << b.Where() << ": a command block without a command";
      std::string last_output;
      bool last_ran = false;
      for (const Command& c : *cmds) {
        const std::string where = file + ":" + std::to_string(c.line);
        last_ran = false;
        if (c.how == Command::How::kSkip) {
          skipped.push_back(where + " (" + c.note + ")");
          continue;
        }
        if (c.how == Command::How::kRunBy) {
          const Status s = CheckRunBy(c, SourceDir());
          EXPECT_TRUE(s.ok()) << where << ": " << s.ToString();
          ++run_elsewhere;
          continue;
        }
        SCOPED_TRACE(where + ": " + c.text);
        auto out = Run(c);
        ++ran;
        if (!out.ok()) {
          ADD_FAILURE() << where << ": `" << c.text << "` failed: " << out.status().ToString();
          continue;
        }
        last_output = *out;
        last_ran = true;
      }
      if (i + 1 < blocks.size() && IsOutputOf(b, blocks[i + 1]) && last_ran) {
        for (const std::string& raw : blocks[i + 1].lines) {
          const std::string line = Trim(raw);
          EXPECT_TRUE(line.empty() || last_output.find(line) != std::string::npos)
              << blocks[i + 1].Where() << ": the output shown is not what the command printed; missing:\n"
              << line << "\nprinted:\n"
              << last_output;
        }
      }
    }
  }
  std::cout << "docs_test: " << ran << " commands run, " << run_elsewhere << " run by other tests, " << skipped.size()
            << " not run:\n";
  for (const std::string& s : skipped) std::cout << "  " << s << "\n";
  EXPECT_GT(ran, 0);
}

}  // namespace
}  // namespace sp::testing
