#include "agent/sender.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace sp {

void Sender::OnEvent(PublisherEvent event) {
  std::lock_guard lock(events_mu_);
  events_.push_back(event);
}

bool Sender::Send(uint64_t seq, std::string_view payload) {
  if (inflight_.size() >= options_.window) return false;
  auto mid = publisher_->Publish(topic_, payload);
  if (!mid.ok()) return false;
  inflight_[*mid] = seq;
  inflight_seqs_.insert(seq);
  ++sent_;
  return true;
}

Status Sender::Take(std::string_view payload) {
  const uint64_t seq = spool_->next_seq();
  Status spooled = spool_->Append(payload);
  if (!spooled.ok()) {
    // A full disk or a failing card: the reading cannot wait for the link, so it goes now or never.
    if (publisher_->connected()) (void)publisher_->Publish(topic_, payload);
    return spooled;
  }
  // Live: straight out when nothing older waits; else too, beside the backlog, which skips it.
  const bool caught_up = send_next_ >= seq;
  if (publisher_->connected() && Send(seq, payload) && caught_up) send_next_ = seq + 1;
  return Status::OK();
}

Status Sender::Pump(int64_t now_us) {
  std::deque<PublisherEvent> events;
  {
    std::lock_guard lock(events_mu_);
    events.swap(events_);
  }
  for (const PublisherEvent& e : events) {
    switch (e.kind) {
      case PublisherEvent::Kind::kAcked:
        if (auto it = inflight_.find(e.mid); it != inflight_.end()) {
          if (e.reason >= 0x80 && refused_++ % 1000 == 0) {
            spdlog::error("agent: the broker refused reading {} on {}: reason 0x{:02x} ({}); {} refused so far",
                          it->second, topic_, e.reason, mosquitto_reason_string(e.reason), refused_);
          }
          inflight_seqs_.erase(it->second);
          SP_RETURN_IF_ERROR(spool_->Ack(it->second));
          inflight_.erase(it);
          ++acknowledged_;
        }
        break;
      case PublisherEvent::Kind::kDisconnected:
        // What was in flight may never be acknowledged: send it again from the spool. (libmosquitto
        // may resend its own copies after the reconnect too; their PUBACKs name ids we no longer
        // track and are ignored.)
        inflight_.clear();
        inflight_seqs_.clear();
        rewound_ = true;
        break;
      case PublisherEvent::Kind::kConnected:
        break;
    }
  }
  if (rewound_ || send_next_ < spool_->acked_below()) {
    send_next_ = spool_->acked_below();
    rewound_ = false;
  }

  // The backlog, within its rate (a token bucket holding at most one second's worth).
  tokens_ = std::min(options_.backlog_per_s,
                     tokens_ + options_.backlog_per_s * static_cast<double>(now_us - last_pump_us_) / 1e6);
  last_pump_us_ = now_us;
  while (publisher_->connected() && send_next_ < spool_->next_seq() && inflight_.size() < options_.window) {
    const uint64_t seq = send_next_;
    if (spool_->IsAcked(seq) || inflight_seqs_.count(seq) > 0) {
      ++send_next_;
      continue;
    }
    if (tokens_ < 1) break;
    if (Status s = spool_->Read(seq, &scratch_); !s.ok()) {
      // Lost to a torn write before a power cut: nothing to send, say so once and move on.
      spdlog::error("agent: spool: reading {} cannot be sent: {}", seq, s.ToString());
      ++lost_;
      SP_RETURN_IF_ERROR(spool_->Ack(seq));
      ++send_next_;
      continue;
    }
    if (!Send(seq, scratch_)) break;
    tokens_ -= 1;
    ++send_next_;
  }
  return spool_->Tick();
}

}  // namespace sp
