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
// Waiting lengthens latency (P4, bench/ingest_latency.sh), so it is judged from the arrival rate:
// messages in a poll over the time since the previous poll returned, which is the time they had to
// arrive in (the last commit, and any wait for the first of them). Two polls in a row at
// min_messages per `first` (16,000 a second by default) or faster start a wait of `first`, and it
// lasts while the messages that arrive during the waits keep that rate. Moderate rates need it
// too: at 35,000 QoS 1 messages a second, commits of ~12 messages cost the daemon ~10 µs of CPU a
// message (P2, bench/ingest.sh 1; the fdatasyncs on the ingest thread were three quarters of it),
// and 500 µs waits took it to 4-6 µs and P2 from ~35,000 to 40,000-50,000 msg/s, on two cores
// shared with the broker. Below climb_messages per `first` (96,000 a second) the wait stays at
// `first`, so it adds at most that to a message's latency. Faster than that, it doubles up to
// `max` once the rate has held for twice the longer wait, and halves after a wait when it did not.
// The climb is for a backlog: when the machine stalls for tens of milliseconds at 50,000 msg/s,
// the broker then drains it at its full rate for a few milliseconds, which looks like load;
// doubling at every fast wait took the waits to 5 ms then. The step down is for the short lulls
// of a burst, which a reset to nothing made climb again from the start (P3 2.0 -> 2.8 µs). Load
// that lasts reaches the longest wait within ~30 ms.
// (Tried: a 2 ms wait decided by the arrival rate alone; the rare waits at 50,000 msg/s tripled
// P4's p99. A first wait of 250 µs with the same rates: P2's fdatasyncs barely fell, as the
// rate in so short a wait often read below the threshold.)
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace sp {

struct LingerOptions {
  size_t min_messages = 8;     // per `first`, to wait at all: 16,000 msg/s
  size_t climb_messages = 48;  // per `first`, to wait longer than `first`: 96,000 msg/s
  std::chrono::microseconds first{500};
  std::chrono::microseconds max{5000};
};

class LingerPolicy {
 public:
  explicit LingerPolicy(LingerOptions options = {}) : options_(options) {}

  //! How long to wait before committing a poll that brought `polled` messages `since_us` after
  //! the previous poll returned; 0: at once.
  std::chrono::microseconds OnPoll(size_t polled, int64_t since_us) {
    if (polled == 0) {
      linger_ = {};
      busy_ = false;
      sustained_us_ = 0;
      return linger_;
    }
    const bool busy = AtLeast(options_.min_messages, polled, since_us);
    if (std::exchange(busy_, busy) && busy && linger_.count() == 0) linger_ = options_.first;
    return linger_;
  }

  //! After a wait of `waited_us`, `arrived` more messages came.
  void OnLingered(size_t arrived, int64_t waited_us) {
    if (!AtLeast(options_.climb_messages, arrived, waited_us)) {
      // One step down, not back to nothing: a burst has short lulls, and climbing back costs time.
      // A moderate rate keeps the shortest wait.
      const bool moderate = AtLeast(options_.min_messages, arrived, waited_us);
      linger_ = std::max(linger_ / 2, moderate ? options_.first : std::chrono::microseconds{});
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
  //! Whether `n` messages in `us` came at `per_first` messages per `first` or faster.
  bool AtLeast(size_t per_first, size_t n, int64_t us) const {
    return static_cast<double>(n) * static_cast<double>(options_.first.count()) >=
           static_cast<double>(per_first) * static_cast<double>(std::max<int64_t>(us, 1));
  }

  LingerOptions options_;
  bool busy_ = false;                   // the last poll came at min_messages per `first` or faster
  std::chrono::microseconds linger_{};  // the wait now; 0: not lingering
  int64_t sustained_us_ = 0;            // time waited at this wait, at climb_messages or faster throughout
};

}  // namespace sp
