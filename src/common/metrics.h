// Metrics: counters and gauges every stage registers once and updates lock-free on the hot path,
// rendered in the Prometheus text format (with HELP and TYPE lines) for /metrics.
// Registration takes a lock and returns a pointer that stays valid for the registry's life;
// registering the same name and labels twice returns the same object.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sp {

//! Label pairs in the order given, e.g. {{"reason", "malformed_json"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Metrics {
 public:
  //! Samples of a gauge computed when scraped (such as consumer lag): labels and value.
  using GaugeFn = std::function<std::vector<std::pair<Labels, double>>()>;

  Counter* GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  //! Registers a gauge family whose samples fn returns at scrape time; fn must stay callable
  //! until RemoveCallback(name) or the registry's end.
  void SetGaugeCallback(const std::string& name, const std::string& help, GaugeFn fn);
  void RemoveCallback(const std::string& name);

  //! The Prometheus text exposition format, version 0.0.4.
  std::string RenderPrometheus() const;
  //! The value of a counter, or 0 when absent (for tests and summaries).
  uint64_t CounterValue(const std::string& name, const Labels& labels = {}) const;

 private:
  struct Family {
    std::string help;
    std::string type;  // "counter" or "gauge"
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    GaugeFn fn;
  };
  Family& FamilyFor(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace sp
