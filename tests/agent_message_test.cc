// The device side and the daemon agree on the message without knowing each other: what
// sensorpipe-agent sends, the pipeline's default rule accepts as the same instant. It lives here
// because src/agent may include only common/ and mqtt/ (docs/architecture.md).
#include <gtest/gtest.h>

#include "agent/message.h"
#include "common/testing.h"
#include "rules/rule.h"

namespace sp {
namespace {

constexpr int64_t kDay0 = 1795564800LL * 1000000;  // 2026-11-25 00:00:00 UTC

TEST(AgentMessage, PassesTheDefaultRuleAsTheSameInstant) {
  Reading r{39.7434, 45.2591, 1008.6061, 1.768, 359.3482, 185.857};
  const std::string m = FormatMessage("raspberrypi", kDay0 + 1'500'000, 9 * 3600, r, 12);
  ASSERT_OK_AND_ASSIGN(auto rules, RuleSet::Compile({}, {}));
  RuleRunner runner(rules);
  RuleBatch batch(1);
  ASSERT_TRUE(runner.Apply(Message{"sensor/data", m, "", kDay0 + 2'000'000}, &batch));
  ASSERT_TRUE(batch.rejections().empty()) << batch.rejections()[0].detail;
  EXPECT_EQ(batch.records(0)[0].timestamp_us, kDay0 + 1'000'000);
}

}  // namespace
}  // namespace sp
