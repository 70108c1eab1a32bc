// The report as text: Markdown (tables and prose, nothing outside the file) or one self-contained
// HTML page (inline CSS, charts as inline SVG, no scripts, no outside URLs). Pure functions of the
// analysis (report/report.h).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "report/report.h"

namespace sp {

enum class ReportFormat { kMarkdown, kHtml };
//! "md" or "html".
Result<ReportFormat> ParseReportFormat(std::string_view name);

//! The whole report in a format.
std::string RenderReport(const Report& report, const LocalZone& zone, ReportFormat format);
//! Markdown: summary, phases, correlation, extremes and hourly table per device.
std::string RenderMarkdown(const Report& report, const LocalZone& zone);
//! HTML: the Markdown's content plus a line chart per metric (phases shaded) and hourly bars.
std::string RenderHtml(const Report& report, const LocalZone& zone);

//! An <svg> line chart of a metric's bucket medians and trend, its phases shaded.
std::string TrendChartSvg(const MetricReport& metric, const LocalZone& zone);
//! An <svg> bar chart of a metric's hourly averages with min-max whiskers.
std::string HourlyChartSvg(const DeviceReport& device, Metric metric, const LocalZone& zone);

}  // namespace sp
