#include "agent/agent_metrics.h"

namespace sp {

AgentMetrics::AgentMetrics(const SpoolStats& at_open)
    : readings_{metrics_.GetCounter("sensorpipe_agent_readings_total", "Readings taken and spooled.")},
      acknowledged_{metrics_.GetCounter("sensorpipe_agent_acknowledged_total", "PUBACKs received for spooled readings.")},
      published_{metrics_.GetCounter("sensorpipe_agent_published_total",
                                     "Readings published (backlog and resends included).")},
      refused_{metrics_.GetCounter("sensorpipe_agent_refused_total",
                                   "Readings the broker refused in its PUBACK (MQTT 5 reason >= 0x80, e.g. not "
                                   "authorized): dropped, since sending them again cannot help.")},
      overflowed_{metrics_.GetCounter("sensorpipe_agent_spool_overflowed_total",
                                      "Readings dropped unsent because the spool was full, since it was created.")},
      unreadable_{metrics_.GetCounter("sensorpipe_agent_spool_unreadable_total",
                                      "Spooled readings lost to a torn write (power cut), skipped.")},
      written_{metrics_.GetCounter("sensorpipe_agent_spool_written_bytes_total", "Bytes the spool wrote.")},
      syncs_{metrics_.GetCounter("sensorpipe_agent_spool_syncs_total", "fdatasync calls of the spool.")},
      sensor_errors_(metrics_.GetCounter("sensorpipe_agent_sensor_errors_total", "Failed sensor reads.")),
      pending_(metrics_.GetGauge("sensorpipe_agent_spool_pending", "Readings in the spool not yet acknowledged.")),
      spool_bytes_(metrics_.GetGauge("sensorpipe_agent_spool_bytes", "Bytes the spool holds.")),
      connected_(metrics_.GetGauge("sensorpipe_agent_mqtt_connected", "1 while connected to the broker.")) {
  // The spool's other counts start at its opening; the overflow count is its lifetime's.
  overflowed_.To(at_open.overflowed);
}

void AgentMetrics::Update(const Spool& spool, const Sender& sender, bool connected) {
  const SpoolStats st = spool.stats();
  readings_.To(st.appended);
  acknowledged_.To(sender.acknowledged());
  published_.To(sender.sent());
  refused_.To(sender.refused());
  overflowed_.To(st.overflowed);
  unreadable_.To(sender.lost());
  written_.To(st.bytes_written);
  syncs_.To(st.syncs);
  pending_->Set(static_cast<double>(spool.pending()));
  spool_bytes_->Set(static_cast<double>(st.bytes));
  connected_->Set(connected ? 1 : 0);
}

}  // namespace sp
