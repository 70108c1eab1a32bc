// The table of settings on a small struct of its own, so that what the daemon's and the agent's
// tables rely on is pinned here: defaults, each type, file:line errors, ranges, choices, paths,
// checks across keys and the Markdown reference.
#include "common/settings.h"

#include <gtest/gtest.h>

#include "common/testing.h"

namespace sp {
namespace {

struct Pump {
  std::string name;
  int64_t period_ms = 0;  // the file says period_s
  bool enabled = false;
  double gain = 0;
  std::string mode;
  std::string log_file;
  std::vector<std::string> tags;
  std::vector<double> offset;
  std::map<std::string, std::string> labels;
  struct Limits {
    int64_t low = 0;
    int64_t high = 0;
  } limits;
};

const Settings<Pump>& PumpSettings() {
  static const Settings<Pump> settings = [] {
    Settings<Pump> s("The pump's configuration", "One pump.");
    s.Table("")
        .String("name", "p1", "Its name.", Into(&Pump::name))
        .Int("period_s", 5, 1, 3600, "Seconds between strokes.", Into(&Pump::period_ms, 1000))
        .Bool("enabled", true, "Off or on.", Into(&Pump::enabled))
        .Number("gain", 1.5, 0, 10, "Amplification.", Into(&Pump::gain))
        .Choice("mode", "slow", {"fast", "slow", "off"}, "How hard | how often.", Into(&Pump::mode))
        .Path("log_file", "pump.log", "Where strokes are logged.", Into(&Pump::log_file))
        .StringList("tags", {"a"}, "Labels for the dashboard.", Into(&Pump::tags))
        .NumberList("offset", {0, 0}, "Per axis.",
                    Checked(&Pump::offset,
                            [](const std::vector<double>& v) {
                              return v[0] <= v[1] ? Status::OK() : Status::InvalidArgument("must not fall");
                            }))
        .StringTable("labels", "Free text.", Into(&Pump::labels));
    using Limits = Pump::Limits;
    s.Table("limits", &Pump::limits, "The pressure's bounds.")
        .Int("low", 0, -100, 100, "Lowest.", Into(&Limits::low))
        .Int("high", 10, -100, 100, "Highest.", Into(&Limits::high))
        .Check([](const TomlReader& r, const Limits& l) {
          return l.low <= l.high ? Status::OK() : r.ErrorAt("high", "must not be below low");
        });
    return s;
  }();
  return settings;
}

Result<Pump> Parse(const std::string& toml) {
  return PumpSettings().Parse(toml, "/etc/pump/pump.toml");
}

std::string ErrorOf(const std::string& toml) {
  return std::string(Parse(toml).status().message());
}

TEST(Settings, DefaultsForAnEmptyFile) {
  ASSERT_OK_AND_ASSIGN(Pump p, Parse(""));
  EXPECT_EQ(p.name, "p1");
  EXPECT_EQ(p.period_ms, 5000);
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.gain, 1.5);
  EXPECT_EQ(p.mode, "slow");
  EXPECT_EQ(p.log_file, "/etc/pump/pump.log");
  EXPECT_EQ(p.tags, std::vector<std::string>{"a"});
  EXPECT_EQ(p.offset, (std::vector<double>{0, 0}));
  EXPECT_TRUE(p.labels.empty());
  EXPECT_EQ(p.limits.low, 0);
  EXPECT_EQ(p.limits.high, 10);
  // Defaults() alone leaves paths as written: there is no file to resolve them against.
  EXPECT_EQ(PumpSettings().Defaults().log_file, "pump.log");
}

TEST(Settings, ReadsEachType) {
  ASSERT_OK_AND_ASSIGN(Pump p, Parse(R"(name = "p2"
period_s = 60
enabled = false
gain = 2
mode = "fast"
log_file = "/var/log/pump.log"
tags = ["x", "y"]
offset = [-1, 2.5]
labels = { room = "cellar" }
[limits]
low = -5
high = 5
)"));
  EXPECT_EQ(p.name, "p2");
  EXPECT_EQ(p.period_ms, 60'000);
  EXPECT_FALSE(p.enabled);
  EXPECT_EQ(p.gain, 2.0);  // an integer is a number too
  EXPECT_EQ(p.mode, "fast");
  EXPECT_EQ(p.log_file, "/var/log/pump.log");
  EXPECT_EQ(p.tags, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(p.offset, (std::vector<double>{-1, 2.5}));
  EXPECT_EQ(p.labels, (std::map<std::string, std::string>{{"room", "cellar"}}));
  EXPECT_EQ(p.limits.low, -5);
  EXPECT_EQ(p.limits.high, 5);
}

TEST(Settings, RejectsUnknownKeysAndBadValuesWithFileLineAndKey) {
  EXPECT_EQ(ErrorOf("name = \"p\"\nbogus = 1\n"), "/etc/pump/pump.toml:2: bogus: unknown key");
  EXPECT_EQ(ErrorOf("[limits]\nlow = 1\nbogus = 1\n"), "/etc/pump/pump.toml:3: [limits] bogus: unknown key");
  EXPECT_EQ(ErrorOf("\n[nope]\nx = 1\n"), "/etc/pump/pump.toml:2: [nope]: unknown table");
  EXPECT_EQ(ErrorOf("\nenabled = 3\n"), "/etc/pump/pump.toml:2: enabled: expected true or false");
  EXPECT_EQ(ErrorOf("period_s = \"5\"\n"), "/etc/pump/pump.toml:1: period_s: expected an integer");
  EXPECT_EQ(ErrorOf("offset = [1]\n"), "/etc/pump/pump.toml:1: offset: expected an array of 2 numbers");
  EXPECT_EQ(ErrorOf("labels = { a = 1 }\n"),
            "/etc/pump/pump.toml:1: labels: expected a table of strings; a is not a string");
  // A store's own refusal is the key's error too.
  EXPECT_EQ(ErrorOf("\n\noffset = [2, 1]\n"), "/etc/pump/pump.toml:3: offset: must not fall");
  EXPECT_EQ(Parse("enabled = 3\n").status().code(), Status::Code::kInvalidArgument);
}

TEST(Settings, IntAcceptsItsBoundsAndNothingBeyond) {
  ASSERT_OK_AND_ASSIGN(Pump p, Parse("period_s = 1\n"));
  EXPECT_EQ(p.period_ms, 1000);
  ASSERT_OK_AND_ASSIGN(p, Parse("period_s = 3600\n"));
  EXPECT_EQ(p.period_ms, 3'600'000);
  EXPECT_EQ(ErrorOf("period_s = 0\n"), "/etc/pump/pump.toml:1: period_s: 0 is out of range [1, 3600]");
  EXPECT_EQ(ErrorOf("period_s = 3601\n"), "/etc/pump/pump.toml:1: period_s: 3601 is out of range [1, 3600]");
  EXPECT_EQ(ErrorOf("[limits]\nlow = -101\n"), "/etc/pump/pump.toml:2: [limits] low: -101 is out of range [-100, 100]");
}

TEST(Settings, ChoiceTakesOnlyItsNames) {
  for (const char* mode : {"fast", "slow", "off"}) {
    ASSERT_OK_AND_ASSIGN(Pump p, Parse("mode = \"" + std::string(mode) + "\"\n"));
    EXPECT_EQ(p.mode, mode);
  }
  EXPECT_EQ(ErrorOf("mode = \"Fast\"\n"), "/etc/pump/pump.toml:1: mode: expected \"fast\", \"slow\" or \"off\"");
}

TEST(Settings, PathResolvesAgainstTheFilesFolder) {
  ASSERT_OK_AND_ASSIGN(Pump p, Parse("log_file = \"logs/p.log\"\n"));
  EXPECT_EQ(p.log_file, "/etc/pump/logs/p.log");
  ASSERT_OK_AND_ASSIGN(p, PumpSettings().Parse("log_file = \"logs/p.log\"\n", "conf/pump.toml"));
  EXPECT_EQ(p.log_file, "conf/logs/p.log");
  ASSERT_OK_AND_ASSIGN(p, Parse("log_file = \"/tmp/p.log\"\n"));
  EXPECT_EQ(p.log_file, "/tmp/p.log");
}

TEST(Settings, CheckSeesTheTableOnceRead) {
  ASSERT_OK_AND_ASSIGN(Pump p, Parse("[limits]\nlow = 7\nhigh = 7\n"));
  EXPECT_EQ(p.limits.low, 7);
  // high is at its default, 10, so low = 11 alone breaks the check, which names high.
  EXPECT_EQ(ErrorOf("[limits]\nlow = 11\n"), "/etc/pump/pump.toml:1: [limits] high: must not be below low");
  EXPECT_EQ(ErrorOf("[limits]\nlow = 3\nhigh = 2\n"), "/etc/pump/pump.toml:3: [limits] high: must not be below low");
}

TEST(Settings, RendersTheReference) {
  EXPECT_EQ(PumpSettings().Reference(), R"(# The pump's configuration

One pump.

## Top level

| Key | Type | Default | Meaning |
|---|---|---|---|
| `name` | string | `"p1"` | Its name. |
| `period_s` | integer, 1 to 3600 | `5` | Seconds between strokes. |
| `enabled` | boolean | `true` | Off or on. |
| `gain` | number, 0 to 10 | `1.5` | Amplification. |
| `mode` | one of "fast", "slow" or "off" | `"slow"` | How hard \| how often. |
| `log_file` | path | `"pump.log"` | Where strokes are logged. |
| `tags` | array of strings | `["a"]` | Labels for the dashboard. |
| `offset` | array of 2 numbers | `[0, 0]` | Per axis. |
| `labels` | table of strings | `{}` | Free text. |

## `[limits]`

The pressure's bounds.

| Key | Type | Default | Meaning |
|---|---|---|---|
| `low` | integer, -100 to 100 | `0` | Lowest. |
| `high` | integer, -100 to 100 | `10` | Highest. |
)");
}

}  // namespace
}  // namespace sp
