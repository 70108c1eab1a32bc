// "Evaluated per message without allocation on the hot path": counts heap allocations while the
// default rule and SQL rules with string functions run over messages of a steady shape. A binary
// of its own, because it replaces the global operator new.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "common/testing.h"
#include "rules/rule.h"

namespace {
std::atomic<bool> counting{false};
std::atomic<size_t> allocations{0};
}  // namespace

// Every replaceable form, so no allocation escapes the count and each delete matches its new.
void* Allocate(size_t n) noexcept {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new(size_t n) {
  if (void* p = Allocate(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) {
  return operator new(n);
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace sp {
namespace {

// Allocations while 8000 messages go through the rules, after one pass over the same messages
// has let every reused buffer reach its size.
size_t SteadyStateAllocations(const std::vector<RuleSpec>& specs, RuleOptions options = {}) {
  auto rules = RuleSet::Compile(specs, options);
  EXPECT_TRUE(rules.ok()) << rules.status().ToString();
  RuleRunner runner(*rules);
  RuleBatch batch((*rules)->streams().size());
  // Same shape, changing values: what a device sends every second.
  std::vector<std::string> payloads;
  for (int i = 0; i < 1000; ++i) {
    payloads.push_back(R"({"client_id":"raspberrypi","timestamp":"2022-07-14 0)" + std::to_string(i % 10) +
                       R"(:00:00","humidity":45.259,"temperature":)" + std::to_string(20 + i % 20) +
                       R"(.5,"pressure":1008.606,"pitch":1.768,"roll":359.348,"yaw":185.857,"count":)" +
                       std::to_string(i) + R"(,"label":"Kitchen"})");
  }
  for (int pass = 0; pass < 2; ++pass) {
    allocations = 0;
    counting = pass == 1;
    for (const std::string& payload : payloads) {
      batch.Clear();
      for (int m = 0; m < 8; ++m)
        runner.Apply(Message{"sensor/raspberrypi/data", payload, "", 1795564800LL * 1000000}, &batch);
    }
    counting = false;
  }
  EXPECT_TRUE(batch.rejections().empty()) << batch.rejections()[0].detail;
  EXPECT_EQ(batch.total_records(), 8 * (*rules)->streams().size());
  return allocations;
}

TEST(RulesHotPath, TheDefaultRuleDoesNotAllocate) {
  EXPECT_EQ(SteadyStateAllocations({}), 0u);
  RuleOptions seoul;
  seoul.device_time_zone = "Asia/Seoul";
  EXPECT_EQ(SteadyStateAllocations({}, seoul), 0u);
}

TEST(RulesHotPath, SqlRulesDoNotAllocate) {
  EXPECT_EQ(SteadyStateAllocations(
                {{"all", "SELECT *, upper(label) AS label FROM 'sensor/#' WHERE temperature > -50", "readings"},
                 {"alerts",
                  "SELECT topic(2) AS device, concat(lower(label), '-', cast(count AS String)) AS tag, "
                  "round(temperature, 1) AS t, CASE WHEN temperature > 30 THEN 'hot' ELSE 'ok' END AS feel, "
                  "coalesce(nope, humidity) AS h, timestamp() AS at FROM 'sensor/+/data' WHERE NOT (yaw IS NULL)",
                  "alerts"}}),
            0u);
}

}  // namespace
}  // namespace sp
