// The rollup stage, in place of the hourly aggregations the search index computed for Kibana and
// QuickSight: per-device aggregates (count, sum, min, max of every metric; for the angles, the sums
// of the circular mean and the arc) per minute and per hour, kept in memory. Its own consumer of
// the readings stream feeds it (feeder.h), so a reading counts in a dashboard panel as soon as it is
// in the log, not after the next delivery; at start it is rebuilt from the lake plus the log records
// the lake does not hold yet. A panel's answer is a walk over a few hundred buckets instead of a
// scan of the lake (BENCHMARKS.md, P11).
//
// Each tier keeps the buckets of a window of event time behind the newest reading (minutes: a day,
// hours: a year, by default); older parts of a range and buckets finer than a minute are read from the lake
// (series.h). A record's (device, seq, ts) is remembered for the last kDedupWindow records, so a
// redelivery after a reconnect or crash counts once, as in the lake's `readings` view.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/angle.h"
#include "common/reading_columns.h"
#include "rollup/recent_keys.h"

namespace sp {

// A bucket keeps the metrics (common/reading_columns.h) that are not angles, then the angles.
inline constexpr size_t kLinearCount = static_cast<size_t>(std::ranges::find_if(kMetrics, IsAngle) - kMetrics.begin());
inline constexpr size_t kAngleCount = kMetricCount - kLinearCount;
static_assert(std::all_of(kMetrics.begin() + kLinearCount, kMetrics.end(), IsAngle), "the angles come last");

//! Aggregates of one metric over a bucket. Mergeable: buckets add up to coarser ones.
struct MetricAgg {
  uint32_t count = 0;
  double sum = 0, min = 0, max = 0;
  void Add(double v);
  void Merge(const MetricAgg& o);
};

//! One device's aggregates over [start_s, start_s + width): 272 bytes (200 before the angles kept
//! their sines, cosines and arcs), the most of the rollup's memory.
struct Bucket {
  int64_t start_s = 0;                       // UTC epoch seconds
  std::array<MetricAgg, kLinearCount> m;     // temperature, humidity, pressure
  std::array<AngleAgg, kAngleCount> angles;  // pitch, roll, yaw
};
static_assert(sizeof(Bucket) <= 272, "the README's memory figures assume it");

//! A reading as the rollup needs it.
struct RollupReading {
  std::string device;
  int64_t ts_us = 0;
  int64_t received_us = 0;
  std::optional<int64_t> seq;
  std::array<std::optional<double>, kMetricCount> values;
};

//! What /api/devices reports of one device.
struct DeviceInfo {
  std::string device;
  int64_t first_us = 0, last_us = 0, last_received_us = 0;
  uint64_t readings = 0;
  double interval_s = 0;  // median of the last gaps in event time; 0 when unknown
  // Initialized, so that designated initializers may leave it out (-Wmissing-field-initializers).
  std::array<std::optional<double>, kMetricCount> last_values = {};
};

//! What arrived since some point, for live dashboards.
struct RollupChange {
  uint64_t generation = 0;  // increases with every batch taken in
  std::set<std::string> devices;
  int64_t last_us = 0;  // newest event time among them
  uint64_t count = 0;
};

class Rollup {
 public:
  enum class Tier { kMinute, kHour };
  struct Options {
    int64_t minute_window_s = 24 * 3600;
    int64_t hour_window_s = 400 * 86400;
  };
  static constexpr size_t kDedupWindow = 131072;  // above MQTT's largest receive maximum (65535)
  static constexpr size_t kIntervalGaps = 64;

  explicit Rollup(Options options);

  //! Takes in readings (one poll's batch) and wakes WaitForChange; returns how many of them it
  //! had seen already (redeliveries, counted once). Thread-safe.
  uint64_t Add(const std::vector<RollupReading>& readings);

  //! Rebuild from the lake: replaces the state with the given tiers and devices, whose rows the
  //! lake already deduplicated; recent_keys (oldest first) seed the dedup window.
  struct Snapshot {
    std::map<std::string, std::vector<Bucket>> minutes, hours;  // sorted by start_s
    std::map<std::string, DeviceInfo> devices;
    std::map<std::string, std::vector<int64_t>> recent_ts_us;   // per device, ascending: interval
    std::vector<RollupReading> recent_keys;                     // device, ts_us, seq only
    int64_t newest_us = INT64_MIN;  // INT64_MIN: the lake holds no reading
  };
  void Load(Snapshot snapshot);

  //! Calls fn(device, buckets) for each device (all when devices is empty, in name order) with
  //! its buckets of tier starting in [from_s, to_s), sorted. False, calling nothing, when the tier
  //! does not cover from_s (its window moved past it): the lake must answer.
  template <typename Fn>
  bool Visit(Tier tier, const std::vector<std::string>& devices, int64_t from_s, int64_t to_s, Fn&& fn) const;

  std::vector<DeviceInfo> Devices() const;
  //! Event time from which the tier holds every bucket: INT64_MAX before Load, INT64_MIN until
  //! the window moved.
  int64_t CoveredFrom(Tier tier) const;
  size_t BucketCount(Tier tier) const;

  //! Waits until a batch newer than `after` arrived, or timeout; returns what arrived after
  //! `after` merged (generation unchanged when nothing did).
  RollupChange WaitForChange(uint64_t after, std::chrono::milliseconds timeout) const;
  uint64_t generation() const;

 private:
  struct DeviceState {
    std::vector<Bucket> minutes, hours;
    DeviceInfo info;
    std::deque<int64_t> gaps_us;  // the last kIntervalGaps gaps in event time, microseconds
    uint64_t added_in = 0;        // the last Add call that touched it (a device enters a change once)
  };
  // A device name with its hash, computed once per reading for both the dedup key and by_name_.
  struct Name {
    explicit Name(std::string_view text) : text(text), hash(std::hash<std::string_view>{}(text)) {}
    Name(std::string_view text, size_t hash) : text(text), hash(hash) {}
    bool operator==(const Name& other) const { return text == other.text; }
    std::string_view text;
    size_t hash;
  };
  struct NameHash {
    size_t operator()(const Name& n) const { return n.hash; }
  };
  bool Remember(const RollupReading& r, const Name& device);  // false for a duplicate
  DeviceState& Device(const Name& name);                      // added when new
  void AddToTier(std::vector<Bucket>& tier, int64_t width_s, const RollupReading& r);
  void Evict();
  static double Median(const std::deque<int64_t>& v);

  const Options options_;
  mutable std::shared_mutex mu_;
  std::map<std::string, DeviceState> devices_;
  // The same devices by hash, pointing into devices_ (whose nodes never move): finding a reading's
  // device in the map cost a string comparison per level of its tree, a third of Add.
  std::unordered_map<Name, DeviceState*, NameHash> by_name_;
  uint64_t adds_ = 0;  // Add calls so far
  int64_t newest_us_ = INT64_MIN;
  // A tier answers for event times from here on; nothing until Load (INT64_MAX).
  int64_t minute_from_s_ = INT64_MAX, hour_from_s_ = INT64_MAX;
  RecentKeys recent_{kDedupWindow};  // the dedup window

  mutable std::mutex change_mu_;
  mutable std::condition_variable change_cv_;
  std::deque<RollupChange> changes_;  // the last few batches, oldest first
  uint64_t generation_ = 0;
};

template <typename Fn>
bool Rollup::Visit(Tier tier, const std::vector<std::string>& devices, int64_t from_s, int64_t to_s, Fn&& fn) const {
  std::shared_lock lock(mu_);
  if (from_s < (tier == Tier::kMinute ? minute_from_s_ : hour_from_s_)) return false;
  auto visit = [&](const std::string& name, const DeviceState& d) {
    const std::vector<Bucket>& b = tier == Tier::kMinute ? d.minutes : d.hours;
    auto lo = std::lower_bound(b.begin(), b.end(), from_s, [](const Bucket& x, int64_t t) { return x.start_s < t; });
    auto hi = std::lower_bound(lo, b.end(), to_s, [](const Bucket& x, int64_t t) { return x.start_s < t; });
    fn(name, std::span<const Bucket>(lo, hi));
  };
  if (devices.empty()) {
    for (const auto& [name, d] : devices_) visit(name, d);
  } else {
    for (const std::string& name : devices) {
      if (auto it = devices_.find(name); it != devices_.end()) visit(name, it->second);
    }
  }
  return true;
}

}  // namespace sp
