// Moves readings from the spool to the broker. A new reading goes out at once when the link is up
// (live); what the spool holds beyond that (the backlog of an outage or of a previous run) goes out
// oldest first at a bounded rate beside the live readings, so a reconnect neither floods the broker
// nor delays the present. A reading leaves the spool only when its PUBACK arrives; a lost
// connection rewinds to the oldest unacknowledged reading (some may then arrive twice, which the
// pipeline's dedup absorbs).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "agent/publisher.h"
#include "agent/spool.h"

namespace sp {

struct SenderOptions {
  double backlog_per_s = 50;  // backlog readings sent per second at most, beside live ones
  size_t window = 20;         // readings in flight (published, not yet acknowledged) at most
};

class Sender {
 public:
  //! Nothing is owned. The publisher's events must be handed to OnEvent.
  Sender(Spool* spool, Publisher* publisher, std::string topic, SenderOptions options)
      : spool_(spool), publisher_(publisher), topic_(std::move(topic)), options_(options) {}

  //! From the publisher's network thread: queued, handled by the next Pump.
  void OnEvent(PublisherEvent event);
  //! Spools payload (numbered spool->next_seq()) and sends it at once when it can. An error means
  //! the reading could not be spooled; it is still sent when the link is up.
  Status Take(std::string_view payload);
  //! Handles acknowledgements and connection changes, sends backlog within the rate, runs the
  //! spool's timed work. now_us: a monotonic clock.
  Status Pump(int64_t now_us);

  uint64_t sent() const { return sent_; }
  uint64_t acknowledged() const { return acknowledged_; }
  uint64_t lost() const { return lost_; }  // unreadable in the spool (a torn write), skipped
  //! PUBACKs that refused the reading (MQTT 5 reason 0x80 and above, e.g. a topic the ACL denies):
  //! sending it again could not help, so it leaves the spool, counted and logged, never silently.
  uint64_t refused() const { return refused_; }

 private:
  bool Send(uint64_t seq, std::string_view payload);

  Spool* const spool_;
  Publisher* const publisher_;
  const std::string topic_;
  const SenderOptions options_;

  std::mutex events_mu_;
  std::deque<PublisherEvent> events_;  // guarded by events_mu_

  // Used by the thread that calls Take and Pump only.
  std::map<int, uint64_t> inflight_;  // message id -> seq
  std::set<uint64_t> inflight_seqs_;
  uint64_t send_next_ = 0;  // the backlog continues here
  bool rewound_ = false;
  double tokens_ = 0;
  int64_t last_pump_us_ = 0;
  uint64_t sent_ = 0, acknowledged_ = 0, lost_ = 0, refused_ = 0;
  std::string scratch_;
};

}  // namespace sp
