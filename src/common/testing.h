// Test helpers shared by every stage's tests: Status assertions, a temporary folder, a clock the
// test moves by hand.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"

#define ASSERT_OK(expr)                                \
  do {                                                 \
    const ::sp::Status& sp_s_ = (expr);                \
    ASSERT_TRUE(sp_s_.ok()) << sp_s_.ToString();       \
  } while (0)
#define EXPECT_OK(expr)                                \
  do {                                                 \
    const ::sp::Status& sp_s_ = (expr);                \
    EXPECT_TRUE(sp_s_.ok()) << sp_s_.ToString();       \
  } while (0)
//! `ASSERT_OK_AND_ASSIGN(auto x, MakeX());`
#define ASSERT_OK_AND_ASSIGN(lhs, expr) ASSERT_OK_AND_ASSIGN_IMPL(SP_CONCAT(sp_r_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(tmp).value()

namespace sp::testing {

//! A clock that stands still until the test moves `now` (wall and monotonic alike).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_us = 1'000'000'000) : now(now_us) {}
  int64_t NowMicros() override { return now; }
  int64_t MonotonicMicros() override { return now; }
  int64_t now;
};

//! A fresh folder under $TMPDIR, removed with its contents when the object goes.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sensorpipe-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

//! $SP_FIXTURES_DIR (../shared/fixtures), set by CTest.
inline std::string FixturesDir() {
  const char* d = std::getenv("SP_FIXTURES_DIR");
  return d ? d : "../shared/fixtures";
}

//! $SP_SOURCE_DIR (the repository), set by CTest.
inline std::string SourceDir() {
  const char* d = std::getenv("SP_SOURCE_DIR");
  return d ? d : ".";
}

//! A folder named NAME beside the test binary, made if missing: a run from the build folder leaves
//! its screenshots and reports in <build>/tests/NAME.
inline std::string TestOutDir(const std::string& name) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string dir = (ec ? std::string(".") : exe.parent_path().string()) + "/" + name;
  std::filesystem::create_directories(dir, ec);
  return dir;
}

//! A whole file's bytes ("" when it cannot be read).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

//! text's lines, without their "\n" or "\r\n".
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

//! The reason code of each line of bad_messages.txt, from bad_messages.expected.txt.
inline std::vector<std::string> ExpectedBadMessageReasons() {
  std::ifstream in(FixturesDir() + "/bad_messages.expected.txt");
  std::vector<std::string> reasons;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    int n;
    std::string reason;
    fields >> n >> reason;
    reasons.push_back(reason);
  }
  return reasons;
}

}  // namespace sp::testing
