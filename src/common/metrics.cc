#include "common/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace sp {

namespace {

void AppendEscaped(std::string& out, const std::string& s) {
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void AppendSample(std::string& out, const std::string& name, const Labels& labels, double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i) out += ',';
      out += labels[i].first;
      out += "=\"";
      AppendEscaped(out, labels[i].second);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  char buf[32];
  // Whole numbers (every counter) print as integers: to_chars would write 1e+06.
  const bool whole = value == static_cast<double>(static_cast<int64_t>(value)) && std::abs(value) < 9.0e15;
  auto res = whole ? std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(value))
                   : std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, res.ptr);
  out += '\n';
}

}  // namespace

Metrics::Family& Metrics::FamilyFor(const std::string& name, const std::string& help, const char* type) {
  Family& f = families_[name];
  if (f.type.empty()) {
    f.help = help;
    f.type = type;
  }
  return f;
}

Counter* Metrics::GetCounter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, "counter").counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* Metrics::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, "gauge").gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

void Metrics::SetGaugeCallback(const std::string& name, const std::string& help, GaugeFn fn) {
  std::lock_guard lock(mu_);
  FamilyFor(name, help, "gauge").fn = std::move(fn);
}

void Metrics::RemoveCallback(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) it->second.fn = nullptr;
}

std::string Metrics::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, c] : f.counters) AppendSample(out, name, labels, static_cast<double>(c->value()));
    for (const auto& [labels, g] : f.gauges) AppendSample(out, name, labels, g->value());
    if (f.fn) {
      for (const auto& [labels, v] : f.fn()) AppendSample(out, name, labels, v);
    }
  }
  return out;
}

uint64_t Metrics::CounterValue(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto c = it->second.counters.find(labels);
  return c == it->second.counters.end() ? 0 : c->second->value();
}

}  // namespace sp
