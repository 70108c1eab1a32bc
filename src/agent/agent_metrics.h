// The agent's Prometheus metrics, served on `[agent] metrics_listen`: a mirror of the spool's and
// the sender's own counts, refreshed by the main loop at every pump (so they need no locks of
// their own) and rendered by the status server's thread.
#pragma once

#include <string>

#include "agent/sender.h"
#include "agent/spool.h"
#include "common/metrics.h"

namespace sp {

class AgentMetrics {
 public:
  //! at_open: the spool's figures when it was opened (its overflow count is lifetime).
  explicit AgentMetrics(const SpoolStats& at_open);
  //! Copies the current figures in.
  void Update(const Spool& spool, const Sender& sender, bool connected);
  void SensorError() { sensor_errors_->Inc(); }
  std::string Render() const { return metrics_.RenderPrometheus(); }

 private:
  // A counter that follows a running total kept elsewhere.
  struct Tally {
    Counter* counter;
    uint64_t last = 0;
    void To(uint64_t total) {
      counter->Inc(total - last);
      last = total;
    }
  };
  Metrics metrics_;
  Tally readings_, acknowledged_, published_, refused_, overflowed_, unreadable_, written_, syncs_;
  Counter* sensor_errors_;
  Gauge *pending_, *spool_bytes_, *connected_;
};

}  // namespace sp
