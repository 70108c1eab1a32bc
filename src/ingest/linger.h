// When a group commit should wait for more messages: Kafka's linger.ms, decided from what arrives.
//
// Every group commit costs a write and an fdatasync per shard it touches, and far more CPU than
// the bytes suggest (writeback, a virtio kick per request, the context switches of waiting: about
// 110 µs of system time an fdatasync on the benchmark machine). Under sustained load fewer, larger
// groups therefore cut the daemon's CPU per message (P3, bench/ingest.sh; /proc per thread over
// 300,000 messages at the QoS 0 burst): waiting up to 2 ms instead of 500 µs took the ingest
// thread's system time from 2.1 to about 0.9 µs a message, and up to 5 ms (3,000 fdatasyncs ->
// 1,300) to about 0.6; 10 ms saved little more (1,000).
//
// Waiting only lengthens latency at a moderate rate (P4, bench/ingest_latency.sh), so the policy
// starts only when two polls in a row bring min_messages or more (the broker sends faster than we
// commit; one large poll, as after one slow fdatasync, is committed at once). The wait doubles, up
// to `max`, once the messages that arrive during waits have kept coming at min_messages per
// `first` (96,000 a second by default) or faster for twice the longer wait, and halves after a
// wait when they did not (below `first`, the policy stops). The climb is for a backlog: when the
// machine stalls for tens of milliseconds at 50,000 msg/s, the broker then drains it at its full
// rate for a few milliseconds, which looks like load; doubling at every fast wait took the waits
// to 5 ms then. The step down is for the short lulls of a burst, which a reset to nothing made
// climb again from the start (P3 2.0 -> 2.8 µs). Load that lasts reaches the longest wait within
// ~30 ms.
// (Tried: a 2 ms wait decided by the arrival rate alone; the rare waits at 50,000 msg/s tripled
// P4's p99.)
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace sp {

struct LingerOptions {
  // 48 per 500 µs: 96,000 msg/s. With 32 (64,000) the broker's bursts at 50,000 msg/s counted as
  // load in a noisy spell: 276 and 569 lingered commits a 10 s round of P4 against 53 and 2.
  size_t min_messages = 48;
  std::chrono::microseconds first{500};
  std::chrono::microseconds max{5000};
};

class LingerPolicy {
 public:
  explicit LingerPolicy(LingerOptions options = {}) : options_(options) {}

  //! How long to wait before committing a poll that brought `polled` messages; 0: at once.
  std::chrono::microseconds OnPoll(size_t polled) {
    const bool busy = polled >= options_.min_messages;
    if (std::exchange(busy_, busy) && busy && linger_.count() == 0) linger_ = options_.first;
    if (polled == 0) {
      linger_ = {};
      sustained_us_ = 0;
    }
    return linger_;
  }

  //! After a wait of `waited_us`, `arrived` more messages came.
  void OnLingered(size_t arrived, int64_t waited_us) {
    waited_us = std::max<int64_t>(waited_us, 1);
    const bool sustained = static_cast<double>(arrived) * static_cast<double>(options_.first.count()) >=
                           static_cast<double>(options_.min_messages) * static_cast<double>(waited_us);
    if (!sustained) {
      // One step down, not back to nothing: a burst has short lulls, and climbing back costs time.
      linger_ /= 2;
      if (linger_ < options_.first) {
        linger_ = {};
        busy_ = false;  // two busy polls again before the next wait
      }
      sustained_us_ = 0;
      return;
    }
    sustained_us_ += waited_us;
    if (const auto longer = std::min(linger_ * 2, options_.max); sustained_us_ >= 2 * longer.count()) {
      linger_ = longer;
      sustained_us_ = 0;
    }
  }

 private:
  LingerOptions options_;
  bool busy_ = false;                   // the last poll brought min_messages or more
  std::chrono::microseconds linger_{};  // the wait now; 0: not lingering
  int64_t sustained_us_ = 0;            // time waited at this wait, the rate high throughout
};

}  // namespace sp
