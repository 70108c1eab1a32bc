#include "common/metrics.h"

#include <gtest/gtest.h>

namespace sp {
namespace {

TEST(Metrics, RendersPrometheusText) {
  Metrics m;
  m.GetCounter("sensorpipe_messages_received_total", "Messages received.")->Inc(3);
  Counter* bad = m.GetCounter("sensorpipe_messages_rejected_total", "Rejected.", {{"reason", "malformed_json"}});
  bad->Inc();
  EXPECT_EQ(bad, m.GetCounter("sensorpipe_messages_rejected_total", "Rejected.", {{"reason", "malformed_json"}}));
  m.GetGauge("sensorpipe_up", "Up.")->Set(1);
  m.SetGaugeCallback("sensorpipe_consumer_lag_records", "Lag.", [] {
    return std::vector<std::pair<Labels, double>>{{{{"consumer", "lake\"x"}}, 42}};
  });
  EXPECT_EQ(m.RenderPrometheus(),
            "# HELP sensorpipe_consumer_lag_records Lag.\n"
            "# TYPE sensorpipe_consumer_lag_records gauge\n"
            "sensorpipe_consumer_lag_records{consumer=\"lake\\\"x\"} 42\n"
            "# HELP sensorpipe_messages_received_total Messages received.\n"
            "# TYPE sensorpipe_messages_received_total counter\n"
            "sensorpipe_messages_received_total 3\n"
            "# HELP sensorpipe_messages_rejected_total Rejected.\n"
            "# TYPE sensorpipe_messages_rejected_total counter\n"
            "sensorpipe_messages_rejected_total{reason=\"malformed_json\"} 1\n"
            "# HELP sensorpipe_up Up.\n"
            "# TYPE sensorpipe_up gauge\n"
            "sensorpipe_up 1\n");
  EXPECT_EQ(m.CounterValue("sensorpipe_messages_rejected_total", {{"reason", "malformed_json"}}), 1u);
  m.GetCounter("big_total", "Big.")->Inc(3000000);
  m.GetGauge("ratio", "Ratio.")->Set(0.25);
  const std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("big_total 3000000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ratio 0.25\n"), std::string::npos) << text;
  EXPECT_EQ(m.CounterValue("absent"), 0u);
}

}  // namespace
}  // namespace sp
