// The trend of one metric: a continuous piecewise-linear fit of bucket medians whose knots are
// chosen by forward selection and backward pruning under BIC (the one-variable case of Friedman's
// MARS, 1991), then split into rising, falling and steady phases. docs/report.md explains the choices.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "common/time.h"
#include "report/report.h"

namespace sp {

namespace {

constexpr int64_t kMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMaxBuckets = 200;
// Phases shorter than this are not phases to a reader of hourly tables: they show up as extremes.
constexpr int64_t kMinPhase = kMicrosPerHour;
// A slope from fewer buckets than this is mostly noise.
constexpr int64_t kMinBucketsPerPhase = 6;

double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double Median(std::vector<double>& v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  return (*std::max_element(v.begin(), v.begin() + mid) + upper) / 2;
}

// Columns kept orthonormal by modified Gram-Schmidt run twice ("twice is enough": one pass loses
// orthogonality when hinges at neighbouring knots are nearly parallel).
class OrthoBasis {
 public:
  // Removes the basis' span from v, recording the coefficients in r when given; returns |v|^2.
  double Reduce(std::vector<double>& v, std::vector<double>* r = nullptr) const {
    if (r != nullptr) r->assign(q_.size(), 0);
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t j = 0; j < q_.size(); ++j) {
        const double d = Dot(q_[j], v);
        for (size_t i = 0; i < v.size(); ++i) v[i] -= d * q_[j][i];
        if (r != nullptr) (*r)[j] += d;
      }
    }
    return Dot(v, v);
  }
  // Adds v's direction; false (nothing added) when v is, numerically, in the span already.
  bool Add(std::vector<double> v, std::vector<double>* r = nullptr) {
    const double before = Dot(v, v);
    const double after = Reduce(v, r);
    if (!(after > 1e-10 * before) || after <= 0) return false;
    const double norm = std::sqrt(after);
    for (double& x : v) x /= norm;
    if (r != nullptr) r->push_back(norm);
    q_.push_back(std::move(v));
    return true;
  }
  const std::vector<std::vector<double>>& q() const { return q_; }

 private:
  std::vector<std::vector<double>> q_;
};

std::vector<double> Hinge(const std::vector<double>& t, double knot) {
  std::vector<double> h(t.size());
  for (size_t i = 0; i < t.size(); ++i) h[i] = std::max(0.0, t[i] - knot);
  return h;
}

// f(t) = coef[0] + coef[1] t + sum_k coef[2 + k] max(0, t - knots[k]).
struct HingeFit {
  bool ok = false;
  double rss = 0;
  std::vector<double> coef;
};

HingeFit FitHinges(const std::vector<double>& t, const std::vector<double>& y, const std::vector<double>& knots) {
  std::vector<std::vector<double>> columns;
  columns.emplace_back(t.size(), 1.0);
  columns.push_back(t);
  for (double k : knots) columns.push_back(Hinge(t, k));
  OrthoBasis basis;
  std::vector<std::vector<double>> r;  // column j of R
  for (auto& c : columns) {
    std::vector<double> rj;
    if (!basis.Add(c, &rj)) return {};
    r.push_back(std::move(rj));
  }
  const size_t p = columns.size();
  std::vector<double> qty(p);
  for (size_t j = 0; j < p; ++j) qty[j] = Dot(basis.q()[j], y);
  HingeFit fit;
  fit.coef.assign(p, 0);
  for (size_t j = p; j-- > 0;) {  // back substitution, R upper triangular
    double s = qty[j];
    for (size_t k = j + 1; k < p; ++k) s -= r[k][j] * fit.coef[k];
    fit.coef[j] = s / r[j][j];
  }
  for (size_t i = 0; i < t.size(); ++i) {
    double f = fit.coef[0] + fit.coef[1] * t[i];
    for (size_t k = 0; k < knots.size(); ++k) f += fit.coef[2 + k] * std::max(0.0, t[i] - knots[k]);
    fit.rss += (y[i] - f) * (y[i] - f);
  }
  fit.ok = true;
  return fit;
}

// Forward: add, one at a time, the knot that lowers the residual most, keeping knots min_gap
// apart and from the ends, until none fits or max_knots. Candidates are the midpoints between
// neighbouring buckets.
std::vector<double> ForwardKnots(const std::vector<double>& t, const std::vector<double>& y, double lo, double hi,
                                 double min_gap, size_t max_knots) {
  OrthoBasis basis;
  basis.Add(std::vector<double>(t.size(), 1.0));
  basis.Add(t);
  std::vector<double> residual = y;
  basis.Reduce(residual);
  std::vector<double> knots;
  constexpr double kSlack = 1e-9;  // hours: a knot exactly min_gap away is allowed
  while (knots.size() < max_knots) {
    double best_gain = 0, best_knot = 0;
    bool found = false;
    for (size_t i = 0; i + 1 < t.size(); ++i) {
      const double c = (t[i] + t[i + 1]) / 2;
      if (c - lo < min_gap - kSlack || hi - c < min_gap - kSlack) continue;
      bool near = false;
      for (double k : knots) near = near || std::abs(c - k) < min_gap - kSlack;
      if (near) continue;
      std::vector<double> h = Hinge(t, c);
      const double before = Dot(h, h);
      const double norm2 = basis.Reduce(h);
      if (!(norm2 > 1e-10 * before)) continue;
      const double gain = Dot(residual, h) * Dot(residual, h) / norm2;
      if (!found || gain > best_gain) {
        found = true;
        best_gain = gain;
        best_knot = c;
      }
    }
    if (!found || !basis.Add(Hinge(t, best_knot))) break;
    knots.push_back(best_knot);
    residual = y;
    basis.Reduce(residual);
  }
  std::sort(knots.begin(), knots.end());
  return knots;
}

// Backward: drop, one at a time, the knot whose removal raises the residual least; of the models
// on the way (all knots down to none) keep the one with the lowest BIC,
//   n ln(RSS / n) + params_per_knot * K * ln n.
// The unknown-variance form, so the penalty scales with whatever the fit cannot explain: the
// measurement noise for smooth data, and also sub-phase wiggles for data like the seed's, whose
// values step once an hour.
std::vector<double> PruneKnots(const std::vector<double>& t, const std::vector<double>& y, std::vector<double> knots,
                               double params_per_knot) {
  const double n = static_cast<double>(t.size());
  double mean = 0;
  for (double v : y) mean += v / n;
  double tss = 0;
  for (double v : y) tss += (v - mean) * (v - mean);
  // A perfect fit would make ln(RSS) -inf; below this floor, residuals are rounding.
  const double floor = 1e-12 * tss + std::numeric_limits<double>::min();
  auto bic = [&](double rss, size_t k) {
    return n * std::log(std::max(rss, floor) / n) + params_per_knot * static_cast<double>(k) * std::log(n);
  };
  HingeFit full = FitHinges(t, y, knots);
  while (!full.ok && !knots.empty()) {  // numerically degenerate: drop the last added
    knots.pop_back();
    full = FitHinges(t, y, knots);
  }
  std::vector<double> best = knots;
  double best_bic = bic(full.rss, knots.size());
  while (!knots.empty()) {
    size_t drop = 0;
    double drop_rss = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < knots.size(); ++i) {
      std::vector<double> fewer = knots;
      fewer.erase(fewer.begin() + static_cast<ptrdiff_t>(i));
      const HingeFit f = FitHinges(t, y, fewer);
      if (f.ok && f.rss < drop_rss) {
        drop_rss = f.rss;
        drop = i;
      }
    }
    if (!std::isfinite(drop_rss)) break;
    knots.erase(knots.begin() + static_cast<ptrdiff_t>(drop));
    const double b = bic(drop_rss, knots.size());
    if (b <= best_bic) {  // ties go to the simpler model
      best_bic = b;
      best = knots;
    }
  }
  return best;
}

}  // namespace

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kRising:
      return "rising";
    case Direction::kFalling:
      return "falling";
    case Direction::kSteady:
      return "steady";
  }
  return "steady";
}

double Trend::At(int64_t ts_us) const {
  if (boundaries.empty()) return NAN;
  if (boundaries.size() == 1) return boundary_value[0];
  size_t i = 0;
  while (i + 2 < boundaries.size() && ts_us >= boundaries[i + 1]) ++i;
  const double span = static_cast<double>(boundaries[i + 1] - boundaries[i]);
  const double w = static_cast<double>(ts_us - boundaries[i]) / span;
  return boundary_value[i] + w * (boundary_value[i + 1] - boundary_value[i]);
}

int64_t TrendBucketFor(int64_t span_us) {
  static constexpr int64_t kChoices[] = {
      5 * kMinute,        10 * kMinute,       15 * kMinute,       30 * kMinute,        kMicrosPerHour,
      2 * kMicrosPerHour, 3 * kMicrosPerHour, 6 * kMicrosPerHour, 12 * kMicrosPerHour, 24 * kMicrosPerHour};
  for (int64_t b : kChoices) {
    if ((span_us + b - 1) / b <= kMaxBuckets) return b;
  }
  return kChoices[std::size(kChoices) - 1];
}

Trend FindTrend(std::vector<Sample> samples, const TrendOptions& options) {
  Trend trend;
  samples.erase(std::remove_if(samples.begin(), samples.end(), [](const Sample& s) { return !std::isfinite(s.value); }),
                samples.end());
  if (samples.empty()) return trend;
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.ts_us < b.ts_us; });
  const int64_t span = samples.back().ts_us - samples.front().ts_us + 1;
  trend.bucket_us = options.bucket_us > 0 ? options.bucket_us : TrendBucketFor(span);
  trend.steady_range_fraction = options.steady_range_fraction;
  trend.steady_standard_errors = options.steady_standard_errors;
  const int64_t bucket = trend.bucket_us;
  const int64_t min_phase =
      options.min_phase_us > 0 ? options.min_phase_us : std::max(kMinPhase, kMinBucketsPerPhase * bucket);

  // Medians, not means: one glitching reading (a sensor's 0 or 85 degrees) moves a mean by a
  // thirtieth of its size but leaves a median of thirty alone.
  std::map<int64_t, std::vector<double>> buckets;
  for (const Sample& s : samples) buckets[FloorDiv(s.ts_us, bucket)].push_back(s.value);
  const int64_t lo_us = buckets.begin()->first * bucket;
  const int64_t hi_us = (buckets.rbegin()->first + 1) * bucket;
  std::vector<double> t, y;
  for (auto& [index, values] : buckets) {
    const int64_t centre = index * bucket + bucket / 2;
    trend.bucket_ts.push_back(centre);
    trend.bucket_median.push_back(Median(values));
    t.push_back(static_cast<double>(centre - lo_us) / kMicrosPerHour);  // hours keep the columns well scaled
    y.push_back(trend.bucket_median.back());
  }
  const double hi = static_cast<double>(hi_us - lo_us) / kMicrosPerHour;
  const double min_gap = static_cast<double>(min_phase) / kMicrosPerHour;

  std::vector<double> knots;
  if (t.size() >= 3) {
    const size_t by_length = static_cast<size_t>(std::max(0.0, std::floor(hi / min_gap) - 1));
    knots = ForwardKnots(t, y, 0, hi, min_gap, std::min(by_length, t.size() / 2));
    knots = PruneKnots(t, y, std::move(knots), options.params_per_knot);
  }
  HingeFit fit;
  if (t.size() >= 2) fit = FitHinges(t, y, knots);
  if (!fit.ok) {  // one bucket, or every sample at one instant: a level, no slope
    knots.clear();
    double mean = 0;
    for (double v : y) mean += v / static_cast<double>(y.size());
    fit.coef = {mean, 0};
    fit.rss = 0;
    for (double v : y) fit.rss += (v - mean) * (v - mean);
  }
  auto model = [&](double h) {
    double f = fit.coef[0] + fit.coef[1] * h;
    for (size_t k = 0; k < knots.size(); ++k) f += fit.coef[2 + k] * std::max(0.0, h - knots[k]);
    return f;
  };
  trend.boundaries.push_back(lo_us);
  for (double k : knots) trend.boundaries.push_back(lo_us + std::llround(k * kMicrosPerHour));
  trend.boundaries.push_back(hi_us);
  for (int64_t b : trend.boundaries)
    trend.boundary_value.push_back(model(static_cast<double>(b - lo_us) / kMicrosPerHour));
  const auto [mn, mx] = std::minmax_element(trend.boundary_value.begin(), trend.boundary_value.end());
  trend.range = *mx - *mn;
  const double dof = static_cast<double>(t.size()) - 2 - static_cast<double>(knots.size());
  trend.noise = dof > 0 ? std::sqrt(fit.rss / dof) : 0;

  // The steady rule. A change counts as a movement only if it is both material (a fair share of
  // the trend's range: what a reader sees on a chart scaled to the period) and real (larger than
  // the noise alone would make it: the standard error of a fitted line's change over m equally
  // spaced points is noise * sqrt(12 m / (m^2 - 1))).
  struct Piece {
    size_t from, to;  // boundary indices
    Direction direction;
  };
  auto classify = [&](size_t from, size_t to) {
    const double change = trend.boundary_value[to] - trend.boundary_value[from];
    const auto first = std::lower_bound(trend.bucket_ts.begin(), trend.bucket_ts.end(), trend.boundaries[from]);
    const auto last = std::lower_bound(trend.bucket_ts.begin(), trend.bucket_ts.end(), trend.boundaries[to]);
    const double m = static_cast<double>(last - first);
    const double se = m >= 2 ? trend.noise * std::sqrt(12 * m / (m * m - 1)) : std::numeric_limits<double>::infinity();
    const double threshold = std::max(options.steady_range_fraction * trend.range, options.steady_standard_errors * se);
    if (!(std::abs(change) > threshold)) return Direction::kSteady;
    return change > 0 ? Direction::kRising : Direction::kFalling;
  };
  std::vector<Piece> pieces;
  for (size_t i = 0; i + 1 < trend.boundaries.size(); ++i) pieces.push_back({i, i + 1, classify(i, i + 1)});
  // Neighbours going the same way are one phase; the merged phase is judged again (two steady
  // pieces that both drift up may add up to a rise), until nothing changes.
  for (bool merged = true; merged;) {
    merged = false;
    for (size_t i = 0; i + 1 < pieces.size(); ++i) {
      if (pieces[i].direction != pieces[i + 1].direction) continue;
      pieces[i].to = pieces[i + 1].to;
      pieces[i].direction = classify(pieces[i].from, pieces[i].to);
      pieces.erase(pieces.begin() + static_cast<ptrdiff_t>(i + 1));
      merged = true;
      break;
    }
  }
  for (const Piece& p : pieces) {
    TrendPhase phase;
    phase.start_us = trend.boundaries[p.from];
    phase.end_us = trend.boundaries[p.to];
    phase.direction = p.direction;
    phase.change = trend.boundary_value[p.to] - trend.boundary_value[p.from];
    phase.slope_per_hour = phase.change * kMicrosPerHour / static_cast<double>(phase.end_us - phase.start_us);
    trend.phases.push_back(phase);
  }
  return trend;
}

}  // namespace sp
