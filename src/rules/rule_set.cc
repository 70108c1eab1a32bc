#include <algorithm>

#include "common/json_writer.h"
#include "rules/error_record.h"
#include "rules/payload.h"
#include "rules/reading.h"
#include "rules/rule.h"
#include "rules/sql.h"

namespace sp {

namespace {
constexpr std::string_view kDefaultName = "default";
constexpr std::string_view kDefaultSql = "SELECT * FROM '#'";
constexpr std::string_view kReadings = "readings";
}  // namespace

// ---- RuleBatch ----

void RuleBatch::Clear() {
  std::fill(used_.begin(), used_.end(), 0);
  errors_.clear();
  rejections_.clear();
}

Record* RuleBatch::Add(size_t stream) {
  std::vector<Record>& records = records_[stream];
  if (used_[stream] == records.size()) records.emplace_back();
  return &records[used_[stream]++];
}

size_t RuleBatch::total_records() const {
  size_t n = 0;
  for (size_t u : used_) n += u;
  return n;
}

void RuleBatch::Reject(const Message& msg, std::string_view rule, Rejection rejection, size_t original_size) {
  errors_.push_back(MakeErrorRecord(msg, rule, rejection, original_size));
  rejections_.push_back(std::move(rejection));
}

// ---- RuleSet ----

struct RuleSet::Compiled {
  std::string name;
  std::unique_ptr<const sql::Program> program;
  size_t stream = 0;     // index into streams_
  bool reading = false;  // targets `readings`: the output must map to a reading
};

RuleSet::~RuleSet() = default;

Result<std::shared_ptr<const RuleSet>> RuleSet::Compile(const std::vector<RuleSpec>& specs,
                                                        const RuleOptions& options) {
  std::vector<RuleSpec> effective = specs;
  if (effective.empty())
    effective.push_back({std::string(kDefaultName), std::string(kDefaultSql), std::string(kReadings)});
  // Fail on a bad zone here, at start-up, not on the first message.
  SP_RETURN_IF_ERROR(TimestampParser::Create(options.device_time_zone).status());

  std::shared_ptr<RuleSet> set(new RuleSet());
  set->options_ = options;
  for (const RuleSpec& spec : effective) {
    auto program = sql::Compile(spec.sql);
    if (!program.ok()) {
      return Status::InvalidArgument("rule '" + spec.name + "': " + std::string(program.status().message()));
    }
    auto rule = std::make_unique<Compiled>();
    rule->name = spec.name;
    rule->program = std::move(program).value();
    auto it = std::find(set->streams_.begin(), set->streams_.end(), spec.stream);
    if (it == set->streams_.end()) it = set->streams_.insert(set->streams_.end(), spec.stream);
    rule->stream = static_cast<size_t>(it - set->streams_.begin());
    rule->reading = spec.stream == kReadings;
    set->rules_.push_back(std::move(rule));
  }
  return std::shared_ptr<const RuleSet>(std::move(set));
}

std::string_view RuleSet::RuleFor(std::string_view topic) const {
  for (const auto& rule : rules_) {
    if (sql::TopicMatches(rule->program->from, topic)) return rule->name;
  }
  return {};
}

// ---- RuleRunner ----

struct RuleRunner::Impl {
  Impl(const RuleOptions& options, TimestampParser timestamps)
      : payload({options.max_payload_bytes, options.max_depth}),
        reading({options.max_future_skew_s, options.client_id_fallback, options.identity_topic_prefix}, timestamps) {}
  PayloadParser payload;
  ReadingMapper reading;
  std::vector<sql::Evaluator> evaluators;  // one per rule
};

// The zone was checked by Compile, so Create cannot fail here.
RuleRunner::RuleRunner(std::shared_ptr<const RuleSet> rules)
    : RuleRunner(rules, TimestampParser::Create(rules->options_.device_time_zone).value()) {}

RuleRunner::RuleRunner(std::shared_ptr<const RuleSet> rules, const TimestampParser& timestamps)
    : rules_(std::move(rules)), impl_(std::make_unique<Impl>(rules_->options_, timestamps)) {
  for (const auto& rule : rules_->rules_) impl_->evaluators.emplace_back(rule->program.get());
}

Result<std::unique_ptr<RuleRunner>> RuleRunner::ForZone(std::shared_ptr<const RuleSet> rules,
                                                        const std::string& device_time_zone) {
  SP_ASSIGN_OR_RETURN(TimestampParser timestamps, TimestampParser::Create(device_time_zone));
  return std::unique_ptr<RuleRunner>(new RuleRunner(std::move(rules), timestamps));
}

RuleRunner::~RuleRunner() = default;

namespace {

// A rule's output for a stream other than `readings`: its fields as one JSON object. The key is
// the device (`device` or `client_id` when the output has one as a string) so a device's records
// stay in order in one shard, else the topic; the time is the receive time.
void WriteObject(const Message& msg, std::span<const Field> fields, Record* out) {
  std::string& line = out->value;
  line.clear();
  line += '{';
  std::string_view key = msg.topic;
  for (const Field& f : fields) {
    if (line.size() > 1) line += ',';
    AppendJsonString(line, f.name);
    line += ':';
    AppendValueJson(line, f.value);
    if ((f.name == "device" || (f.name == "client_id" && key == msg.topic)) && f.value.kind == Value::Kind::kString) {
      key = f.value.s;
    }
  }
  line += '}';
  out->key.assign(key);
  out->timestamp_us = msg.received_at_us;
}

}  // namespace

bool RuleRunner::Apply(const Message& msg, RuleBatch* batch) {
  bool kept = false, parsed = false;
  simdjson::dom::element payload;
  Rejection rejection;
  for (size_t i = 0; i < rules_->rules_.size(); ++i) {
    const RuleSet::Compiled& rule = *rules_->rules_[i];
    if (!sql::TopicMatches(rule.program->from, msg.topic)) continue;
    if (!parsed) {
      // Parsed once for all rules; a payload that is not a JSON object is no rule's input.
      parsed = true;
      if (!impl_->payload.Parse(msg.payload, &payload, &rejection)) {
        batch->Reject(msg, rule.name, std::move(rejection));
        return true;
      }
    }
    sql::Evaluator& eval = impl_->evaluators[i];
    eval.Bind(&msg, payload);
    if (!eval.Where()) continue;
    kept = true;
    std::span<const Field> fields = eval.Select();
    Record* record = batch->Add(rule.stream);
    if (!rule.reading) {
      WriteObject(msg, fields, record);
    } else if (!impl_->reading.Map(msg, fields, record, &rejection)) {
      batch->DropLast(rule.stream);
      batch->Reject(msg, rule.name, std::move(rejection));
    }
  }
  return kept;
}

}  // namespace sp
