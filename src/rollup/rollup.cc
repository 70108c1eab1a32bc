#include "rollup/rollup.h"

#include <algorithm>
#include <utility>

#include "common/time.h"

namespace sp {

namespace {

// splitmix64's finaliser: spreads the key's bits so the set's buckets stay even.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The dedup key (device, seq, ts) in 64 bits. Two different records collide with a chance of
// about 2^-47 within the window; the lake's `readings` stays exact regardless.
uint64_t KeyHash(const RollupReading& r, size_t device_hash) {
  uint64_t h = device_hash;
  h = Mix(h ^ static_cast<uint64_t>(r.ts_us));
  // A reading without seq is keyed by (device, NULL, ts), as the lake's window groups NULLs.
  return Mix(h ^ (r.seq ? static_cast<uint64_t>(*r.seq) * 2 + 1 : 0));
}

constexpr size_t kKeptChanges = 256;

}  // namespace

void MetricAgg::Add(double v) {
  if (count == 0) {
    min = max = v;
  } else {
    min = std::min(min, v);
    max = std::max(max, v);
  }
  ++count;
  sum += v;
}

void MetricAgg::Merge(const MetricAgg& o) {
  if (o.count == 0) return;
  if (count == 0) {
    *this = o;
    return;
  }
  count += o.count;
  sum += o.sum;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
}

Rollup::Rollup(Options options) : options_(options) {}

bool Rollup::Remember(const RollupReading& r, const Name& device) {
  return recent_.Insert(KeyHash(r, device.hash));
}

Rollup::DeviceState& Rollup::Device(const Name& name) {
  if (auto it = by_name_.find(name); it != by_name_.end()) return *it->second;
  auto [at, added] = devices_.try_emplace(std::string(name.text));
  by_name_.emplace(Name(at->first, name.hash), &at->second);
  return at->second;
}

void Rollup::AddToTier(std::vector<Bucket>& tier, int64_t width_s, const RollupReading& r) {
  const int64_t start = FloorDiv(r.ts_us, width_s * 1'000'000) * width_s;
  if (start < (width_s == 60 ? minute_from_s_ : hour_from_s_)) return;  // older than the window: the lake has it
  Bucket* b;
  if (!tier.empty() && tier.back().start_s == start) {
    b = &tier.back();  // in-order data: the newest bucket
  } else {
    auto it = std::lower_bound(tier.begin(), tier.end(), start, [](const Bucket& x, int64_t t) { return x.start_s < t; });
    if (it == tier.end() || it->start_s != start) {
      it = tier.insert(it, Bucket{});
      it->start_s = start;
    }
    b = &*it;
  }
  for (size_t i = 0; i < kLinearCount; ++i) {
    if (r.values[i]) b->m[i].Add(*r.values[i]);
  }
  for (size_t i = 0; i < kAngleCount; ++i) {
    if (r.values[kLinearCount + i]) b->angles[i].Add(*r.values[kLinearCount + i]);
  }
}

void Rollup::Evict() {
  // Windows are whole hours behind the newest reading, so "the last 24 hours" asked a little
  // after the newest reading still falls inside the minute tier.
  if (newest_us_ == INT64_MIN) return;
  const int64_t newest_s = FloorDiv(newest_us_, 1'000'000);
  const int64_t minute_from = FloorDiv(newest_s - options_.minute_window_s, 3600) * 3600;
  const int64_t hour_from = FloorDiv(newest_s - options_.hour_window_s, 3600) * 3600;
  if (minute_from <= minute_from_s_ && hour_from <= hour_from_s_) return;
  minute_from_s_ = std::max(minute_from_s_, minute_from);
  hour_from_s_ = std::max(hour_from_s_, hour_from);
  for (auto& [name, d] : devices_) {
    auto drop = [](std::vector<Bucket>& v, int64_t from) {
      auto it = std::lower_bound(v.begin(), v.end(), from, [](const Bucket& x, int64_t t) { return x.start_s < t; });
      v.erase(v.begin(), it);
    };
    drop(d.minutes, minute_from_s_);
    drop(d.hours, hour_from_s_);
  }
}

uint64_t Rollup::Add(const std::vector<RollupReading>& readings) {
  RollupChange change;
  uint64_t duplicates = 0;
  {
    std::unique_lock lock(mu_);
    const uint64_t add = ++adds_;
    for (const RollupReading& r : readings) {
      const Name device(r.device);
      if (!Remember(r, device)) {
        ++duplicates;
        continue;
      }
      DeviceState& d = Device(device);
      DeviceInfo& info = d.info;
      if (info.readings == 0) {
        info.device = r.device;
        info.first_us = info.last_us = r.ts_us;
        info.last_values = r.values;
      } else if (r.ts_us >= info.last_us) {
        if (r.ts_us > info.last_us) {
          d.gaps_us.push_back(r.ts_us - info.last_us);
          if (d.gaps_us.size() > kIntervalGaps) d.gaps_us.pop_front();
        }
        info.last_us = r.ts_us;
        info.last_values = r.values;
      }
      info.first_us = std::min(info.first_us, r.ts_us);
      info.last_received_us = std::max(info.last_received_us, r.received_us);
      ++info.readings;
      if (r.ts_us > newest_us_) {
        newest_us_ = r.ts_us;
        Evict();
      }
      AddToTier(d.minutes, 60, r);
      AddToTier(d.hours, 3600, r);
      if (std::exchange(d.added_in, add) != add) change.devices.insert(r.device);
      change.last_us = std::max(change.last_us, r.ts_us);
      ++change.count;
    }
  }
  if (change.count == 0) return duplicates;
  {
    std::lock_guard lock(change_mu_);
    change.generation = ++generation_;
    changes_.push_back(std::move(change));
    if (changes_.size() > kKeptChanges) changes_.pop_front();
  }
  change_cv_.notify_all();
  return duplicates;
}

void Rollup::Load(Snapshot s) {
  {
    std::unique_lock lock(mu_);
    devices_.clear();
    by_name_.clear();
    recent_.Clear();
    newest_us_ = s.newest_us;
    minute_from_s_ = hour_from_s_ = INT64_MIN;
    Evict();
    for (auto& [name, info] : s.devices) {
      DeviceState& d = Device(Name(name));
      d.info = std::move(info);
      d.minutes = std::move(s.minutes[name]);
      d.hours = std::move(s.hours[name]);
      const std::vector<int64_t>& ts = s.recent_ts_us[name];
      for (size_t i = 1; i < ts.size(); ++i) {
        if (ts[i] > ts[i - 1]) d.gaps_us.push_back(ts[i] - ts[i - 1]);
      }
      while (d.gaps_us.size() > kIntervalGaps) d.gaps_us.pop_front();
    }
    for (const RollupReading& r : s.recent_keys) Remember(r, Name(r.device));
  }
  {
    std::lock_guard lock(change_mu_);
    ++generation_;
    changes_.push_back(RollupChange{generation_, {}, s.newest_us, 0});
  }
  change_cv_.notify_all();
}

double Rollup::Median(const std::deque<int64_t>& v) {
  if (v.empty()) return 0;
  std::vector<int64_t> sorted(v.begin(), v.end());
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  return static_cast<double>(sorted[sorted.size() / 2]);
}

std::vector<DeviceInfo> Rollup::Devices() const {
  std::shared_lock lock(mu_);
  std::vector<DeviceInfo> out;
  for (const auto& [name, d] : devices_) {
    // The interval is derived here, not per reading: a median per reading would be on the feeder's path.
    out.push_back(d.info);
    out.back().interval_s = Median(d.gaps_us) / 1e6;
  }
  return out;
}

int64_t Rollup::CoveredFrom(Tier tier) const {
  std::shared_lock lock(mu_);
  return tier == Tier::kMinute ? minute_from_s_ : hour_from_s_;
}

size_t Rollup::BucketCount(Tier tier) const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [name, d] : devices_) n += tier == Tier::kMinute ? d.minutes.size() : d.hours.size();
  return n;
}

uint64_t Rollup::generation() const {
  std::lock_guard lock(change_mu_);
  return generation_;
}

RollupChange Rollup::WaitForChange(uint64_t after, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(change_mu_);
  change_cv_.wait_for(lock, timeout, [&] { return generation_ > after; });
  RollupChange out;
  out.generation = std::max(after, generation_);
  for (const RollupChange& c : changes_) {
    if (c.generation <= after) continue;
    out.devices.insert(c.devices.begin(), c.devices.end());
    out.last_us = std::max(out.last_us, c.last_us);
    out.count += c.count;
  }
  return out;
}

}  // namespace sp
