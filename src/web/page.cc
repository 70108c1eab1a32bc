// The first dashboard page: hourly averages per device, rendered on the server so it works
// without scripts, and refreshed by the browser every ten seconds. The dashboard issue replaces
// it with charts fed by a JSON API.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include "query/format.h"
#include "web/server.h"

namespace sp {

namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

constexpr const char* kHourlySql =
    "SELECT date_trunc('hour', ts) AS \"hour (UTC)\", device, count(*) AS readings, "
    "round(avg(temperature), 2) AS \"temperature °C\", round(avg(humidity), 2) AS \"humidity %\", "
    "round(avg(pressure), 1) AS \"pressure hPa\" "
    "FROM readings GROUP BY ALL ORDER BY 1 DESC, device LIMIT 240";

constexpr const char* kHead = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="10">
<title>sensorpipe</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2733;background:#f6f8fa}
header{background:#17324d;color:#fff;padding:14px 20px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.8;font-size:13px}main{padding:16px 20px;max-width:1100px}
table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px #0002}
th,td{padding:6px 10px;border-bottom:1px solid #e3e8ee;text-align:left;white-space:nowrap}
th{background:#eef2f6;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#5b6b7b;font-size:13px}.err{color:#a11}.wrap{overflow-x:auto}
</style></head><body>
<header><h1>sensorpipe</h1><p>Hourly averages per device (UTC), newest first &middot; refreshes every 10 s &middot;
<a style="color:#9cf" href="/metrics">metrics</a> &middot; <a style="color:#9cf" href="/healthz">health</a></p></header>
<main>
)";

std::string RenderIndex(QueryEngine* engine, std::mutex& query_mu) {
  std::string html = kHead;
  Result<QueryResult> result = [&] {
    std::lock_guard lock(query_mu);
    return engine->Run(kHourlySql);
  }();
  if (!result.ok()) {
    spdlog::warn("web: the hourly query failed: {}", result.status().ToString());
    html += "<p class=\"err\">The hourly query failed: " + Escape(result.status().ToString()) + "</p>";
  } else if (result->rows.empty()) {
    html += "<p class=\"note\">No readings yet. Publish to the broker (for example with "
            "<code>sensorpipe-agent --simulate</code>); rows appear once delivery writes them to the lake "
            "(every <code>[delivery] interval_s</code>).</p>";
  } else {
    html += "<div class=\"wrap\"><table id=\"hourly\"><thead><tr>";
    for (const auto& c : result->columns) html += "<th>" + Escape(c) + "</th>";
    html += "</tr></thead><tbody>\n";
    for (const auto& row : result->rows) {
      html += "<tr>";
      for (const Cell& cell : row) {
        const bool numeric = cell.type == Cell::Type::kInt || cell.type == Cell::Type::kDouble;
        html += numeric ? "<td class=\"n\">" : "<td>";
        html += Escape(CellText(cell));
        html += "</td>";
      }
      html += "</tr>\n";
    }
    html += "</tbody></table></div>";
  }
  html += "<p class=\"note\">Ask your own questions with <code>sensorpipe query \"SELECT ... FROM readings\"</code>.</p>";
  html += "</main></body></html>\n";
  return html;
}

}  // namespace

void WebServer::RegisterPage() {
  server_->Get("/", [this](const httplib::Request&, httplib::Response& res) {
    requests_->Inc();
    res.set_content(RenderIndex(engine_, query_mu_), "text/html; charset=utf-8");
  });
}

}  // namespace sp
