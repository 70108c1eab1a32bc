#include "rules/reading.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "common/json_writer.h"
#include "common/time.h"

namespace sp {

namespace {

// A column's key with its punctuation, {"device": or ,"ts":, as Map writes it and ParseReadingLine
// matches it: one comparison of a known length each (key by key, these comparisons were a quarter
// of the parse). 4 to 16 bytes, see Key.
struct LineKey {
  std::array<char, 16> text{};
  size_t size = 0;
};
constexpr std::array<LineKey, kReadingColumns.size()> kLineKeyText = [] {
  std::array<LineKey, kReadingColumns.size()> keys{};
  for (size_t i = 0; i < keys.size(); ++i) {
    LineKey& k = keys[i];
    auto put = [&k](std::string_view s) {
      for (char c : s) k.text.at(k.size++) = c;  // past 16 bytes: not a constant, so no build
    };
    put(i == 0 ? "{\"" : ",\"");
    put(kReadingColumns[i].name);
    put("\":");
  }
  return keys;
}();
constexpr std::array<std::string_view, kReadingColumns.size()> kLineKeys = [] {
  std::array<std::string_view, kReadingColumns.size()> keys{};
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = {kLineKeyText[i].text.data(), kLineKeyText[i].size};
  return keys;
}();
static_assert(std::ranges::all_of(kLineKeys, [](std::string_view k) { return k.size() >= 4; }), "see Key");

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // one unaligned load
  return v;
}

// Whether the n bytes (2 to 16) at a and b are the same, by two overlapping loads: a call to
// memcmp for each key cost as much as the rest of the key's handling.
bool SameBytes(const char* a, const char* b, size_t n) {
  if (n >= 8) return Load<uint64_t>(a) == Load<uint64_t>(b) && Load<uint64_t>(a + n - 8) == Load<uint64_t>(b + n - 8);
  if (n >= 4) return Load<uint32_t>(a) == Load<uint32_t>(b) && Load<uint32_t>(a + n - 4) == Load<uint32_t>(b + n - 4);
  return Load<uint16_t>(a) == Load<uint16_t>(b) && Load<uint16_t>(a + n - 2) == Load<uint16_t>(b + n - 2);
}

// The message fields a reading takes (ReadingColumn::field) by their length, as the columns they
// fill (-1: none); every other field goes to `extra`.
constexpr size_t kMaxFieldSize = 16;
constexpr size_t kMaxSameSize = 2;  // fields of one length
constexpr auto kFieldsBySize = [] {
  std::array<std::array<int, kMaxSameSize>, kMaxFieldSize + 1> by_size{};
  for (auto& columns : by_size) columns.fill(-1);
  for (size_t i = 0; i < kReadingColumns.size(); ++i) {
    const std::string_view field = kReadingColumns[i].field;
    if (field.empty()) continue;
    // Past the sizes above: not a constant, so no build.
    auto& columns = by_size.at(field.size());
    columns.at(static_cast<size_t>(std::ranges::find(columns, -1) - columns.begin())) = static_cast<int>(i);
  }
  return by_size;
}();
static_assert(std::ranges::all_of(kReadingColumns, [](const ReadingColumn& c) { return c.field.size() != 1; }),
              "see SameBytes");

// Which column the message field `key` fills, or -1. By length first, so each candidate costs one
// comparison of a few loads: this runs for every field of every message.
int KnownIndex(std::string_view key) {
  if (key.size() > kMaxFieldSize) return -1;
  for (const int column : kFieldsBySize[key.size()]) {
    if (column < 0) break;
    if (SameBytes(key.data(), kReadingColumns[column].field.data(), key.size())) return column;
  }
  return -1;
}

}  // namespace

bool ReadingMapper::Map(const Message& msg, std::span<const Field> fields, Record* out, Rejection* rejection) const {
  // The known keys in one pass; the first of a repeated key counts, as a JSON reader's lookup would.
  std::array<const Value*, kReadingColumns.size()> known{};
  bool extra = false;
  for (const Field& f : fields) {
    if (const int k = KnownIndex(f.name); k < 0) {
      extra = true;
    } else if (known[k] == nullptr) {
      known[k] = &f.value;
    }
  }

  // Device id.
  const Value* v = known[kDeviceColumn];
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
  v = known[kTsColumn];
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
  constexpr size_t kFixed = 128 + 2 * kMaxTimestampChars + kMetricCount * (16 + kMaxDoubleChars);
  line.resize(kFixed + JsonStringRoom(device) + JsonStringRoom(msg.topic));
  char* p = line.data();
  auto put = [&p](std::string_view text) {
    std::memcpy(p, text.data(), text.size());
    p += text.size();
  };
  put(kLineKeys[kDeviceColumn]);
  p = WriteJsonString(p, device);
  put(kLineKeys[kTsColumn]);
  *p++ = '"';
  p = WriteTimestamp(p, ts);
  *p++ = '"';
  put(kLineKeys[kReceivedAtColumn]);
  *p++ = '"';
  p = WriteTimestamp(p, msg.received_at_us);
  *p++ = '"';
  put(kLineKeys[kTopicColumn]);
  p = WriteJsonString(p, msg.topic);
  if (v = known[kSeqColumn]; v != nullptr && !v->is_missing()) {
    if (v->kind != Value::Kind::kInt) return Reject(rejection, Reason::kWrongType, "count is not an integer");
    put(kLineKeys[kSeqColumn]);
    p = std::to_chars(p, p + 24, v->i).ptr;
  }
  for (size_t i = 0; i < kMetricCount; ++i) {
    const std::string_view name = kReadingColumns[kFirstMetricColumn + i].field;
    v = known[kFirstMetricColumn + i];
    if (v == nullptr || v->is_missing()) continue;  // a sensor may be off
    if (!v->is_number()) return Reject(rejection, Reason::kWrongType, std::string(name) + " is not a number");
    if (!std::isfinite(v->number()))
      return Reject(rejection, Reason::kNonFinite, std::string(name) + " is not a finite number");
    put(kLineKeys[kFirstMetricColumn + i]);
    p = WriteDouble(p, v->number());
  }
  line.resize(static_cast<size_t>(p - line.data()));
  bool first_extra = true;
  for (const Field& f : extra ? fields : std::span<const Field>()) {
    if (KnownIndex(f.name) >= 0 || f.value.kind == Value::Kind::kUndefined) continue;
    if (first_extra) line += kLineKeys[kExtraColumn];
    line += first_extra ? '{' : ',';
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

// Consumes key (a column's, as the line writes it) from *in.
bool Key(std::string_view* in, std::string_view key) {
  if (in->size() < key.size() || !SameBytes(in->data(), key.data(), key.size())) return false;
  in->remove_prefix(key.size());
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
  if (!Key(&in, kLineKeys[kDeviceColumn]) || !RawString(&in, &text) || !Key(&in, kLineKeys[kTsColumn]) ||
      !RawString(&in, &text) || !Key(&in, kLineKeys[kReceivedAtColumn]) || !Timestamp(&in, &out->received_at_us) ||
      !Key(&in, kLineKeys[kTopicColumn]) || !RawString(&in, &text)) {
    return false;
  }
  out->seq.reset();
  if (int64_t seq; Key(&in, kLineKeys[kSeqColumn])) {
    if (!FromChars(&in, &seq)) return false;
    out->seq = seq;
  }
  for (size_t i = 0; i < kMetricCount; ++i) {
    out->numbers[i].reset();
    if (double v; Key(&in, kLineKeys[kFirstMetricColumn + i])) {
      if (!Number(&in, &v)) return false;
      out->numbers[i] = v;
    }
  }
  return in == "}" ||
         (in.starts_with(kLineKeys[kExtraColumn]) && in.substr(kLineKeys[kExtraColumn].size()).starts_with('{'));
}

std::string_view TopicIdentity(std::string_view topic, std::string_view prefix) {
  if (prefix.empty() || !topic.starts_with(prefix)) return {};
  topic.remove_prefix(prefix.size());
  const size_t slash = topic.find('/');
  if (slash == 0 || slash == std::string_view::npos) return {};
  return topic.substr(0, slash);
}

}  // namespace sp
