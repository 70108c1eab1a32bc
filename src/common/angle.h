// Circular statistics of angles in degrees (pitch, roll, yaw: [0, 360), where 359.5 and 0.5 are one
// degree apart). Everything that aggregates such angles (the rollup, /api/series read from the lake,
// the report) goes through AngleAgg, so they agree: the mean is the circular mean, and min and max
// are the two ends of the smallest arc holding the values (a min of 358 with a max of 2 is a 4-degree
// arc through 0). AngleAgg is mergeable and order-independent (sums, minima and maxima only), so
// minute buckets fold into hours and days with the same answer as over the readings themselves.
// docs/api.md ("Angles") states the rules for users.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <optional>
#include <string>

namespace sp {

//! An angle in [0, 360): 360 is 0, -1 is 359, 725 is 5.
inline double NormalizeDegrees(double degrees) {
  double n = std::fmod(degrees, 360.0);  // exact, and keeps the sign of degrees
  if (n < 0) n += 360.0;
  return n >= 360.0 ? 0.0 : n;  // -1e-20 + 360 rounds to 360
}

//! NormalizeDegrees as DuckDB SQL over an expression, to the same bit (fmod is exact; the one
//! addition rounds the same way in both): the lake's aggregates and the rollup's must agree.
inline std::string NormalizeDegreesSql(const std::string& expr) {
  const std::string f = "fmod(" + expr + ", 360.0)";
  const std::string n = "(CASE WHEN " + f + " < 0 THEN " + f + " + 360.0 ELSE " + f + " END)";
  return "(CASE WHEN " + n + " >= 360.0 THEN 0.0 ELSE " + n + " END)";
}

//! An angle normalised to [0, 360) in the frame cut at 180 degrees: [-180, 180). Exact (Sterbenz:
//! n - 360 for n in [180, 360)).
inline double HalfTurnFrame(double normalized) {
  return normalized >= 180.0 ? normalized - 360.0 : normalized;
}
//! HalfTurnFrame as SQL over a normalised expression.
inline std::string HalfTurnFrameSql(const std::string& normalized) {
  return "(CASE WHEN " + normalized + " >= 180.0 THEN " + normalized + " - 360.0 ELSE " + normalized + " END)";
}

//! An arc of the circle from start going up (anticlockwise) to end, both in [0, 360); start > end
//! when the arc crosses 0 (358 to 2).
struct Arc {
  double start = 0, end = 0;
  //! Its length in degrees, [0, 360).
  double Length() const { return NormalizeDegrees(end - start); }
};

//! Below this mean resultant length (|mean of the unit vectors|) the values have no mean direction:
//! they cancel out (90 and 270; 0, 120 and 240) up to rounding. The threshold is far above the
//! rounding of a million summed unit vectors (~1e-10) and far below any real sensor's spread
//! (uniform noise over the whole circle still leaves about 1/sqrt(n)).
inline constexpr double kMinMeanResultant = 1e-6;

//! Aggregates of angles over a bucket: count, the sums of the unit vectors (the circular mean) and
//! the extremes in two frames, cut at 0 ([0, 360)) and at 180 ([-180, 180)) degrees, whose shorter
//! span is the arc. That arc is the smallest holding all values whenever that one is shorter than
//! 180 degrees (the largest gap between values then holds 0 or 180, where one frame is cut); values
//! spread over half the circle or more get the shorter of the two arcs, which still holds them all.
struct AngleAgg {
  uint32_t count = 0;
  double sum_sin = 0, sum_cos = 0;
  std::array<double, 2> lo = {0, 0}, hi = {0, 0};  // [0]: the frame cut at 0, [1]: cut at 180

  //! Takes in one angle in degrees (any finite value; normalised first).
  void Add(double degrees) {
    const double n = NormalizeDegrees(degrees);
    const double h = HalfTurnFrame(n);
    if (count == 0) {
      lo = {n, h};
      hi = {n, h};
    } else {
      lo = {std::min(lo[0], n), std::min(lo[1], h)};
      hi = {std::max(hi[0], n), std::max(hi[1], h)};
    }
    ++count;
    const double radians = n * (std::numbers::pi / 180.0);
    sum_sin += std::sin(radians);
    sum_cos += std::cos(radians);
  }
  //! Adds another bucket's aggregates (exactly: sums, minima and maxima).
  void Merge(const AngleAgg& o) {
    if (o.count == 0) return;
    if (count == 0) {
      *this = o;
      return;
    }
    count += o.count;
    sum_sin += o.sum_sin;
    sum_cos += o.sum_cos;
    for (size_t f = 0; f < 2; ++f) {
      lo[f] = std::min(lo[f], o.lo[f]);
      hi[f] = std::max(hi[f], o.hi[f]);
    }
  }
  //! The circular mean in [0, 360): atan2 of the mean sine and cosine. None when count is 0 or the
  //! values cancel out (kMinMeanResultant).
  std::optional<double> Mean() const {
    if (count == 0 || std::hypot(sum_sin, sum_cos) < kMinMeanResultant * count) return std::nullopt;
    return NormalizeDegrees(std::atan2(sum_sin, sum_cos) * (180.0 / std::numbers::pi));
  }
  //! The arc holding every value (count > 0): the shorter of the two frames' spans, the frame cut
  //! at 0 on a tie. Its ends are values that were added, to the bit.
  Arc Range() const {
    if (hi[1] - lo[1] < hi[0] - lo[0]) return {NormalizeDegrees(lo[1]), NormalizeDegrees(hi[1])};
    return {lo[0], hi[0]};
  }
};

}  // namespace sp
