// The dependency check: docs/architecture.md's tables say which folder under src/ may include which
// and which arrows must never exist; this test reads them from that page (so page and check cannot
// drift) and fails, naming file:line and the rule, on every include under src/ they do not allow.
// It also holds the other rules of the page: no .cc file under src/log/ over 600 lines,
// Env::Default() only where the page allows it, and a README under 20 KB.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/testing.h"

namespace sp {
namespace {

using Folders = std::set<std::string>;

// What docs/architecture.md allows and forbids, by folder under src/.
struct Arrows {
  std::vector<std::string> order;            // the folders, in the table's order
  std::map<std::string, Folders> may;        // what a folder's files may include besides the folder
  std::map<std::string, Folders> tests_may;  // what its tests may include besides that
  struct Never {
    Folders to;
    std::string because;
  };
  std::map<std::string, std::vector<Never>> never;
};

// A source file, its path from the repository's root ("src/log/batch.cc").
struct File {
  std::string path;
  std::string text;
};

std::string Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(" \t") - b + 1));
}

// The rows (as cells) of the Markdown table whose header row is exactly `header`.
std::vector<std::vector<std::string>> TableRows(const std::string& markdown, const std::string& header) {
  const std::vector<std::string> lines = testing::Lines(markdown);
  std::vector<std::vector<std::string>> rows;
  auto it = std::find(lines.begin(), lines.end(), header);
  if (lines.end() - it < 2) return rows;  // no such table
  for (it += 2; it < lines.end() && it->starts_with("|"); ++it) {
    std::vector<std::string> cells;
    size_t from = 1;
    for (size_t bar = it->find('|', from); bar != std::string::npos; bar = it->find('|', from)) {
      cells.push_back(Trim(std::string_view(*it).substr(from, bar - from)));
      from = bar + 1;
    }
    rows.push_back(cells);
  }
  return rows;
}

// "`common`, `store`" -> {common, store}.
Folders Names(const std::string& cell) {
  Folders names;
  size_t from = 0;
  while (from < cell.size()) {
    const size_t comma = std::min(cell.find(',', from), cell.size());
    std::string name = Trim(std::string_view(cell).substr(from, comma - from));
    std::erase(name, '`');
    if (!name.empty()) names.insert(name);
    from = comma + 1;
  }
  return names;
}

constexpr char kAllowedHeader[] = "| folder | may include | its tests may also include |";
constexpr char kNeverHeader[] = "| folder | never includes | because |";

Arrows ParseArrows(const std::string& markdown) {
  Arrows a;
  for (const auto& row : TableRows(markdown, kAllowedHeader)) {
    if (row.size() != 3 || Names(row[0]).size() != 1) continue;  // a folder without its row is reported
    const Folders folder = Names(row[0]);
    a.order.push_back(*folder.begin());
    a.may[*folder.begin()] = Names(row[1]);
    a.tests_may[*folder.begin()] = Names(row[2]);
  }
  // `*` stands for every folder but app on the left, and every folder but the row's own on the right.
  auto expand = [&](Folders names, const std::string& but) {
    if (names.erase("*") == 0) return names;
    for (const auto& [folder, unused] : a.may) {
      if (folder != but) names.insert(folder);
    }
    return names;
  };
  for (const auto& row : TableRows(markdown, kNeverHeader)) {
    if (row.size() != 3) continue;
    for (const std::string& from : expand(Names(row[0]), "app")) {
      Folders to = expand(Names(row[1]), from);
      to.erase(from);
      a.never[from].push_back({to, row[2]});
    }
  }
  return a;
}

// Why docs/architecture.md forbids from -> to, or "" when it does not.
std::string NeverBecause(const Arrows& a, const std::string& from, const std::string& to) {
  auto it = a.never.find(from);
  if (it == a.never.end()) return "";
  for (const Arrows::Never& n : it->second) {
    if (n.to.contains(to)) return n.because;
  }
  return "";
}

// A test, or a helper only tests include (log/file_log_testing.h, common/testing.h).
bool IsTest(const std::string& path) {
  return path.ends_with("_test.cc") || path.ends_with("testing.h");
}

// "log" for "src/log/kafka/x.cc".
std::string FolderOf(const std::string& path) {
  const std::string rest = path.substr(std::string("src/").size());
  return rest.substr(0, rest.find('/'));
}

// What is wrong with the tables themselves, given the folders under src/ that hold sources.
std::vector<std::string> TableProblems(const Arrows& a, const Folders& folders) {
  std::vector<std::string> problems;
  if (a.may.empty()) problems.push_back(std::string("no table headed ") + kAllowedHeader);
  for (const std::string& f : folders) {
    if (!a.may.contains(f)) problems.push_back("src/" + f + " has no row in the table of allowed arrows");
  }
  for (auto from = a.order.begin(); from != a.order.end(); ++from) {
    if (!folders.contains(*from)) problems.push_back("the row of `" + *from + "` names no folder under src/");
    for (const std::string& t : a.may.at(*from)) {
      // Arrows only up the table: so there is no cycle.
      if (std::find(a.order.begin(), from, t) == from) {
        problems.push_back("`" + *from + "` may include `" + t + "`, which is not in a row above it");
      }
      if (std::string why = NeverBecause(a, *from, t); !why.empty()) {
        problems.push_back("`" + *from + "` may include `" + t + "`, an arrow that must never exist: " + why);
      }
    }
  }
  for (const auto& [from, rules] : a.never) {
    for (const Arrows::Never& n : rules) {
      for (const std::string& t : n.to) {
        if (!a.may.contains(t)) problems.push_back("`" + from + "` never includes `" + t + "`, which has no row");
      }
    }
  }
  return problems;
}

// The path of `#include "path"` or `#include <path>` on this line, or "" when the line is no include.
std::string Included(std::string_view line) {
  auto skip = [&line](size_t n) {
    line.remove_prefix(std::min(n, line.size()));
    line.remove_prefix(std::min(line.find_first_not_of(" \t"), line.size()));
  };
  skip(0);
  if (!line.starts_with('#')) return "";
  skip(1);
  if (!line.starts_with("include")) return "";
  skip(std::string_view("include").size());
  if (line.empty() || (line[0] != '"' && line[0] != '<')) return "";
  const size_t end = line.find(line[0] == '"' ? '"' : '>', 1);
  return end == std::string_view::npos ? "" : std::string(line.substr(1, end - 1));
}

// Every include the tables do not allow, as "file:line: what and which rule".
std::vector<std::string> IncludeViolations(const Arrows& a, const std::vector<File>& files) {
  std::vector<std::string> out;
  for (const File& file : files) {
    const std::string from = FolderOf(file.path);
    const bool test = IsTest(file.path);
    const auto may = a.may.find(from);
    const auto tests_may = a.tests_may.find(from);
    const std::vector<std::string> lines = testing::Lines(file.text);
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string target = Included(lines[i]);
      const size_t slash = target.find('/');
      if (slash == std::string::npos) continue;  // none, or a header beside the file
      const std::string to = target.substr(0, slash);
      // <gtest/gtest.h> and "../x/y.h" alike: what is not a folder of the table is no arrow of it.
      if (!a.may.contains(to) && to != "support" && !to.starts_with('.')) continue;
      if (to == from || (may != a.may.end() && may->second.contains(to))) continue;
      if (test && (to == "support" || (tests_may != a.tests_may.end() && tests_may->second.contains(to)))) continue;
      std::string v = file.path + ":" + std::to_string(i + 1) + ": includes \"" + target + "\", but `" + from +
                      "` may not include `" + to + "` (docs/architecture.md, Arrows)";
      if (std::string why = NeverBecause(a, from, to); !why.empty()) v += "; it must never: " + why;
      out.push_back(v);
    }
  }
  return out;
}

// .cc files under src/log/ over 600 lines.
std::vector<std::string> LongLogFiles(const std::vector<File>& files) {
  std::vector<std::string> out;
  for (const File& f : files) {
    const size_t n = testing::Lines(f.text).size();
    if (f.path.starts_with("src/log/") && f.path.ends_with(".cc") && n > 600) {
      out.push_back(f.path + ": " + std::to_string(n) + " lines, over 600: split it by job");
    }
  }
  return out;
}

// Every Env::Default() outside src/app/, src/common/, the agent's main and tests.
std::vector<std::string> EnvDefaultOutsideMains(const std::vector<File>& files) {
  std::vector<std::string> out;
  for (const File& f : files) {
    if (f.path.starts_with("src/app/") || f.path.starts_with("src/common/") || f.path == "src/agent/agent_main.cc" ||
        IsTest(f.path)) {
      continue;
    }
    const std::vector<std::string> lines = testing::Lines(f.text);
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find("Env::Default()") != std::string::npos) {
        out.push_back(f.path + ":" + std::to_string(i + 1) +
                      ": Env::Default() outside src/app/, src/common/ and the mains: take an Env* instead");
      }
    }
  }
  return out;
}

// Every .h and .cc under src/, read once.
const std::vector<File>& SourceFiles() {
  static const std::vector<File> files = [] {
    namespace fs = std::filesystem;
    const fs::path root = testing::SourceDir();
    std::vector<File> out;
    for (const auto& e : fs::recursive_directory_iterator(root / "src")) {
      const std::string ext = e.path().extension().string();
      if (!e.is_regular_file() || (ext != ".h" && ext != ".cc")) continue;
      out.push_back({e.path().lexically_relative(root).string(), testing::ReadFile(e.path().string())});
    }
    std::sort(out.begin(), out.end(), [](const File& x, const File& y) { return x.path < y.path; });
    return out;
  }();
  return files;
}

std::string ArchitecturePage() {
  return testing::ReadFile(testing::SourceDir() + "/docs/architecture.md");
}

void ExpectNone(const std::vector<std::string>& problems) {
  for (const std::string& p : problems) ADD_FAILURE() << p;
}

TEST(Layout, TheTablesCoverEveryFolderInOrderWithoutAForbiddenArrow) {
  ASSERT_FALSE(SourceFiles().empty()) << "no sources under " << testing::SourceDir() << "/src";
  Folders folders;
  for (const File& f : SourceFiles()) folders.insert(FolderOf(f.path));
  const Arrows a = ParseArrows(ArchitecturePage());
  EXPECT_FALSE(a.never.empty()) << "no table headed " << kNeverHeader;
  ExpectNone(TableProblems(a, folders));
}

TEST(Layout, EveryIncludeUnderSrcFollowsTheTable) {
  ASSERT_FALSE(SourceFiles().empty());
  ExpectNone(IncludeViolations(ParseArrows(ArchitecturePage()), SourceFiles()));
}

TEST(Layout, APlantedBadIncludeIsReported) {
  const Arrows a = ParseArrows(ArchitecturePage());
  const std::vector<File> planted = {
      {"src/log/planted.cc",
       "#include \"log/log.h\"\n#include \"common/status.h\"\n  #  include \"delivery/delivery.h\"\n"},
      {"src/compact/planted_test.cc", "#include \"delivery/delivery.h\"\n#include \"support/daemon.h\"\n"},
      {"src/compact/planted.cc", "#include \"delivery/delivery.h\"  // a fixture's arrow, not the library's\n"},
      {"src/agent/planted.cc", "#include \"agent/spool.h\"\n#include \"../rules/rule.h\"\n#include <rules/rule.h>\n"},
  };
  const std::vector<std::string> v = IncludeViolations(a, planted);
  ASSERT_EQ(v.size(), 4u) << ::testing::PrintToString(v);
  EXPECT_TRUE(
      v[0].starts_with("src/log/planted.cc:3: includes \"delivery/delivery.h\", but `log` may not include "
                       "`delivery`"))
      << v[0];
  EXPECT_NE(v[0].find("the log knows no producer or consumer"), std::string::npos) << v[0];
  EXPECT_TRUE(v[1].starts_with("src/compact/planted.cc:1:")) << v[1];
  EXPECT_NE(v[1].find("nothing but `app` knows delivery"), std::string::npos) << v[1];
  EXPECT_TRUE(v[2].starts_with("src/agent/planted.cc:2: includes \"../rules/rule.h\"")) << v[2];
  EXPECT_TRUE(v[3].starts_with("src/agent/planted.cc:3: includes \"rules/rule.h\"")) << v[3];
}

TEST(Layout, APlantedBadArrowInTheTableIsReported) {
  std::string page = ArchitecturePage();
  const std::string log_row = "| `log` | `common` | |";
  const size_t at = page.find(log_row);
  ASSERT_NE(at, std::string::npos);
  page.replace(at, log_row.size(), "| `log` | `common`, `delivery` | |");
  const Arrows a = ParseArrows(page);
  Folders folders;
  for (const auto& [folder, unused] : a.may) folders.insert(folder);
  const std::vector<std::string> p = TableProblems(a, folders);
  ASSERT_EQ(p.size(), 2u) << ::testing::PrintToString(p);
  EXPECT_EQ(p[0], "`log` may include `delivery`, which is not in a row above it");
  EXPECT_TRUE(p[1].starts_with("`log` may include `delivery`, an arrow that must never exist: the log knows")) << p[1];
}

TEST(Layout, NoLogSourceOver600Lines) {
  ExpectNone(LongLogFiles(SourceFiles()));
}

TEST(Layout, EnvDefaultOnlyInAppCommonAndTheMains) {
  ExpectNone(EnvDefaultOutsideMains(SourceFiles()));
}

TEST(Layout, ReadmeUnder20KB) {
  const std::string readme = testing::ReadFile(testing::SourceDir() + "/README.md");
  ASSERT_FALSE(readme.empty());
  EXPECT_LT(readme.size(), 20480u) << "README.md is " << readme.size()
                                   << " bytes: it is for users; move references and stories to docs/";
}

TEST(Layout, PlantedBreaksOfTheOtherRulesAreReported) {
  std::string lines_600;
  for (int i = 0; i < 600; ++i) lines_600 += "//\n";
  const std::vector<File> planted = {
      {"src/log/at_limit.cc", lines_600},
      {"src/log/kafka/over.cc", lines_600 + "//\n"},
      {"src/log/long.h", lines_600 + "//\n"},
      {"src/store/x.cc", "#include \"common/env.h\"\n  Env* env = Env::Default();\n"},
      {"src/store/x_test.cc", "  Env* env = Env::Default();\n"},
      {"src/store/x_testing.h", "  Env* env = Env::Default();\n"},
      {"src/agent/agent_main.cc", "  Env* env = Env::Default();\n"},
      {"src/app/daemon.cc", "  Env* env = Env::Default();\n"},
  };
  EXPECT_EQ(LongLogFiles(planted),
            std::vector<std::string>{"src/log/kafka/over.cc: 601 lines, over 600: split it by job"});
  const std::vector<std::string> env = EnvDefaultOutsideMains(planted);
  ASSERT_EQ(env.size(), 1u) << ::testing::PrintToString(env);
  EXPECT_TRUE(env[0].starts_with("src/store/x.cc:2: Env::Default() outside")) << env[0];
}

}  // namespace
}  // namespace sp
