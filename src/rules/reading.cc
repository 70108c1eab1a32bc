#include "rules/reading.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "common/json_writer.h"
#include "common/time.h"

namespace sp {

using namespace std::string_view_literals;

namespace {

// The keys of a reading line with their punctuation, as Map writes them and ParseReadingLine
// matches them: one comparison of a known length each (key by key, these comparisons were a
// quarter of the parse).
constexpr std::string_view kDeviceKey = "{\"device\":";
constexpr std::string_view kTsKey = ",\"ts\":";
constexpr std::string_view kReceivedAtKey = ",\"received_at\":";
constexpr std::string_view kTopicKey = ",\"topic\":";
constexpr std::string_view kSeqKey = ",\"seq\":";
constexpr std::array<std::string_view, kReadingNumbers.size()> kNumberKeys = {
    ",\"temperature\":", ",\"humidity\":", ",\"pressure\":", ",\"pitch\":", ",\"roll\":", ",\"yaw\":"};

constexpr bool NumberKeysMatch() {
  for (size_t i = 0; i < kNumberKeys.size(); ++i) {
    const std::string_view k = kNumberKeys[i];
    if (!k.starts_with(",\"") || !k.ends_with("\":") || k.substr(2, k.size() - 4) != kReadingNumbers[i]) return false;
    if (k.size() < 4 || k.size() > 16) return false;  // see Key
  }
  for (std::string_view k : {kDeviceKey, kTsKey, kReceivedAtKey, kTopicKey, kSeqKey}) {
    if (k.size() < 4 || k.size() > 16) return false;
  }
  return true;
}
static_assert(NumberKeysMatch(), "kNumberKeys are kReadingNumbers as the line writes them; keys are 4-16 bytes");

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

  // The reading line (docs/format/record.md), keys in a fixed order, written through a pointer
  // into room made once: appending it piece by piece cost a fifth more of ingest's CPU. The room
  // is an upper bound; what is left over goes at the end.
  std::string& line = out->value;
  constexpr size_t kFixed = 128 + 2 * kMaxTimestampChars + kReadingNumbers.size() * (16 + kMaxDoubleChars);
  line.resize(kFixed + JsonStringRoom(device) + JsonStringRoom(msg.topic));
  char* p = line.data();
  auto put = [&p](std::string_view text) {
    std::memcpy(p, text.data(), text.size());
    p += text.size();
  };
  put(kDeviceKey);
  p = WriteJsonString(p, device);
  put(kTsKey);
  *p++ = '"';
  p = WriteTimestamp(p, ts);
  *p++ = '"';
  put(kReceivedAtKey);
  *p++ = '"';
  p = WriteTimestamp(p, msg.received_at_us);
  *p++ = '"';
  put(kTopicKey);
  p = WriteJsonString(p, msg.topic);
  if (v = known[kCount]; v != nullptr && !v->is_missing()) {
    if (v->kind != Value::Kind::kInt) return Reject(rejection, Reason::kWrongType, "count is not an integer");
    put(kSeqKey);
    p = std::to_chars(p, p + 24, v->i).ptr;
  }
  for (size_t i = 0; i < kReadingNumbers.size(); ++i) {
    const std::string_view name = kReadingNumbers[i];
    v = known[kFirstNumber + i];
    if (v == nullptr || v->is_missing()) continue;  // a sensor may be off
    if (!v->is_number()) return Reject(rejection, Reason::kWrongType, std::string(name) + " is not a number");
    if (!std::isfinite(v->number()))
      return Reject(rejection, Reason::kNonFinite, std::string(name) + " is not a finite number");
    put(kNumberKeys[i]);
    p = WriteDouble(p, v->number());
  }
  line.resize(static_cast<size_t>(p - line.data()));
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


template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // one unaligned load
  return v;
}

// Consumes key (as above, 4 to 16 bytes) from *in. Two overlapping 8- or 4-byte comparisons cover
// the key: a call to memcmp for each cost as much as the rest of the key's handling.
bool Key(std::string_view* in, std::string_view key) {
  const size_t n = key.size();
  if (in->size() < n) return false;
  const char* a = in->data();
  const char* b = key.data();
  const bool same =
      n >= 8 ? Load<uint64_t>(a) == Load<uint64_t>(b) && Load<uint64_t>(a + n - 8) == Load<uint64_t>(b + n - 8)
             : Load<uint32_t>(a) == Load<uint32_t>(b) && Load<uint32_t>(a + n - 4) == Load<uint32_t>(b + n - 4);
  if (!same) return false;
  in->remove_prefix(n);
  return true;
}

// Consumes a JSON string and returns its raw contents (escapes left as they are).
bool RawString(std::string_view* in, std::string_view* out) {
  if (in->empty() || (*in)[0] != '"') return false;
  // memchr finds the first quote; it ends the string unless a backslash stands right before it.
  size_t end = in->find('"', 1);
  if (end != std::string_view::npos && (*in)[end - 1] == '\\') {
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

// Consumes a timestamp string: the writer's own form directly, any other as the rules read it.
bool Timestamp(std::string_view* in, int64_t* out) {
  static const TimestampParser utc = *TimestampParser::Create("UTC");
  std::string_view text;
  return RawString(in, &text) && (ParseTimestamp(text, out) || utc.ParseText(text, out));
}

// Consumes a number as std::from_chars reads it.
template <typename T>
bool FromChars(std::string_view* in, T* out) {
  auto [end, ec] = std::from_chars(in->data(), in->data() + in->size(), *out);
  if (ec != std::errc()) return false;
  in->remove_prefix(static_cast<size_t>(end - in->data()));
  return true;
}

// Reads a number as std::from_chars does, the short decimals of readings at a fraction of its
// cost by Clinger's fast path: when the digits make an integer m <= 2^53 with k <= 22 of them
// after the point, m and 10^k are exact doubles, so one division rounds m / 10^k correctly, to
// the double from_chars returns. Anything else (exponents, long mantissas) goes to from_chars.
bool Number(std::string_view* in, double* out) {
  static constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                            1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const char* p = in->data();
  const char* const end = p + in->size();
  const bool negative = p != end && *p == '-';
  p += negative;
  uint64_t m = 0;  // wraps past 19 digits, which then take the slow path
  int digits = 0;
  auto digit = [&p, end] { return p != end && static_cast<unsigned>(*p - '0') <= 9; };
  for (; digit(); ++p, ++digits) m = m * 10 + static_cast<unsigned>(*p - '0');
  const int whole = digits;
  int decimals = 0;
  if (p != end && *p == '.') {
    for (++p; digit(); ++p, ++digits, ++decimals) m = m * 10 + static_cast<unsigned>(*p - '0');
    if (decimals == 0) return FromChars(in, out);
  }
  if (whole == 0 || digits > 19 || m > (uint64_t{1} << 53) || decimals >= std::ssize(kPowersOfTen) ||
      (p != end && (*p == 'e' || *p == 'E'))) {
    return FromChars(in, out);
  }
  const double v = static_cast<double>(m) / kPowersOfTen[decimals];
  *out = negative ? -v : v;
  in->remove_prefix(static_cast<size_t>(p - in->data()));
  return true;
}

}  // namespace

bool ParseReadingLine(std::string_view in, ReadingLineFields* out) {
  std::string_view text;
  if (!Key(&in, kDeviceKey) || !RawString(&in, &text) || !Key(&in, kTsKey) || !RawString(&in, &text) ||
      !Key(&in, kReceivedAtKey) || !Timestamp(&in, &out->received_at_us) || !Key(&in, kTopicKey) ||
      !RawString(&in, &text)) {
    return false;
  }
  out->seq.reset();
  if (int64_t seq; Key(&in, kSeqKey)) {
    if (!FromChars(&in, &seq)) return false;
    out->seq = seq;
  }
  for (size_t i = 0; i < kReadingNumbers.size(); ++i) {
    out->numbers[i].reset();
    if (double v; Key(&in, kNumberKeys[i])) {
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
