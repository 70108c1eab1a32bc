#include "rules/default_rule.h"

#include <simdjson.h>

#include <cmath>
#include <cstdlib>

#include "common/json_writer.h"
#include "common/time.h"
#include "rules/timestamp.h"

namespace sp {

namespace {

// The six sensor fields, in the order they are written.
constexpr std::string_view kNumbers[] = {"temperature", "humidity", "pressure", "pitch", "roll", "yaw"};

bool IsKnown(std::string_view key) {
  if (key == "client_id" || key == "timestamp" || key == "count") return true;
  for (auto n : kNumbers) {
    if (key == n) return true;
  }
  return false;
}

// Depth of nested arrays and objects; the message itself is depth 1.
int Depth(simdjson::dom::element e) {
  int deepest = 0;
  simdjson::dom::object object;
  simdjson::dom::array array;
  if (e.get(object) == simdjson::SUCCESS) {
    for (auto field : object) deepest = std::max(deepest, Depth(field.value));
    return deepest + 1;
  }
  if (e.get(array) == simdjson::SUCCESS) {
    for (auto item : array) deepest = std::max(deepest, Depth(item));
    return deepest + 1;
  }
  return 0;
}

// Distinguishes what JSON cannot say from what is simply broken: Python's json module writes NaN
// and Infinity for failed sensor reads, and 1e999 overflows a double. Those are non_finite;
// everything else that fails to parse is malformed_json. Scans tokens outside strings.
bool HasNonFiniteToken(std::string_view s) {
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (s.compare(i, 3, "NaN") == 0 || s.compare(i, 8, "Infinity") == 0) {
      return true;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '-' || s[j] == '+' ||
                              s[j] == '.' || s[j] == 'e' || s[j] == 'E')) {
        ++j;
      }
      std::string number(s.substr(i, j - i));
      double v = std::strtod(number.c_str(), nullptr);
      if (std::isinf(v)) return true;
      i = j - 1;
    }
  }
  return false;
}

class DefaultRule final : public Rule {
 public:
  DefaultRule(const DefaultRuleOptions& options, TimestampParser timestamps)
      : options_(options), timestamps_(timestamps) {}

  const std::string& name() const override { return name_; }

  bool Apply(const Message& msg, Record* out, Rejection* rejection) override {
    auto reject = [&](Reason r, std::string detail) {
      rejection->reason = r;
      rejection->detail = std::move(detail);
      return false;
    };
    if (msg.payload.size() > options_.max_payload_bytes) {
      return reject(Reason::kOversize, "payload of " + std::to_string(msg.payload.size()) + " bytes is over the limit of " +
                                           std::to_string(options_.max_payload_bytes));
    }
    // The DOM parser validates the whole document before anything is read, so trailing garbage
    // or a malformation anywhere is caught. Its buffers are reused across messages.
    simdjson::dom::element doc;
    if (auto err = parser_.parse(msg.payload.data(), msg.payload.size()).get(doc)) {
      if (err == simdjson::DEPTH_ERROR) return reject(Reason::kTooDeep, "nested deeper than " + std::to_string(options_.max_depth));
      if (HasNonFiniteToken(msg.payload)) return reject(Reason::kNonFinite, "NaN, Infinity or a number out of range");
      return reject(Reason::kMalformedJson, simdjson::error_message(err));
    }
    if (!doc.is_object()) return reject(Reason::kNotObject, "the message is not a JSON object");
    if (int d = Depth(doc); d > options_.max_depth) {
      return reject(Reason::kTooDeep, "nesting depth " + std::to_string(d) + " is over the limit of " +
                                          std::to_string(options_.max_depth));
    }
    simdjson::dom::object obj = doc.get_object().value_unsafe();

    // Device id.
    std::string_view device;
    simdjson::dom::element field;
    if (obj["client_id"].get(field)) return reject(Reason::kMissingField, "client_id is missing");
    if (!field.is_string()) return reject(Reason::kWrongType, "client_id is not a string");
    device = field.get_string().value_unsafe();
    if (device.empty() && options_.client_id_fallback && IsSafeDeviceId(msg.client_id)) device = msg.client_id;
    if (device.empty()) return reject(Reason::kBadDeviceId, "client_id is empty");
    if (!IsSafeDeviceId(device)) {
      return reject(Reason::kBadDeviceId, "client_id must be 1-128 characters of A-Z a-z 0-9 . _ : @ -");
    }

    // Event time.
    int64_t ts;
    if (obj["timestamp"].get(field)) return reject(Reason::kMissingField, "timestamp is missing");
    if (field.is_string()) {
      if (!timestamps_.ParseText(field.get_string().value_unsafe(), &ts)) {
        return reject(Reason::kBadTimestamp, "timestamp '" + std::string(field.get_string().value_unsafe()) +
                                                 "' is not a valid date and time");
      }
    } else if (field.is_number()) {
      if (!timestamps_.ParseEpoch(field.get_double().value_unsafe(), &ts)) {
        return reject(Reason::kBadTimestamp, "timestamp is not an epoch time in seconds or milliseconds");
      }
    } else {
      return reject(Reason::kWrongType, "timestamp is neither a string nor a number");
    }
    if (ts > msg.received_at_us + options_.max_future_skew_s * 1000000) {
      return reject(Reason::kTimestampSkew, "timestamp " + FormatTimestamp(ts) + " UTC is more than " +
                                                std::to_string(options_.max_future_skew_s) +
                                                " s ahead of the receive time");
    }

    // The reading line (docs/format/record.md), keys in a fixed order.
    std::string& line = out->value;
    line.clear();
    line += "{\"device\":";
    AppendJsonString(line, device);
    line += ",\"ts\":\"";
    line += FormatTimestamp(ts);
    line += "\",\"received_at\":\"";
    line += FormatTimestamp(msg.received_at_us);
    line += "\",\"topic\":";
    AppendJsonString(line, msg.topic);
    if (!obj["count"].get(field) && !field.is_null()) {
      if (!field.is_int64()) return reject(Reason::kWrongType, "count is not an integer");
      line += ",\"seq\":";
      line += std::to_string(field.get_int64().value_unsafe());
    }
    for (std::string_view name : kNumbers) {
      if (obj[name].get(field) || field.is_null()) continue;  // a sensor may be off
      if (!field.is_number()) return reject(Reason::kWrongType, std::string(name) + " is not a number");
      const double v = field.get_double().value_unsafe();
      if (!std::isfinite(v)) return reject(Reason::kNonFinite, std::string(name) + " is not a finite number");
      line += ",\"";
      line += name;
      line += "\":";
      AppendDouble(line, v);
    }
    bool first_extra = true;
    for (auto [key, value] : obj) {
      if (IsKnown(key)) continue;
      line += first_extra ? ",\"extra\":{" : ",";
      first_extra = false;
      AppendJsonString(line, key);
      line += ':';
      line += simdjson::minify(value);
    }
    if (!first_extra) line += '}';
    line += '}';
    out->key.assign(device);
    out->timestamp_us = ts;
    return true;
  }

 private:
  const std::string name_ = "default";
  const DefaultRuleOptions options_;
  const TimestampParser timestamps_;
  simdjson::dom::parser parser_;
};

}  // namespace

bool IsSafeDeviceId(std::string_view id) {
  if (id.empty() || id.size() > 128 || id == "." || id == "..") return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<std::unique_ptr<Rule>> MakeDefaultRule(const DefaultRuleOptions& options) {
  SP_ASSIGN_OR_RETURN(TimestampParser timestamps, TimestampParser::Create(options.device_time_zone));
  return std::unique_ptr<Rule>(new DefaultRule(options, timestamps));
}

}  // namespace sp
