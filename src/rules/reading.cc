#include "rules/reading.h"

#include <charconv>
#include <cmath>
#include <string>

#include "common/json_writer.h"
#include "common/time.h"

namespace sp {

using namespace std::string_view_literals;

namespace {

// The keys a reading takes from a rule's output; every other one goes to `extra`.
enum Known : int { kClientId, kTimestamp, kCount, kFirstNumber, kKnownCount = kFirstNumber + kReadingNumbers.size() };

// Which known key `key` is, or -1. By length first, so each case compares a constant number of
// bytes: this runs for every field of every message.
int KnownIndex(std::string_view key) {
  switch (key.size()) {
    case 3: return key == "yaw"sv ? kFirstNumber + 5 : -1;
    case 4: return key == "roll"sv ? kFirstNumber + 4 : -1;
    case 5: return key == "count"sv ? kCount : key == "pitch"sv ? kFirstNumber + 3 : -1;
    case 8: return key == "humidity"sv ? kFirstNumber + 1 : key == "pressure"sv ? kFirstNumber + 2 : -1;
    case 9: return key == "client_id"sv ? kClientId : key == "timestamp"sv ? kTimestamp : -1;
    case 11: return key == "temperature"sv ? kFirstNumber : -1;
    default: return -1;
  }
}

}  // namespace

bool ReadingMapper::Map(const Message& msg, std::span<const Field> fields, Record* out, Rejection* rejection) const {
  // The known keys in one pass; the first of a repeated key counts, as a JSON reader's lookup would.
  std::array<const Value*, kKnownCount> known{};
  bool extra = false;
  for (const Field& f : fields) {
    if (const int k = KnownIndex(f.name); k < 0) {
      extra = true;
    } else if (known[k] == nullptr) {
      known[k] = &f.value;
    }
  }

  // Device id.
  const Value* v = known[kClientId];
  if (v == nullptr || v->kind == Value::Kind::kUndefined)
    return Reject(rejection, Reason::kMissingField, "client_id is missing");
  if (v->kind != Value::Kind::kString) return Reject(rejection, Reason::kWrongType, "client_id is not a string");
  std::string_view device = v->s;
  if (device.empty() && options_.client_id_fallback && IsSafeDeviceId(msg.client_id)) device = msg.client_id;
  if (device.empty()) return Reject(rejection, Reason::kBadDeviceId, "client_id is empty");
  if (std::string_view identity = TopicIdentity(msg.topic, options_.identity_topic_prefix);
      !identity.empty() && device != identity) {
    return Reject(rejection, Reason::kSpoofedDevice,
                  "client_id '" + std::string(device) + "' is not the device '" + std::string(identity) +
                      "' that the topic speaks for");
  }
  if (!IsSafeDeviceId(device)) {
    return Reject(rejection, Reason::kBadDeviceId, "client_id must be " + std::string(kDeviceIdRule));
  }

  // Event time.
  int64_t ts;
  v = known[kTimestamp];
  if (v == nullptr || v->kind == Value::Kind::kUndefined)
    return Reject(rejection, Reason::kMissingField, "timestamp is missing");
  if (v->kind == Value::Kind::kString) {
    if (!timestamps_.ParseText(v->s, &ts)) {
      return Reject(rejection, Reason::kBadTimestamp,
                    "timestamp '" + std::string(v->s) + "' is not a valid date and time");
    }
  } else if (v->is_number()) {
    if (!timestamps_.ParseEpoch(v->number(), &ts)) {
      return Reject(rejection, Reason::kBadTimestamp, "timestamp is not an epoch time in seconds or milliseconds");
    }
  } else {
    return Reject(rejection, Reason::kWrongType, "timestamp is neither a string nor a number");
  }
  if (ts > msg.received_at_us + options_.max_future_skew_s * 1000000) {
    return Reject(rejection, Reason::kTimestampSkew,
                  "timestamp " + FormatTimestamp(ts) + " UTC is more than " +
                      std::to_string(options_.max_future_skew_s) + " s ahead of the receive time");
  }

  // The reading line (docs/format/record.md), keys in a fixed order.
  std::string& line = out->value;
  line.clear();
  // A fresh record (each HTTP request's batch is new) would otherwise grow four or five times.
  line.reserve(msg.payload.size() + msg.topic.size() + 96);
  line += "{\"device\":"sv;
  AppendJsonString(line, device);
  line += ",\"ts\":\""sv;
  AppendTimestamp(line, ts);
  line += "\",\"received_at\":\""sv;
  AppendTimestamp(line, msg.received_at_us);
  line += "\",\"topic\":"sv;
  AppendJsonString(line, msg.topic);
  if (v = known[kCount]; v != nullptr && !v->is_missing()) {
    if (v->kind != Value::Kind::kInt) return Reject(rejection, Reason::kWrongType, "count is not an integer");
    line += ",\"seq\":"sv;
    AppendValueJson(line, *v);
  }
  for (size_t i = 0; i < kReadingNumbers.size(); ++i) {
    const std::string_view name = kReadingNumbers[i];
    v = known[kFirstNumber + i];
    if (v == nullptr || v->is_missing()) continue;  // a sensor may be off
    if (!v->is_number()) return Reject(rejection, Reason::kWrongType, std::string(name) + " is not a number");
    if (!std::isfinite(v->number()))
      return Reject(rejection, Reason::kNonFinite, std::string(name) + " is not a finite number");
    line += ",\""sv;
    line += name;
    line += "\":"sv;
    AppendDouble(line, v->number());
  }
  bool first_extra = true;
  for (const Field& f : extra ? fields : std::span<const Field>()) {
    if (KnownIndex(f.name) >= 0 || f.value.kind == Value::Kind::kUndefined) continue;
    line += first_extra ? ",\"extra\":{"sv : ","sv;
    first_extra = false;
    AppendJsonString(line, f.name);
    line += ':';
    AppendValueJson(line, f.value);
  }
  if (!first_extra) line += '}';
  line += '}';
  out->key.assign(device);
  out->timestamp_us = ts;
  return true;
}

namespace {

// Consumes `,"key":` (or the line's opening `{"key":` when first) from *in.
bool Key(std::string_view* in, std::string_view key, bool first = false) {
  const size_t n = 1 + 1 + key.size() + 2;  // {" or ," then key then ":
  if (in->size() < n || (*in)[0] != (first ? '{' : ',') || (*in)[1] != '"' || in->substr(2, key.size()) != key ||
      in->substr(2 + key.size(), 2) != "\":") {
    return false;
  }
  in->remove_prefix(n);
  return true;
}

// Consumes a JSON string and returns its raw contents (escapes left as they are).
bool RawString(std::string_view* in, std::string_view* out) {
  if (in->empty() || (*in)[0] != '"') return false;
  size_t end = in->find('"', 1);  // memchr: the common case has no escape at all
  if (end != std::string_view::npos && in->substr(1, end - 1).find('\\') != std::string_view::npos) {
    end = std::string_view::npos;
    for (size_t i = 1; i < in->size(); ++i) {
      if ((*in)[i] == '\\') {
        ++i;
      } else if ((*in)[i] == '"') {
        end = i;
        break;
      }
    }
  }
  if (end == std::string_view::npos) return false;
  *out = in->substr(1, end - 1);
  in->remove_prefix(end + 1);
  return true;
}

template <typename T>
bool Number(std::string_view* in, T* out) {
  auto [end, ec] = std::from_chars(in->data(), in->data() + in->size(), *out);
  if (ec != std::errc()) return false;
  in->remove_prefix(static_cast<size_t>(end - in->data()));
  return true;
}

}  // namespace

bool ParseReadingLine(std::string_view in, ReadingLineFields* out) {
  static const TimestampParser utc = *TimestampParser::Create("UTC");
  std::string_view text;
  if (!Key(&in, "device", true) || !RawString(&in, &text) || !Key(&in, "ts") || !RawString(&in, &text) ||
      !Key(&in, "received_at") || !RawString(&in, &text) || !utc.ParseText(text, &out->received_at_us) ||
      !Key(&in, "topic") || !RawString(&in, &text)) {
    return false;
  }
  out->seq.reset();
  if (int64_t seq; Key(&in, "seq")) {
    if (!Number(&in, &seq)) return false;
    out->seq = seq;
  }
  for (size_t i = 0; i < kReadingNumbers.size(); ++i) {
    out->numbers[i].reset();
    if (double v; Key(&in, kReadingNumbers[i])) {
      if (!Number(&in, &v)) return false;
      out->numbers[i] = v;
    }
  }
  return in == "}" || in.starts_with(",\"extra\":{");
}

std::string_view TopicIdentity(std::string_view topic, std::string_view prefix) {
  if (prefix.empty() || !topic.starts_with(prefix)) return {};
  topic.remove_prefix(prefix.size());
  const size_t slash = topic.find('/');
  if (slash == 0 || slash == std::string_view::npos) return {};
  return topic.substr(0, slash);
}

}  // namespace sp
