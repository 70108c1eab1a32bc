#include "ingest/http_ingest.h"

#include <simdjson.h>

#include "common/json_writer.h"

namespace sp {

HttpIngest::HttpIngest(std::shared_ptr<const RuleSet> rules, std::vector<Stream*> streams, Stream* errors, Clock* clock,
                       Metrics* metrics)
    : rules_(std::move(rules)),
      streams_(std::move(streams)),
      errors_(errors),
      clock_(clock),
      received_(
          metrics->GetCounter("sensorpipe_http_messages_received_total", "Messages received by POST /v1/ingest.")),
      counters_(IngestCounters::Register(metrics)) {}

HttpIngest::Answer HttpIngest::Ingest(std::string_view body, std::string_view topic,
                                      const std::string& device_time_zone) {
  // What a broker would refuse in a PUBLISH (MQTT 5 4.7.3): rules match topics as MQTT has them.
  if (topic.empty() || topic.size() > 65535 ||
      topic.find_first_of(std::string_view("+#\0", 3)) != std::string_view::npos || !IsValidUtf8(topic)) {
    return {400, JsonError("topic must be an MQTT topic name: not empty, UTF-8, without + # or NUL")};
  }
  // A request that names a zone (checked as the config key is) gets a runner of its own; the usual
  // case takes a pooled one below.
  std::unique_ptr<RuleRunner> runner;
  if (!device_time_zone.empty()) {
    auto zoned = RuleRunner::ForZone(rules_, device_time_zone);
    if (!zoned.ok()) {
      return {400, JsonError("device_time_zone: " + std::string(zoned.status().message()) +
                             " (expected an IANA name such as Asia/Seoul)")};
    }
    runner = std::move(zoned).value();
  }
  // Split the body into messages: the elements of a JSON array, or the lines of NDJSON (views
  // into the body, which outlives them).
  std::vector<std::string_view> items;
  std::vector<std::string> elements;
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && body[first] == '[') {
    simdjson::dom::parser parser;
    simdjson::dom::array array;
    if (auto err = parser.parse(body.data(), body.size()).get(array)) {
      return {400, JsonError(std::string("the body starts with '[' but is not a JSON array: ") +
                             simdjson::error_message(err))};
    }
    for (auto element : array) elements.push_back(simdjson::minify(element));
    items.assign(elements.begin(), elements.end());
  } else {
    for (size_t at = 0; at <= body.size();) {
      size_t nl = body.find('\n', at);
      if (nl == std::string_view::npos) nl = body.size();
      std::string_view line = body.substr(at, nl - at);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      items.push_back(line);  // empty lines are kept so line numbers match; skipped below
      at = nl + 1;
    }
  }

  std::string errors_json;
  size_t messages = 0, accepted = 0, filtered = 0;
  RuleBatch batch(streams_.size());
  {
    const bool pooled = runner == nullptr;
    if (pooled) runner = TakeRunner();
    const int64_t now = clock_->NowMicros();
    const size_t max_payload_bytes = rules_->options().max_payload_bytes;
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].find_first_not_of(" \t") == std::string_view::npos) continue;
      ++messages;
      const size_t rejected_before = batch.rejections().size();
      const Message msg{topic, items[i], {}, now};
      if (items[i].size() > max_payload_bytes) {
        RejectOversize(*rules_, msg, items[i].size(), &batch);
      } else if (!runner->Apply(msg, &batch)) {
        ++filtered;
      }
      for (size_t r = rejected_before; r < batch.rejections().size(); ++r) {
        const Rejection& rejection = batch.rejections()[r];
        counters_.rejected[static_cast<size_t>(rejection.reason)]->Inc();
        errors_json += errors_json.empty() ? "{\"line\":" : ",{\"line\":";
        errors_json +=
            std::to_string(i + 1) + ",\"reason\":\"" + std::string(ReasonName(rejection.reason)) + "\",\"detail\":";
        AppendJsonString(errors_json, rejection.detail);
        errors_json += '}';
      }
    }
    if (pooled) ReturnRunner(std::move(runner));
  }
  counters_.filtered->Inc(filtered);
  received_->Inc(messages);
  // The answer is the acknowledgement: only once every append is durable.
  for (size_t i = 0; i < streams_.size(); ++i) {
    if (Status s = streams_[i]->Append(batch.records(i)); !s.ok()) {
      return {503, JsonError("the log refused the records; nothing was stored as acknowledged: " + s.ToString())};
    }
    counters_.appended->Inc(batch.records(i).size());
    accepted += batch.records(i).size();
  }
  if (Status s = errors_->Append(batch.errors()); !s.ok()) {
    return {503, JsonError("the error output refused the rejected lines: " + s.ToString())};
  }
  return {200, "{\"accepted\":" + std::to_string(accepted) +
                   ",\"rejected\":" + std::to_string(batch.rejections().size()) +
                   ",\"filtered\":" + std::to_string(filtered) + ",\"errors\":[" + errors_json + "]}\n"};
}

std::unique_ptr<RuleRunner> HttpIngest::TakeRunner() {
  {
    std::lock_guard lock(runners_mu_);
    if (!idle_runners_.empty()) {
      std::unique_ptr<RuleRunner> runner = std::move(idle_runners_.back());
      idle_runners_.pop_back();
      return runner;
    }
  }
  return std::make_unique<RuleRunner>(rules_);
}

void HttpIngest::ReturnRunner(std::unique_ptr<RuleRunner> runner) {
  std::lock_guard lock(runners_mu_);
  idle_runners_.push_back(std::move(runner));
}

}  // namespace sp
