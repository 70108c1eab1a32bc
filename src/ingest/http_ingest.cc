#include "ingest/http_ingest.h"

#include <simdjson.h>

#include "common/json_writer.h"
#include "rules/error_record.h"

namespace sp {

HttpIngest::HttpIngest(std::unique_ptr<Rule> rule, Stream* readings, Stream* errors, Clock* clock, Metrics* metrics)
    : rule_(std::move(rule)),
      readings_(readings),
      errors_(errors),
      clock_(clock),
      received_(metrics->GetCounter("sensorpipe_http_messages_received_total", "Messages received by POST /v1/ingest.")),
      counters_(IngestCounters::Register(metrics)) {}

HttpIngest::Answer HttpIngest::Ingest(std::string_view body) {
  // Split the body into messages: the elements of a JSON array, or the lines of NDJSON.
  std::vector<std::string> items;
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && body[first] == '[') {
    simdjson::dom::parser parser;
    simdjson::dom::array array;
    if (auto err = parser.parse(body.data(), body.size()).get(array)) {
      return {400, std::string("{\"error\":\"the body starts with '[' but is not a JSON array: ") +
                       simdjson::error_message(err) + "\"}\n"};
    }
    for (auto element : array) items.push_back(simdjson::minify(element));
  } else {
    for (size_t at = 0; at <= body.size();) {
      size_t nl = body.find('\n', at);
      if (nl == std::string_view::npos) nl = body.size();
      std::string_view line = body.substr(at, nl - at);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      items.emplace_back(line);  // empty lines are kept so line numbers match; skipped below
      at = nl + 1;
    }
  }

  std::vector<Record> accepted, rejects;
  std::string errors_json;
  size_t rejected = 0, messages = 0;
  {
    std::lock_guard lock(rule_mu_);
    const int64_t now = clock_->NowMicros();
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].find_first_not_of(" \t") == std::string::npos) continue;
      ++messages;
      Message msg{"http", items[i], {}, now};
      Record record;
      Rejection rejection;
      if (rule_->Apply(msg, &record, &rejection)) {
        accepted.push_back(std::move(record));
        continue;
      }
      ++rejected;
      counters_.rejected[static_cast<size_t>(rejection.reason)]->Inc();
      rejects.push_back(MakeErrorRecord(msg, rule_->name(), rejection));
      errors_json += errors_json.empty() ? "{\"line\":" : ",{\"line\":";
      errors_json += std::to_string(i + 1) + ",\"reason\":\"" + std::string(ReasonName(rejection.reason)) +
                     "\",\"detail\":";
      AppendJsonString(errors_json, rejection.detail);
      errors_json += '}';
    }
  }
  received_->Inc(messages);
  // The answer is the acknowledgement: only once both appends are durable.
  if (Status s = readings_->Append(accepted); !s.ok()) {
    std::string out = "{\"error\":";
    AppendJsonString(out, "the log refused the records; nothing was stored as acknowledged: " + s.ToString());
    return {503, out + "}\n"};
  }
  counters_.appended->Inc(accepted.size());
  if (Status s = errors_->Append(rejects); !s.ok()) {
    std::string out = "{\"error\":";
    AppendJsonString(out, "the error output refused the rejected lines: " + s.ToString());
    return {503, out + "}\n"};
  }
  return {200, "{\"accepted\":" + std::to_string(accepted.size()) + ",\"rejected\":" + std::to_string(rejected) +
                   ",\"errors\":[" + errors_json + "]}\n"};
}

}  // namespace sp
