// The JSON API the dashboard shares with users (docs/api.md): /api/series, /api/devices,
// /api/events and /api/query. Parameters are checked strictly: an unknown or malformed one is a
// 400 naming it, never a silently different answer.
#include <date/tz.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "common/json_writer.h"
#include "common/reading_columns.h"
#include "common/timestamp.h"
#include "query/format.h"
#include "web/server.h"

namespace sp {

namespace {

constexpr int64_t kMaxBuckets = 100'000;
constexpr int64_t kAutoBuckets = 500;
constexpr int kMaxEventStreams = 16;

void Json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body, "application/json");
}

void Error(httplib::Response& res, int status, const std::string& message) {
  Json(res, status, JsonError(message));
}

//! A parameter error names the parameter; nullopt when the request is fine.
std::optional<std::string> UnknownParams(const httplib::Request& req, std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : req.params) {
    if (std::find(known.begin(), known.end(), name) == known.end()) return "unknown parameter '" + name + "'";
  }
  return std::nullopt;
}

// ISO 8601 with an offset or Z, or epoch seconds.
Result<int64_t> ParseTime(const std::string& name, const std::string& text) {
  static const TimestampParser utc = *TimestampParser::Create("UTC");
  int64_t us = 0;
  char* end = nullptr;
  const double epoch = std::strtod(text.c_str(), &end);
  if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(epoch)) {
    // Epoch seconds only: milliseconds here would be a silent factor of 1000 away.
    if (std::fabs(epoch) < 1e11 && utc.ParseEpoch(epoch, &us)) return us / 1'000'000;
  } else if (!text.empty() && (text.back() == 'Z' || text.size() > 19) && utc.ParseText(text, &us)) {
    if (text.back() == 'Z' || text.find_first_of("+-", 19) != std::string::npos) return us / 1'000'000;
  }
  return Status::InvalidArgument(name + " must be ISO 8601 with an offset (2022-07-14T15:00:00+09:00) or epoch "
                                        "seconds, not '" + text + "'");
}

Result<int64_t> ParseBucket(const std::string& text, int64_t range_s) {
  if (text.empty() || text == "auto") {
    for (int64_t b : {60, 300, 900, 3600, 86400}) {
      if (range_s / b <= kAutoBuckets) return b;
    }
    return 86400;
  }
  static const std::map<std::string, int64_t> kNamed = {{"1m", 60}, {"5m", 300}, {"15m", 900}, {"1h", 3600},
                                                        {"1d", 86400}};
  if (auto it = kNamed.find(text); it != kNamed.end()) return it->second;
  char* end = nullptr;
  const long long s = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() + text.size() && s >= 1 && (s <= 86400 || s % 86400 == 0)) return s;
  return Status::InvalidArgument("bucket must be auto, 1m, 5m, 15m, 1h, 1d or seconds (at least 1; above a day, "
                                 "whole days), not '" + text + "'");
}

Result<SeriesQuery> ParseSeries(const httplib::Request& req, int64_t now_s) {
  if (auto e = UnknownParams(req, {"metric", "agg", "bucket", "device", "from", "to", "tz"})) {
    return Status::InvalidArgument(*e);
  }
  SeriesQuery q;
  const std::string metric = req.get_param_value("metric");
  auto m = std::find(kMetricNames.begin(), kMetricNames.end(), metric);
  if (m == kMetricNames.end()) {
    std::string names;
    for (std::string_view name : kMetricNames) (names += names.empty() ? "" : ", ") += name;
    return Status::InvalidArgument("metric must be one of " + names +
                                   std::string(metric.empty() ? "" : ", not '" + metric + "'"));
  }
  q.metric = static_cast<Metric>(m - kMetricNames.begin());
  const std::string agg = req.has_param("agg") ? req.get_param_value("agg") : "avg";
  static const std::map<std::string, Aggregation> kAggs = {
      {"avg", Aggregation::kAvg}, {"min", Aggregation::kMin}, {"max", Aggregation::kMax}, {"count", Aggregation::kCount}};
  auto a = kAggs.find(agg);
  if (a == kAggs.end()) return Status::InvalidArgument("agg must be avg, min, max or count, not '" + agg + "'");
  q.agg = a->second;
  for (size_t i = 0; i < req.get_param_value_count("device"); ++i) {
    std::string d = req.get_param_value("device", i);
    if (d.empty()) return Status::InvalidArgument("device must not be empty");
    q.devices.push_back(std::move(d));
  }
  q.to_s = now_s;
  if (req.has_param("to")) {
    SP_ASSIGN_OR_RETURN(q.to_s, ParseTime("to", req.get_param_value("to")));
  }
  q.from_s = q.to_s - 86400;
  if (req.has_param("from")) {
    SP_ASSIGN_OR_RETURN(q.from_s, ParseTime("from", req.get_param_value("from")));
  }
  if (q.from_s >= q.to_s) return Status::InvalidArgument("from must be before to");
  SP_ASSIGN_OR_RETURN(q.bucket_s, ParseBucket(req.get_param_value("bucket"), q.to_s - q.from_s));
  if ((q.to_s - q.from_s) / q.bucket_s > kMaxBuckets) {
    return Status::InvalidArgument("from..to holds more than " + std::to_string(kMaxBuckets) +
                                   " buckets: choose a larger bucket or a shorter range");
  }
  const std::string tz = req.has_param("tz") ? req.get_param_value("tz") : "UTC";
  try {
    q.tz = date::locate_zone(tz);
  } catch (const std::exception&) {
    return Status::InvalidArgument("tz must be an IANA time zone such as Asia/Seoul or UTC, not '" + tz + "'");
  }
  return q;
}

void AppendMs(std::string& out, int64_t us) { out += std::to_string(us / 1000); }

}  // namespace

bool WebServer::Authorized(const httplib::Request& req) const {
  if (token_.empty()) return false;
  // Compare in constant time, so the answer's timing says nothing about the token: every byte of
  // the expected value is looked at whatever the request sent, however long.
  const std::string given = req.get_header_value("Authorization");
  const std::string expected = "Bearer " + token_;
  size_t diff = given.size() ^ expected.size();
  for (size_t i = 0; i < expected.size(); ++i) {
    diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  }
  return diff == 0;
}

void WebServer::EnableApi(ApiSources sources) {
  api_ = sources;
  server_->Get("/api/series", [this](const httplib::Request& req, httplib::Response& res) {
    requests_->Inc();
    auto q = ParseSeries(req, api_.clock->NowMicros() / 1'000'000);
    if (!q.ok()) return Error(res, 400, std::string(q.status().message()));
    auto answer = api_.series->Read(*q);
    if (!answer.ok()) {
      spdlog::warn("web: /api/series failed: {}", answer.status().ToString());
      return Error(res, 503, std::string(answer.status().message()));
    }
    std::string body = "{\"metric\":";
    AppendJsonString(body, kMetricNames[static_cast<size_t>(q->metric)]);
    body += ",\"agg\":";
    AppendJsonString(body, req.has_param("agg") ? req.get_param_value("agg") : "avg");
    body += ",\"bucket_s\":" + std::to_string(q->bucket_s) + ",\"tz\":";
    AppendJsonString(body, q->tz->name());
    body += ",\"from\":" + std::to_string(answer->from_s * 1000) + ",\"to\":" + std::to_string(answer->to_s * 1000);
    body += ",\"source\":\"" + std::string(answer->source) + "\",\"series\":[";
    for (size_t s = 0; s < answer->series.size(); ++s) {
      body += s ? ",{\"device\":" : "{\"device\":";
      AppendJsonString(body, answer->series[s].device);
      body += ",\"points\":[";
      for (size_t p = 0; p < answer->series[s].points.size(); ++p) {
        body += p ? ",[" : "[";
        body += std::to_string(answer->series[s].points[p].first);
        body += ',';
        AppendDouble(body, answer->series[s].points[p].second);
        body += ']';
      }
      body += "]}";
    }
    Json(res, 200, body + "]}\n");
  });

  server_->Get("/api/devices", [this](const httplib::Request& req, httplib::Response& res) {
    requests_->Inc();
    if (auto e = UnknownParams(req, {})) return Error(res, 400, *e);
    const int64_t now_us = api_.clock->NowMicros();
    std::string body = "{\"now\":";
    AppendMs(body, now_us);
    body += ",\"devices\":[";
    bool first = true;
    for (const DeviceInfo& d : api_.rollup->Devices()) {
      body += first ? "{\"device\":" : ",{\"device\":";
      first = false;
      AppendJsonString(body, d.device);
      body += ",\"first\":";
      AppendMs(body, d.first_us);
      body += ",\"last\":";
      AppendMs(body, d.last_us);
      body += ",\"last_received\":";
      AppendMs(body, d.last_received_us);
      body += ",\"readings\":" + std::to_string(d.readings) + ",\"interval_s\":";
      AppendDouble(body, d.interval_s);
      // Silent: nothing for three usual intervals, and at least 10 s so a fast device is not
      // flagged for one late packet.
      const double silence_s = std::max(3 * d.interval_s, 10.0);
      const bool silent = d.interval_s > 0 && (now_us - d.last_received_us) / 1e6 > silence_s;
      body += std::string(",\"silent\":") + (silent ? "true" : "false") + ",\"last_reading\":{";
      bool first_value = true;
      for (size_t i = 0; i < kMetricCount; ++i) {
        if (!d.last_values[i]) continue;
        if (!first_value) body += ',';
        first_value = false;
        AppendJsonString(body, kMetricNames[i]);
        body += ':';
        AppendDouble(body, *d.last_values[i]);
      }
      body += "}}";
    }
    Json(res, 200, body + "]}\n");
  });

  server_->Get("/api/events", [this](const httplib::Request& req, httplib::Response& res) {
    requests_->Inc();
    if (auto e = UnknownParams(req, {})) return Error(res, 400, *e);
    if (event_streams_.fetch_add(1) >= kMaxEventStreams) {
      event_streams_.fetch_sub(1);
      return Error(res, 503, "too many open event streams (at most " + std::to_string(kMaxEventStreams) + ")");
    }
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    struct Stream {
      uint64_t generation;
      std::chrono::steady_clock::time_point last_write;
      bool opened = false;
    };
    auto stream = std::make_shared<Stream>(Stream{api_.rollup->generation(), std::chrono::steady_clock::now()});
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, stream](size_t, httplib::DataSink& sink) {
          if (stopping_) return false;
          if (!stream->opened) {
            stream->opened = true;
            const std::string hello = "retry: 2000\n: connected\n\n";
            return sink.write(hello.data(), hello.size());
          }
          // At most four events a second: what arrives meanwhile is merged into the next one.
          // Waits are short so Stop() is not held up by an idle stream.
          const RollupChange c = api_.rollup->WaitForChange(stream->generation, std::chrono::milliseconds(250));
          std::string out;
          if (c.generation > stream->generation) {
            stream->generation = c.generation;
            out = "event: readings\ndata: {\"devices\":[";
            bool first = true;
            for (const std::string& d : c.devices) {
              if (!first) out += ',';
              first = false;
              AppendJsonString(out, d);
            }
            out += "],\"last\":";
            AppendMs(out, c.last_us);
            out += ",\"count\":" + std::to_string(c.count) + "}\n\n";
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
          } else if (std::chrono::steady_clock::now() - stream->last_write > std::chrono::seconds(15)) {
            out = ": keepalive\n\n";
          }
          if (out.empty()) return true;
          stream->last_write = std::chrono::steady_clock::now();
          return sink.write(out.data(), out.size());
        },
        [this](bool) { event_streams_.fetch_sub(1); });
  });

  server_->Get("/api/query", [this](const httplib::Request& req, httplib::Response& res) {
    requests_->Inc();
    if (auto e = UnknownParams(req, {"sql", "format"})) return Error(res, 400, *e);
    const std::string sql = req.get_param_value("sql");
    if (sql.empty()) return Error(res, 400, "sql is required: one SELECT statement over readings or errors");
    const std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
    if (format != "json" && format != "csv") return Error(res, 400, "format must be json or csv, not '" + format + "'");
    Result<QueryResult> result = [&] {
      std::lock_guard lock(query_mu_);
      return engine_->Run(sql);
    }();
    if (!result.ok()) {
      const Status& s = result.status();
      return Error(res, s.code() == Status::Code::kAborted ? 504 : s.code() == Status::Code::kInvalidArgument ? 400 : 503,
                   std::string(s.message()));
    }
    if (format == "csv") {
      res.set_header("Cache-Control", "no-store");
      res.set_content(Format(*result, OutputFormat::kCsv), "text/csv; charset=utf-8");
      return;
    }
    std::string body = "{\"columns\":[";
    for (size_t c = 0; c < result->columns.size(); ++c) {
      if (c) body += ',';
      AppendJsonString(body, result->columns[c]);
    }
    body += "],\"rows\":[";
    for (size_t r = 0; r < result->rows.size(); ++r) {
      body += r ? ",[" : "[";
      for (size_t c = 0; c < result->rows[r].size(); ++c) {
        if (c) body += ',';
        AppendJsonCell(body, result->rows[r][c]);
      }
      body += ']';
    }
    body += std::string("],\"truncated\":") + (result->truncated ? "true" : "false") + "}\n";
    Json(res, 200, body);
  });
}

}  // namespace sp
