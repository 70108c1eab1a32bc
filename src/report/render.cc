#include "report/render.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <optional>

#include "common/angle.h"
#include "common/json_writer.h"
#include "common/time.h"

namespace sp {

namespace {

std::string Printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Printf(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return std::string(buf, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof(buf)) - 1)));
}

std::string Num(double v, int decimals = 2) {
  return std::isfinite(v) ? Printf("%.*f", decimals, v) : "–";
}
// An angle in [0, 360) as shown: 359.9996 rounds to 0.000, not to 360.000.
std::string Degrees(double v, int decimals) {
  if (!std::isfinite(v)) return Num(v);
  const double scale = std::pow(10, decimals);
  return Num(NormalizeDegrees(std::round(v * scale) / scale), decimals);
}
// A metric's value with 3 decimals, an angle as Degrees.
std::string Value(Metric m, double v) {
  return IsAngle(m) ? Degrees(v, 3) : Num(v, 3);
}
std::string Signed(double v, int decimals = 2) {
  return std::isfinite(v) ? Printf("%+.*f", decimals, v) : "–";
}

std::string Capitalized(std::string_view s) {
  std::string out(s);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

// Local times as a reader writes them: "HH:MM" when everything is on one local day (and "24:00"
// for the midnight that ends it), "YYYY-MM-DD HH:MM" otherwise.
class Clockface {
 public:
  Clockface(const LocalZone& zone, int64_t first_us, int64_t last_us) : zone_(zone) {
    const CivilTime a = ToCivil(zone.ToLocal(first_us));
    const CivilTime b = ToCivil(zone.ToLocal(last_us));
    one_day_ = a.year == b.year && a.month == b.month && a.day == b.day;
    if (one_day_) day_start_ = DaysFromCivil(a.year, a.month, a.day);
  }
  std::string Time(int64_t utc_us) const {
    const CivilTime c = ToCivil(zone_.ToLocal(utc_us));
    if (one_day_) {
      if (DaysFromCivil(c.year, c.month, c.day) == day_start_ + 1 && c.hour == 0 && c.minute == 0) return "24:00";
      if (DaysFromCivil(c.year, c.month, c.day) == day_start_) return Printf("%02d:%02d", c.hour, c.minute);
    }
    return Printf("%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour, c.minute);
  }

 private:
  const LocalZone& zone_;
  bool one_day_ = false;
  int64_t day_start_ = 0;
};

std::string FullTime(const LocalZone& zone, int64_t utc_us, bool seconds = false) {
  const CivilTime c = ToCivil(zone.ToLocal(utc_us));
  if (seconds) return Printf("%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour, c.minute, c.second);
  return Printf("%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour, c.minute);
}

std::string BucketText(int64_t bucket_us) {
  const int64_t minutes = bucket_us / (60 * kMicrosPerSecond);
  return minutes < 60 ? Printf("%lld-minute", static_cast<long long>(minutes))
                      : Printf("%lld-hour", static_cast<long long>(minutes / 60));
}

// "Temperature fell from 00:00 to 02:30 (-5.37 °C/h), held steady until 06:05, ... ."
std::string PhaseSentence(const MetricReport& m, const Clockface& clock) {
  const auto& phases = m.trend.phases;
  std::string s = Capitalized(MetricName(m.metric));
  for (size_t i = 0; i < phases.size(); ++i) {
    const TrendPhase& p = phases[i];
    if (i > 0) s += i + 1 == phases.size() ? " and" : ",";
    switch (p.direction) {
      case Direction::kRising:
        s += " rose";
        break;
      case Direction::kFalling:
        s += " fell";
        break;
      case Direction::kSteady:
        s += " held steady";
        break;
    }
    s += i == 0 ? " from " + clock.Time(p.start_us) + " to " : " until ";
    s += clock.Time(p.end_us);
    if (p.direction != Direction::kSteady) {
      s += " (" + Signed(p.slope_per_hour) + " " + std::string(MetricUnit(m.metric)) + "/h)";
    }
  }
  return s + ".";
}

std::string CorrelationSentence(const DeviceReport& d) {
  const Correlation& c = d.temperature_humidity;
  if (!std::isfinite(c.r)) {
    return Printf("Temperature and humidity: no correlation computed (%lld readings hold both, or one is constant).",
                  static_cast<long long>(c.n));
  }
  std::string s = Printf("Temperature and humidity: r = %.3f over %lld readings, a ", c.r, static_cast<long long>(c.n));
  s += CorrelationStrength(c.r);
  if (std::abs(c.r) < 0.3) return s + " correlation.";
  return s + (c.r < 0 ? " negative correlation: humidity falls as temperature rises."
                      : " positive correlation: humidity rises with temperature.");
}

std::string RuleNote(const MetricReport& m) {
  const Trend& t = m.trend;
  const std::string unit(MetricUnit(m.metric));
  return "Trend fitted to " + BucketText(t.bucket_us) + " medians; noise around it " + Num(t.noise) + " " + unit +
         ", its range " + Num(t.range) + " " + unit + ". A phase rises or falls only when its change exceeds both " +
         Num(100 * t.steady_range_fraction, 0) + " % of that range and " + Num(t.steady_standard_errors, 0) +
         " standard errors of the noise; otherwise it is steady.";
}

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

Table PhaseTable(const MetricReport& m, const Clockface& clock) {
  Table t{{"Phase", "Start", "End", "Direction", "Slope per hour", "Change"}, {}};
  const std::string unit(MetricUnit(m.metric));
  int i = 0;
  for (const TrendPhase& p : m.trend.phases) {
    t.rows.push_back({std::to_string(++i), clock.Time(p.start_us), clock.Time(p.end_us),
                      std::string(DirectionName(p.direction)), Signed(p.slope_per_hour) + " " + unit + "/h",
                      Signed(p.change) + " " + unit});
  }
  return t;
}

Table ExtremesTable(const DeviceReport& d, const LocalZone& zone) {
  Table t{{"Metric", "Minimum", "At", "Maximum", "At"}, {}};
  for (const MetricReport& m : d.metrics) {
    const std::string unit(MetricUnit(m.metric));
    t.rows.push_back({Capitalized(MetricName(m.metric)), Value(m.metric, m.min.value) + " " + unit,
                      FullTime(zone, m.min.ts_us, true), Value(m.metric, m.max.value) + " " + unit,
                      FullTime(zone, m.max.ts_us, true)});
  }
  return t;
}

// The hourly table of the linear metrics or of the angles (the two would make one table too wide to
// read); empty when the device sent none of them.
Table HourlyTable(const DeviceReport& d, const LocalZone& zone, bool angles) {
  Table t{{"Hour", "Readings"}, {}};
  std::vector<Metric> metrics;
  for (const MetricReport& m : d.metrics) {
    if (IsAngle(m.metric) != angles) continue;
    metrics.push_back(m.metric);
    const std::string name = Capitalized(MetricName(m.metric)) + " (" + std::string(MetricUnit(m.metric)) + ")";
    t.header.push_back(name + " avg");
    t.header.push_back("min");
    t.header.push_back("max");
  }
  if (metrics.empty()) return {};
  for (const HourlyRow& h : d.hourly) {
    std::vector<std::string> row = {FullTime(zone, h.start_us), std::to_string(h.readings)};
    for (Metric m : metrics) {
      const HourStats& s = h.metrics[static_cast<int>(m)];
      row.push_back(Value(m, s.avg));
      row.push_back(Value(m, s.min));
      row.push_back(Value(m, s.max));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

constexpr const char* kAngleNote =
    "Pitch, roll and yaw are angles: an average is the circular mean (none when the values cancel out, "
    "as 90° and 270° do), a minimum and maximum are the ends of the smallest arc holding the values, "
    "so a minimum of 358° with a maximum of 2° is a 4° arc across 0°.";

std::string Heading(const Report& r, const LocalZone& zone) {
  return "Sensor report: " + FullTime(zone, r.from_us) + " to " + FullTime(zone, r.to_us) + " (" + zone.name() +
         ", UTC" + zone.OffsetText(r.from_us) + ")";
}

std::string DevicesLine(const Report& r) {
  if (r.devices.empty()) return "No readings in this period.";
  return Printf(
      "%zu device%s, each analysed on its own. Written by `sensorpipe report`; the method is in "
      "docs/report.md of sensorpipe.",
      r.devices.size(), r.devices.size() == 1 ? "" : "s");
}

// ---- Markdown ----

std::string MdEscape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '`' || c == '*' || c == '_' || c == '<' || c == '>') out += '\\';
    out += c;
  }
  return out;
}

void MdTable(std::string& out, const Table& t) {
  out += "|";
  for (const auto& h : t.header) out += " " + h + " |";
  out += "\n|";
  for (size_t i = 0; i < t.header.size(); ++i) out += i == 0 ? " --- |" : " ---: |";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const auto& c : row) out += " " + c + " |";
    out += "\n";
  }
  out += "\n";
}

// ---- HTML and SVG ----

void HtmlTable(std::string& out, const Table& t, const char* cls = "") {
  out += std::string("<table class=\"") + cls + "\"><thead><tr>";
  for (const auto& h : t.header) out += "<th>" + XmlEscape(h) + "</th>";
  out += "</tr></thead><tbody>\n";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (const auto& c : row) out += "<td>" + XmlEscape(c) + "</td>";
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
}

// "Markdown" code spans in shared sentences become <code> in HTML.
std::string HtmlSentence(std::string_view s) {
  std::string out;
  bool in_code = false;
  for (char c : s) {
    if (c == '`') {
      out += in_code ? "</code>" : "<code>";
      in_code = !in_code;
      continue;
    }
    out += XmlEscape(std::string_view(&c, 1));
  }
  return out;
}

constexpr double kWidth = 760, kHeight = 240;
constexpr double kLeft = 64, kRight = 12, kTop = 14, kBottom = 30;

struct Axes {
  double x0, x1, y0, y1;  // data domain
  double X(double x) const { return kLeft + (x - x0) / (x1 - x0) * (kWidth - kLeft - kRight); }
  double Y(double y) const { return kHeight - kBottom - (y - y0) / (y1 - y0) * (kHeight - kTop - kBottom); }
};

// Round numbers for a value axis: 1, 2 or 5 times a power of ten, about five ticks.
std::vector<double> NiceTicks(double lo, double hi) {
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push_back(v);
  return ticks;
}

// Local hour marks on the time axis, every 1, 2, 3, 6, 12 or 24 h so that at most 16 show.
std::vector<int64_t> HourTicks(int64_t from_us, int64_t to_us, const LocalZone& zone) {
  int64_t step = kMicrosPerHour;
  for (int64_t h : {1, 2, 3, 6, 12, 24}) {
    step = h * kMicrosPerHour;
    if ((to_us - from_us) / step <= 16) break;
  }
  std::vector<int64_t> ticks;
  // Stepping in UTC hours and keeping those whose local time is a multiple of the step copes with
  // any offset (whole hours, half hours, summer time).
  const int64_t first = from_us - ((from_us % kMicrosPerHour) + kMicrosPerHour) % kMicrosPerHour;
  for (int64_t t = first; t <= to_us; t += kMicrosPerHour / 4) {
    if (t < from_us) continue;
    const int64_t local = zone.ToLocal(t);
    if (((local % step) + step) % step == 0) ticks.push_back(t);
  }
  return ticks;
}

// An angle's chart plots its values unwrapped (MetricReport::origin); its labels are the angles.
void SvgValueAxis(std::string& out, const Axes& a, Metric metric) {
  const std::string_view unit = MetricUnit(metric);
  for (double v : NiceTicks(a.y0, a.y1)) {
    const double y = a.Y(v);
    const int decimals = v == std::round(v) ? 0 : 1;
    out +=
        Printf("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>", kLeft, y, kWidth - kRight, y);
    out += Printf("<text x=\"%.1f\" y=\"%.1f\" class=\"yl\">%s</text>", kLeft - 4, y + 3,
                  (IsAngle(metric) ? Degrees(v, decimals) : Num(v, decimals)).c_str());
  }
  out += Printf("<text x=\"4\" y=\"%.1f\" class=\"unit\">", kTop - 2) + XmlEscape(unit) + "</text>";
}

void SvgTimeAxis(std::string& out, const Axes& a, const LocalZone& zone) {
  for (int64_t t : HourTicks(static_cast<int64_t>(a.x0), static_cast<int64_t>(a.x1), zone)) {
    const double x = a.X(static_cast<double>(t));
    const CivilTime c = ToCivil(zone.ToLocal(t));
    out += Printf("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"tick\"/>", x, kHeight - kBottom, x,
                  kHeight - kBottom + 4);
    const std::string label = c.hour == 0 ? Printf("%02d-%02d", c.month, c.day) : Printf("%02d", c.hour);
    out += Printf("<text x=\"%.1f\" y=\"%.1f\" class=\"xl\">%s</text>", x, kHeight - kBottom + 15, label.c_str());
  }
  out += Printf("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>", kLeft, kHeight - kBottom,
                kWidth - kRight, kHeight - kBottom);
}

std::string SvgOpen(std::string_view label) {
  return Printf("<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"", kWidth,
                kHeight, kWidth, kHeight) +
         XmlEscape(label) + "\"><title>" + XmlEscape(label) + "</title>";
}

const char* kCss =
    R"(body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:900px;padding:1em;color:#222}
h1{font-size:1.5em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}th,td{border:1px solid #ddd;padding:2px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f4f4f4}
.wide{display:block;overflow-x:auto}svg{max-width:100%;height:auto;display:block}
svg text{font:10px system-ui,sans-serif;fill:#444}.yl{text-anchor:end}.xl{text-anchor:middle}.unit{font-weight:bold}
.grid{stroke:#e6e6e6}.tick,.axis{stroke:#888}.rising{fill:#fbe0dc}.falling{fill:#dde8fa}.steady{fill:#f3f3f3}
.data{fill:none;stroke:#999;stroke-width:1}.trend{fill:none;stroke:#b03a2e;stroke-width:2}
.bar{fill:#6c8ebf}.whisker{stroke:#333;stroke-width:1}.note{color:#666;font-size:12px}
.legend span{display:inline-block;padding:0 .5em;margin-right:.5em}
.legend svg{display:inline-block;vertical-align:middle}.legend rect{stroke:#aaa}
)";

}  // namespace

Result<ReportFormat> ParseReportFormat(std::string_view name) {
  if (name == "md") return ReportFormat::kMarkdown;
  if (name == "html") return ReportFormat::kHtml;
  return Status::InvalidArgument("report format must be md or html, not '" + std::string(name) + "'");
}

std::string RenderReport(const Report& report, const LocalZone& zone, ReportFormat format) {
  return format == ReportFormat::kHtml ? RenderHtml(report, zone) : RenderMarkdown(report, zone);
}

std::string RenderMarkdown(const Report& r, const LocalZone& zone) {
  std::string out = "# " + Heading(r, zone) + "\n\n" + DevicesLine(r) + "\n";
  for (const DeviceReport& d : r.devices) {
    const Clockface clock(zone, d.first_us, d.last_us);
    out += "\n## Device " + MdEscape(d.device) + "\n\n";
    out +=
        Printf("%lld readings from %s to %s (%s).\n\n", static_cast<long long>(d.readings),
               FullTime(zone, d.first_us, true).c_str(), FullTime(zone, d.last_us, true).c_str(), zone.name().c_str());
    out += "### Summary\n\n";
    for (const MetricReport& m : d.metrics) out += "- " + PhaseSentence(m, clock) + "\n";
    out += "- " + CorrelationSentence(d) + "\n\n";
    out += "### Phases\n\n";
    for (const MetricReport& m : d.metrics) {
      out += "#### " + Capitalized(MetricName(m.metric)) + " (" + std::string(MetricUnit(m.metric)) + ")\n\n";
      MdTable(out, PhaseTable(m, clock));
      out += RuleNote(m) + "\n\n";
    }
    out += "### Correlation\n\n" + CorrelationSentence(d) + "\n\n";
    out += "### Extremes\n\n";
    MdTable(out, ExtremesTable(d, zone));
    out += "### Hourly averages, minima and maxima (" + zone.name() + ")\n\n";
    if (const Table t = HourlyTable(d, zone, false); !t.header.empty()) MdTable(out, t);
    if (const Table t = HourlyTable(d, zone, true); !t.header.empty()) {
      out += std::string(kAngleNote) + "\n\n";
      MdTable(out, t);
    }
  }
  return out;
}

std::string TrendChartSvg(const MetricReport& m, const LocalZone& zone) {
  const Trend& t = m.trend;
  const std::string name = Capitalized(MetricName(m.metric));
  std::string out = SvgOpen(name + ": " + BucketText(t.bucket_us) + " medians, trend and phases");
  if (t.boundaries.size() < 2) return out + "</svg>";
  double lo = *std::min_element(t.bucket_median.begin(), t.bucket_median.end());
  double hi = *std::max_element(t.bucket_median.begin(), t.bucket_median.end());
  for (double v : t.boundary_value) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const double pad = hi > lo ? (hi - lo) * 0.05 : 1;
  const Axes a{static_cast<double>(t.boundaries.front()), static_cast<double>(t.boundaries.back()), lo - pad, hi + pad};
  for (const TrendPhase& p : t.phases) {
    const double x0 = a.X(static_cast<double>(p.start_us)), x1 = a.X(static_cast<double>(p.end_us));
    out += Printf("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"%s\"/>", x0, kTop, x1 - x0,
                  kHeight - kTop - kBottom, std::string(DirectionName(p.direction)).c_str());
  }
  SvgValueAxis(out, a, m.metric);
  out += "<polyline class=\"data\" points=\"";
  for (size_t i = 0; i < t.bucket_ts.size(); ++i) {
    out += Printf("%.1f,%.1f ", a.X(static_cast<double>(t.bucket_ts[i])), a.Y(t.bucket_median[i]));
  }
  out += "\"/><polyline class=\"trend\" points=\"";
  for (size_t i = 0; i < t.boundaries.size(); ++i) {
    out += Printf("%.1f,%.1f ", a.X(static_cast<double>(t.boundaries[i])), a.Y(t.boundary_value[i]));
  }
  out += "\"/>";
  SvgTimeAxis(out, a, zone);
  return out + "</svg>";
}

std::string HourlyChartSvg(const DeviceReport& d, Metric metric, const LocalZone& zone) {
  const int i = static_cast<int>(metric);
  const std::string name = Capitalized(MetricName(metric));
  std::string out = SvgOpen(name + ": hourly average (bars), minimum and maximum (whiskers)");
  // An angle's hours are drawn unwrapped along the period's arc, as its trend (MetricReport::origin):
  // each whisker goes up from the hour's arc start by the arc's length.
  std::optional<double> origin;
  if (IsAngle(metric)) {
    for (const MetricReport& m : d.metrics) {
      if (m.metric == metric) origin = m.origin;
    }
  }
  auto plotted = [&](const HourStats& s) {
    if (!origin) return s;
    HourStats p = s;
    p.min = *origin + NormalizeDegrees(s.min - *origin);
    p.max = p.min + NormalizeDegrees(s.max - s.min);
    p.avg = p.min + NormalizeDegrees(s.avg - s.min);  // NaN stays NaN: no bar
    return p;
  };
  double lo = INFINITY, hi = -INFINITY;
  for (const HourlyRow& h : d.hourly) {
    if (h.metrics[i].n == 0) continue;
    const HourStats s = plotted(h.metrics[i]);
    lo = std::min(lo, s.min);
    hi = std::max(hi, s.max);
  }
  if (!std::isfinite(lo)) return out + "</svg>";
  const double pad = hi > lo ? (hi - lo) * 0.05 : 1;
  const int64_t x0 = d.hourly.front().start_us, x1 = d.hourly.back().start_us + kMicrosPerHour;
  const Axes a{static_cast<double>(x0), static_cast<double>(x1), lo - pad, hi + pad};
  SvgValueAxis(out, a, metric);
  const double slot = a.X(static_cast<double>(x0 + kMicrosPerHour)) - a.X(static_cast<double>(x0));
  for (const HourlyRow& h : d.hourly) {
    if (h.metrics[i].n == 0) continue;
    const HourStats s = plotted(h.metrics[i]);
    const double x = a.X(static_cast<double>(h.start_us));
    if (std::isfinite(s.avg)) {  // angles that cancel out have no average: a whisker alone
      const double y = a.Y(s.avg);
      out += Printf(
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"bar\"><title>%s: %s</title></rect>",
          x + slot * 0.15, y, slot * 0.7, std::max(0.0, a.Y(a.y0) - y), XmlEscape(FullTime(zone, h.start_us)).c_str(),
          Value(metric, h.metrics[i].avg).c_str());
    }
    const double cx = x + slot / 2;
    out += Printf("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"whisker\"/>", cx, a.Y(s.min), cx,
                  a.Y(s.max));
  }
  SvgTimeAxis(out, a, zone);
  return out + "</svg>";
}

std::string RenderHtml(const Report& r, const LocalZone& zone) {
  const std::string title = Heading(r, zone);
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/><title>" +
      XmlEscape(title) + "</title><style>" + kCss + "</style></head><body>\n";
  out += "<h1>" + XmlEscape(title) + "</h1>\n<p>" + HtmlSentence(DevicesLine(r)) + "</p>\n";
  for (const DeviceReport& d : r.devices) {
    const Clockface clock(zone, d.first_us, d.last_us);
    out += "<section><h2>Device " + XmlEscape(d.device) + "</h2>\n";
    out += "<p>" +
           XmlEscape(Printf("%lld readings from %s to %s (%s).", static_cast<long long>(d.readings),
                             FullTime(zone, d.first_us, true).c_str(), FullTime(zone, d.last_us, true).c_str(),
                             zone.name().c_str())) +
           "</p>\n<h3>Summary</h3>\n<ul>";
    for (const MetricReport& m : d.metrics) out += "<li>" + XmlEscape(PhaseSentence(m, clock)) + "</li>";
    out += "<li>" + XmlEscape(CorrelationSentence(d)) + "</li></ul>\n";
    out +=
        "<h3>Phases</h3>\n<p class=\"legend\"><span><svg width=\"10\" height=\"10\"><rect "
        "width=\"10\" height=\"10\" class=\"rising\"/></svg> rising</span><span><svg width=\"10\" height=\"10\">"
        "<rect width=\"10\" height=\"10\" class=\"falling\"/></svg> falling</span><span><svg width=\"10\" "
        "height=\"10\"><rect width=\"10\" height=\"10\" class=\"steady\"/></svg> steady</span> "
        "grey line: medians; red line: fitted trend</p>\n";
    for (const MetricReport& m : d.metrics) {
      out += "<h4>" + XmlEscape(Capitalized(MetricName(m.metric)) + " (" + std::string(MetricUnit(m.metric)) + ")") +
             "</h4>\n";
      out += TrendChartSvg(m, zone) + "\n";
      HtmlTable(out, PhaseTable(m, clock));
      out += "<p class=\"note\">" + XmlEscape(RuleNote(m)) + "</p>\n";
    }
    out += "<h3>Correlation</h3>\n<p>" + XmlEscape(CorrelationSentence(d)) + "</p>\n";
    out += "<h3>Extremes</h3>\n";
    HtmlTable(out, ExtremesTable(d, zone));
    out += "<h3>Hourly averages, minima and maxima (" + XmlEscape(zone.name()) + ")</h3>\n";
    for (const MetricReport& m : d.metrics) out += HourlyChartSvg(d, m.metric, zone) + "\n";
    if (const Table t = HourlyTable(d, zone, false); !t.header.empty()) HtmlTable(out, t, "wide");
    if (const Table t = HourlyTable(d, zone, true); !t.header.empty()) {
      out += "<p class=\"note\">" + XmlEscape(kAngleNote) + "</p>\n";
      HtmlTable(out, t, "wide");
    }
    out += "</section>\n";
  }
  return out + "</body></html>\n";
}

}  // namespace sp
