#include <gtest/gtest.h>

#include <cmath>

#include "agent/agent_config.h"
#include "agent/message.h"
#include "agent/simulator.h"
#include "common/testing.h"

namespace sp {
namespace {

constexpr int64_t kDay0 = 1795564800LL * 1000000;  // 2026-11-25 00:00:00 UTC

double Pearson(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= x.size();
  my /= y.size();
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

TEST(Simulator, ADayLooksLikeTheSeed) {
  SimulatedSenseHat sim(7, 9 * 3600);
  std::vector<double> t, h;
  double min_t = 1e9, max_t = -1e9, min_at = 0, max_at = 0;
  for (int s = 0; s < 86400; s += 60) {
    ASSERT_OK_AND_ASSIGN(Reading r, sim.Read(kDay0 + int64_t{s} * 1000000));
    t.push_back(*r.temperature);
    h.push_back(*r.humidity);
    EXPECT_GE(*r.humidity, 5);
    EXPECT_LE(*r.humidity, 99);
    EXPECT_NEAR(*r.pressure, 1010.5, 4);
    EXPECT_GE(*r.pitch, 0);
    EXPECT_LT(*r.roll, 360);
    EXPECT_GE(*r.roll, 0);
    EXPECT_NEAR(*r.yaw, 185, 15);
    double local_hour = std::fmod(s / 3600.0 + 9, 24);
    if (*r.temperature < min_t) min_t = *r.temperature, min_at = local_hour;
    if (*r.temperature > max_t) max_t = *r.temperature, max_at = local_hour;
  }
  EXPECT_LT(Pearson(t, h), -0.9);  // humidity moves against temperature
  EXPECT_NEAR(min_at, 5, 2);       // coolest around 05:00 local time
  EXPECT_NEAR(max_at, 17, 2);      // warmest around 17:00
  EXPECT_GT(max_t - min_t, 8);
}

TEST(Simulator, DeterministicForASeed) {
  SimulatedSenseHat a(42, 0), b(42, 0);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(*a.Read(kDay0 + i)->temperature, *b.Read(kDay0 + i)->temperature);
  }
}

// That the pipeline's default rule accepts it is tests/agent_message_test.cc's: this folder may not
// include the rules (docs/architecture.md).
TEST(Message, IsTheSeedShape) {
  Reading r{39.7434, 45.2591, 1008.6061, 1.768, 359.3482, 185.857};
  std::string m = FormatMessage("raspberrypi", kDay0 + 1'500'000, 9 * 3600, r, 12);
  EXPECT_EQ(m, R"({"client_id":"raspberrypi","timestamp":"2026-11-25T09:00:01+09:00","humidity":45.259,)"
               R"("temperature":39.743,"pressure":1008.606,"pitch":1.768,"roll":359.348,"yaw":185.857,"count":12})");
  EXPECT_NE(FormatMessage("d", kDay0, -(3 * 3600 + 1800), r, 0).find("\"2026-11-24T20:30:00-03:30\""), std::string::npos);
  EXPECT_EQ(ExpandTopic("sensor/{device}/data", "pi-1"), "sensor/pi-1/data");
}

TEST(Message, ASensorSwitchedOffIsLeftOut) {
  Reading r;
  r.humidity = 45.0;
  r.temperature = 21.5;
  EXPECT_EQ(FormatMessage("pi", kDay0, 0, r, 7),
            R"({"client_id":"pi","timestamp":"2026-11-25T00:00:00+00:00","humidity":45,"temperature":21.5,"count":7})");
}

TEST(AgentConfig, ReadsAndRejectsWithTheLine) {
  ASSERT_OK_AND_ASSIGN(AgentConfig c, ParseAgentConfig("[agent]\ndevice = \"pi-7\"\ninterval_s = 0.5\n"
                                                       "topic = \"sensor/{device}/data\"\n[mqtt]\nurl = \"mqtt://broker:1884\"\n",
                                                       "agent.toml"));
  EXPECT_EQ(c.device, "pi-7");
  EXPECT_EQ(c.interval_s, 0.5);
  EXPECT_EQ(c.mqtt.url, "mqtt://broker:1884");
  Status s = ParseAgentConfig("[agent]\ninterval_s = 0\n", "agent.toml").status();
  EXPECT_NE(s.message().find("agent.toml:2: [agent] interval_s: 0 is out of range"), std::string_view::npos) << s.ToString();
  s = ParseAgentConfig("[agent]\ntopic = \"sensor/#\"\n", "agent.toml").status();
  EXPECT_NE(s.message().find("agent.toml:2: [agent] topic"), std::string_view::npos) << s.ToString();
  s = ParseAgentConfig("[mqtt]\nurl = \"mqtt://h\"\nfoo = 1\n", "agent.toml").status();
  EXPECT_EQ(s.message(), "agent.toml:3: [mqtt] foo: unknown key");
  s = ParseAgentConfig("[agent]\nspool_sync = \"sometimes\"\n", "agent.toml").status();
  EXPECT_NE(s.message().find("agent.toml:2: [agent] spool_sync: expected \"always\""), std::string_view::npos)
      << s.ToString();
  s = ParseAgentConfig("[sensors]\nmag_offset = [1, 2]\n", "agent.toml").status();
  EXPECT_EQ(s.message(), "agent.toml:2: [sensors] mag_offset: expected an array of 3 numbers");
  s = ParseAgentConfig("[sensors]\nmag_scale = [1, 0, 1]\n", "agent.toml").status();
  EXPECT_EQ(s.message(), "agent.toml:2: [sensors] mag_scale: every scale must be above 0");
  s = ParseAgentConfig("[agent]\n\nmetrics_listen = \"9102\"\n", "agent.toml").status();
  EXPECT_NE(s.message().find("agent.toml:3: [agent] metrics_listen"), std::string_view::npos) << s.ToString();
  ASSERT_OK_AND_ASSIGN(c, ParseAgentConfig("[agent]\nspool_dir = \"sp\"\nspool_sync = \"interval:10000\"\n"
                                           "[sensors]\norientation = false\nmag_offset = [1.5, -2, 0.25]\n",
                                           "/etc/pi/agent.toml"));
  EXPECT_EQ(c.spool_dir, "/etc/pi/sp");  // relative to the config file
  EXPECT_EQ(c.spool_sync.mode, SpoolSync::Mode::kInterval);
  EXPECT_FALSE(c.sensors.orientation);
  EXPECT_EQ(c.sensors.mag_offset, (std::vector<double>{1.5, -2, 0.25}));
  EXPECT_EQ(c.topic, "sensor/{device}/data");
}

}  // namespace
}  // namespace sp
