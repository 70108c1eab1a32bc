#include "mqtt/codec.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstring>

#include "common/json_writer.h"

namespace sp::mqtt {

namespace {

void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xff));
}
void PutString(std::string* out, std::string_view s) {
  PutU16(out, static_cast<uint16_t>(s.size()));
  out->append(s);
}
// Wraps a variable header + payload in its fixed header.
void Finish(uint8_t first_byte, const std::string& body, std::string* out) {
  out->push_back(static_cast<char>(first_byte));
  PutVarint(out, body.size());
  out->append(body);
}
uint16_t GetU16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) | static_cast<uint8_t>(s[at + 1]));
}

uint32_t GetU32(std::string_view s, size_t at) {
  return (uint32_t{GetU16(s, at)} << 16) | GetU16(s, at + 2);
}
void PutU32(std::string* out, uint32_t v) {
  PutU16(out, static_cast<uint16_t>(v >> 16));
  PutU16(out, static_cast<uint16_t>(v & 0xffff));
}

// MQTT 5 section 1.5.4: a UTF-8 Encoded String must be well-formed UTF-8 (no overlong forms, no
// surrogates, nothing past U+10FFFF) and must not contain U+0000; a receiver closes on either.
bool ValidUtf8(std::string_view s) {
  return s.find('\0') == std::string_view::npos && IsValidUtf8(s);
}

std::string Hex(uint8_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[v >> 4] + kDigits[v & 0xf];
}

enum class VarintResult { kOk, kNeedMore, kTooLong };
// A Variable Byte Integer at bytes[at]: at most 4 bytes (MQTT 3.1.1 2.2.3, MQTT 5 1.5.5).
VarintResult GetVarint(std::string_view bytes, size_t at, size_t* value, size_t* used) {
  size_t v = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (at + i >= bytes.size()) return VarintResult::kNeedMore;
    const uint8_t b = static_cast<uint8_t>(bytes[at + i]);
    v |= static_cast<size_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *value = v;
      *used = i + 1;
      return VarintResult::kOk;
    }
  }
  return VarintResult::kTooLong;
}

// The MQTT 5 properties block at body[*at]: its varint length and the bytes, which must fit.
Result<std::string_view> TakeProperties(std::string_view body, size_t* at, const char* what) {
  size_t len = 0, used = 0;
  switch (GetVarint(body, *at, &len, &used)) {
    case VarintResult::kOk:
      break;
    case VarintResult::kNeedMore:
      return Status::Corruption(std::string(what) + ": properties length past the end");
    case VarintResult::kTooLong:
      return Status::Corruption(std::string(what) + ": properties length longer than 4 bytes");
  }
  if (len > body.size() - *at - used) return Status::Corruption(std::string(what) + ": properties past the end");
  std::string_view props = body.substr(*at + used, len);
  *at += used + len;
  return props;
}

// ---- MQTT 5 properties: what each identifier is (MQTT 5 table 2-4) ----

enum class PropType { kByte, kTwoByte, kFourByte, kVarint, kString, kBinary, kStringPair };

constexpr uint16_t In(PacketType t) {
  return static_cast<uint16_t>(1u << static_cast<unsigned>(t));
}
constexpr uint16_t kAcks =
    In(PacketType::kPuback) | In(PacketType::kPubrec) | In(PacketType::kPubrel) | In(PacketType::kPubcomp);
constexpr uint16_t kEveryPacketWithProperties =
    In(PacketType::kConnect) | In(PacketType::kConnack) | In(PacketType::kPublish) | kAcks |
    In(PacketType::kSubscribe) | In(PacketType::kSuback) | In(PacketType::kUnsubscribe) | In(PacketType::kUnsuback) |
    In(PacketType::kDisconnect) | In(PacketType::kAuth);

struct PropInfo {
  const char* name;
  PropType type;
  uint16_t packets;  // bit per PacketType the property may appear in
};

// nullptr for an identifier the spec does not define.
const PropInfo* InfoOf(uint8_t id) {
  using P = PacketType;
  static constexpr PropInfo kPublishOnly[] = {
      {"Payload Format Indicator", PropType::kByte, In(P::kPublish)},
      {"Message Expiry Interval", PropType::kFourByte, In(P::kPublish)},
      {"Content Type", PropType::kString, In(P::kPublish)},
  };
  static constexpr PropInfo kResponseTopic = {"Response Topic", PropType::kString, In(P::kPublish)};
  static constexpr PropInfo kCorrelationData = {"Correlation Data", PropType::kBinary, In(P::kPublish)};
  static constexpr PropInfo kSubscriptionId = {"Subscription Identifier", PropType::kVarint,
                                               In(P::kPublish) | In(P::kSubscribe)};
  // 0x11 to 0x2a, in order; a null name is a gap in the numbering.
  static constexpr PropInfo kFrom0x11[] = {
      {"Session Expiry Interval", PropType::kFourByte, In(P::kConnect) | In(P::kConnack) | In(P::kDisconnect)},
      {"Assigned Client Identifier", PropType::kString, In(P::kConnack)},
      {"Server Keep Alive", PropType::kTwoByte, In(P::kConnack)},
      {nullptr, PropType::kByte, 0},  // 0x14
      {"Authentication Method", PropType::kString, In(P::kConnect) | In(P::kConnack) | In(P::kAuth)},
      {"Authentication Data", PropType::kBinary, In(P::kConnect) | In(P::kConnack) | In(P::kAuth)},
      {"Request Problem Information", PropType::kByte, In(P::kConnect)},
      {"Will Delay Interval", PropType::kFourByte, 0},  // will properties only, never a packet's
      {"Request Response Information", PropType::kByte, In(P::kConnect)},
      {"Response Information", PropType::kString, In(P::kConnack)},
      {nullptr, PropType::kByte, 0},  // 0x1b
      {"Server Reference", PropType::kString, In(P::kConnack) | In(P::kDisconnect)},
      {nullptr, PropType::kByte, 0},  // 0x1d
      {nullptr, PropType::kByte, 0},  // 0x1e
      {"Reason String", PropType::kString,
       In(P::kConnack) | kAcks | In(P::kSuback) | In(P::kUnsuback) | In(P::kDisconnect) | In(P::kAuth)},
      {nullptr, PropType::kByte, 0},  // 0x20
      {"Receive Maximum", PropType::kTwoByte, In(P::kConnect) | In(P::kConnack)},
      {"Topic Alias Maximum", PropType::kTwoByte, In(P::kConnect) | In(P::kConnack)},
      {"Topic Alias", PropType::kTwoByte, In(P::kPublish)},
      {"Maximum QoS", PropType::kByte, In(P::kConnack)},
      {"Retain Available", PropType::kByte, In(P::kConnack)},
      {"User Property", PropType::kStringPair, kEveryPacketWithProperties},
      {"Maximum Packet Size", PropType::kFourByte, In(P::kConnect) | In(P::kConnack)},
      {"Wildcard Subscription Available", PropType::kByte, In(P::kConnack)},
      {"Subscription Identifier Available", PropType::kByte, In(P::kConnack)},
      {"Shared Subscription Available", PropType::kByte, In(P::kConnack)},
  };
  if (id >= 0x01 && id <= 0x03) return &kPublishOnly[id - 0x01];
  if (id == 0x08) return &kResponseTopic;
  if (id == 0x09) return &kCorrelationData;
  if (id == 0x0b) return &kSubscriptionId;
  if (id >= 0x11 && id <= 0x2a && kFrom0x11[id - 0x11].name != nullptr) return &kFrom0x11[id - 0x11];
  return nullptr;
}

[[maybe_unused]] bool HasType(PropertyId id, PropType type) {
  const PropInfo* info = InfoOf(static_cast<uint8_t>(id));
  return info != nullptr && info->type == type;
}

// A two-byte length and that many bytes at block[*at], for strings and binary data.
bool TakeLengthPrefixed(std::string_view block, size_t* at, std::string_view* out) {
  if (block.size() - *at < 2) return false;
  const size_t len = GetU16(block, *at);
  if (block.size() - *at - 2 < len) return false;
  *out = block.substr(*at + 2, len);
  *at += 2 + len;
  return true;
}

// The flags the fixed header must carry for each type (3.1.1 table 2.2, MQTT 5 table 2-2);
// -1 for PUBLISH, whose flags are meaningful.
int RequiredFlags(PacketType t) {
  switch (t) {
    case PacketType::kPublish:
      return -1;
    case PacketType::kPubrel:
    case PacketType::kSubscribe:
    case PacketType::kUnsubscribe:
      return 0x2;
    default:
      return 0;
  }
}

// The variable header of a PUBLISH (topic, packet id, MQTT 5 properties) from the first bytes of
// its body: its size, NotFound when more bytes are needed (and may still come: the packet says
// remaining_length), Corruption when it cannot fit in the packet.
Result<size_t> PublishHeadSize(uint8_t flags, std::string_view body, size_t remaining_length, Version v) {
  const uint8_t qos = (flags >> 1) & 0x03;
  size_t need = 2;
  if (body.size() < need) {
    return remaining_length < need ? Status::Corruption("PUBLISH too short for its topic length")
                                   : Status::NotFound("need more bytes");
  }
  need += GetU16(body, 0);
  if (qos > 0) need += 2;
  if (need > remaining_length) return Status::Corruption("PUBLISH topic longer than the packet");
  if (v == Version::kV5) {
    size_t len = 0, used = 0;
    switch (GetVarint(body.substr(0, remaining_length), need, &len, &used)) {
      case VarintResult::kOk:
        break;
      case VarintResult::kNeedMore:
        return body.size() >= remaining_length || need + 4 <= body.size()
                   ? Status::Corruption("PUBLISH properties length past the end")
                   : Status::NotFound("need more bytes");
      case VarintResult::kTooLong:
        return Status::Corruption("PUBLISH properties length longer than 4 bytes");
    }
    need += used + len;
    if (need > remaining_length) return Status::Corruption("PUBLISH properties past the end");
  }
  if (need > body.size()) return Status::NotFound("need more bytes");
  return need;
}

// The body of a PUBLISH into out, which DecodeInto has reset.
Status DecodePublishBody(uint8_t flags, std::string_view body, Version v, Packet* out) {
  Publish& p = out->publish;
  p.retain = flags & 0x01;
  p.qos = (flags >> 1) & 0x03;
  p.dup = flags & 0x08;
  if (p.qos == 3) return Status::Corruption("PUBLISH with QoS 3");
  if (p.qos == 0 && p.dup) return Status::Corruption("PUBLISH with QoS 0 and DUP set");
  if (body.size() < 2) return Status::Corruption("PUBLISH too short for its topic length");
  const size_t topic_len = GetU16(body, 0);
  size_t at = 2 + topic_len;
  if (at > body.size()) return Status::Corruption("PUBLISH topic longer than the packet");
  p.topic = body.substr(2, topic_len);
  if (p.topic.empty() && v == Version::kV311) return Status::Corruption("PUBLISH with an empty topic");
  for (const char c : p.topic) {  // not find_first_of, which calls memchr once per byte of the topic
    if (c == '+' || c == '#' || c == '\0') return Status::Corruption("PUBLISH topic with a wildcard or NUL");
  }
  // A topic name is a UTF-8 Encoded String (MQTT 5 section 3.3.2.1); it goes into JSON records,
  // which must stay valid. A broker that checks (mosquitto does) never sends one that is not.
  if (!IsValidUtf8(p.topic)) return Status::Corruption("PUBLISH topic is not valid UTF-8");
  if (p.qos > 0) {
    if (at + 2 > body.size()) return Status::Corruption("PUBLISH too short for its packet id");
    p.packet_id = GetU16(body, at);
    if (p.packet_id == 0) return Status::Corruption("PUBLISH with packet id 0");
    at += 2;
  }
  if (v == Version::kV5) {
    SP_ASSIGN_OR_RETURN(out->properties, TakeProperties(body, &at, "PUBLISH"));
    // Most PUBLISH packets carry none, and an empty block parses to the defaults DecodeInto left.
    if (!out->properties.empty()) {
      SP_ASSIGN_OR_RETURN(out->props, ParseProperties(PacketType::kPublish, out->properties));
    }
    // MQTT 5 3.3.2.1: an empty topic is allowed only when a Topic Alias stands for it.
    if (p.topic.empty() && !out->props.topic_alias) {
      return Status::Corruption("PUBLISH with an empty topic and no alias");
    }
  }
  p.payload = body.substr(at);
  p.payload_size = p.payload.size();
  out->packet_id = p.packet_id;
  return Status::OK();
}

}  // namespace

void PutVarint(std::string* out, size_t n) {
  do {
    uint8_t byte = n % 128;
    n /= 128;
    if (n > 0) byte |= 0x80;
    out->push_back(static_cast<char>(byte));
  } while (n > 0);
}

void PropertyWriter::Byte(PropertyId id, uint8_t v) {
  assert(HasType(id, PropType::kByte));
  bytes_.push_back(static_cast<char>(id));
  bytes_.push_back(static_cast<char>(v));
}
void PropertyWriter::TwoByte(PropertyId id, uint16_t v) {
  assert(HasType(id, PropType::kTwoByte));
  bytes_.push_back(static_cast<char>(id));
  PutU16(&bytes_, v);
}
void PropertyWriter::FourByte(PropertyId id, uint32_t v) {
  assert(HasType(id, PropType::kFourByte));
  bytes_.push_back(static_cast<char>(id));
  PutU32(&bytes_, v);
}
void PropertyWriter::Varint(PropertyId id, uint32_t v) {
  assert(HasType(id, PropType::kVarint) && v <= kMaxRemainingLength);
  bytes_.push_back(static_cast<char>(id));
  PutVarint(&bytes_, v);
}
void PropertyWriter::String(PropertyId id, std::string_view s) {
  assert(HasType(id, PropType::kString) && s.size() <= 0xffff);
  bytes_.push_back(static_cast<char>(id));
  PutString(&bytes_, s);
}
void PropertyWriter::Binary(PropertyId id, std::string_view data) {
  assert(HasType(id, PropType::kBinary) && data.size() <= 0xffff);
  bytes_.push_back(static_cast<char>(id));
  PutString(&bytes_, data);  // the same two-byte length prefix
}
void PropertyWriter::StringPair(PropertyId id, std::string_view name, std::string_view value) {
  assert(HasType(id, PropType::kStringPair) && name.size() <= 0xffff && value.size() <= 0xffff);
  bytes_.push_back(static_cast<char>(id));
  PutString(&bytes_, name);
  PutString(&bytes_, value);
}
void PropertyWriter::AppendTo(std::string* out) const {
  PutVarint(out, bytes_.size());
  out->append(bytes_);
}

void EncodeProperties(const Properties& p, std::string* out) {
  using Id = PropertyId;
  PropertyWriter w;
  if (p.payload_format) w.Byte(Id::kPayloadFormatIndicator, *p.payload_format);
  if (p.message_expiry_s) w.FourByte(Id::kMessageExpiryInterval, *p.message_expiry_s);
  if (p.content_type) w.String(Id::kContentType, *p.content_type);
  for (uint32_t id : p.subscription_ids) w.Varint(Id::kSubscriptionIdentifier, id);
  if (p.session_expiry_s) w.FourByte(Id::kSessionExpiryInterval, *p.session_expiry_s);
  if (p.assigned_client_id) w.String(Id::kAssignedClientIdentifier, *p.assigned_client_id);
  if (p.server_keepalive_s) w.TwoByte(Id::kServerKeepAlive, *p.server_keepalive_s);
  if (p.reason_string) w.String(Id::kReasonString, *p.reason_string);
  if (p.receive_maximum) w.TwoByte(Id::kReceiveMaximum, *p.receive_maximum);
  if (p.topic_alias_maximum) w.TwoByte(Id::kTopicAliasMaximum, *p.topic_alias_maximum);
  if (p.topic_alias) w.TwoByte(Id::kTopicAlias, *p.topic_alias);
  if (p.maximum_qos) w.Byte(Id::kMaximumQos, *p.maximum_qos);
  for (const auto& [name, value] : p.user_properties) w.StringPair(Id::kUserProperty, name, value);
  if (p.maximum_packet_size) w.FourByte(Id::kMaximumPacketSize, *p.maximum_packet_size);
  if (p.wildcard_subscription_available) {
    w.Byte(Id::kWildcardSubscriptionAvailable, *p.wildcard_subscription_available ? 1 : 0);
  }
  if (p.shared_subscription_available) {
    w.Byte(Id::kSharedSubscriptionAvailable, *p.shared_subscription_available ? 1 : 0);
  }
  w.AppendTo(out);
}

Result<Properties> ParseProperties(PacketType type, std::string_view block) {
  // Messages are built only on failure: this runs for every MQTT 5 PUBLISH.
  const PropInfo* info = nullptr;
  auto bad = [&](std::string_view problem) {
    return Status::Corruption(std::string(PacketTypeName(type)) + " property " + info->name + " " +
                              std::string(problem));
  };
  Properties p;
  uint64_t seen = 0;  // one bit per identifier (all are below 64)
  size_t at = 0;
  while (at < block.size()) {
    // The identifier is a varint, but every defined one is below 0x80: one byte. A byte with the
    // continuation bit is therefore an identifier this decoder cannot know.
    const uint8_t id = static_cast<uint8_t>(block[at++]);
    info = InfoOf(id);
    if (info == nullptr) {
      return Status::Corruption(std::string(PacketTypeName(type)) + " property with unknown identifier " + Hex(id));
    }
    if ((info->packets & In(type)) == 0) return bad("is not allowed there");
    // MQTT 5 2.2.2.2: only User Property may repeat, and Subscription Identifier in a PUBLISH
    // (one per matching subscription); any other twice is a protocol error.
    const bool may_repeat =
        id == static_cast<uint8_t>(PropertyId::kUserProperty) ||
        (id == static_cast<uint8_t>(PropertyId::kSubscriptionIdentifier) && type == PacketType::kPublish);
    if (!may_repeat && ((seen >> id) & 1) != 0) return bad("more than once");
    seen |= uint64_t{1} << id;

    uint32_t number = 0;
    std::string_view text, text2;
    const size_t left = block.size() - at;
    switch (info->type) {
      case PropType::kByte:
        if (left < 1) return bad("cut short");
        number = static_cast<uint8_t>(block[at]);
        at += 1;
        break;
      case PropType::kTwoByte:
        if (left < 2) return bad("cut short");
        number = GetU16(block, at);
        at += 2;
        break;
      case PropType::kFourByte:
        if (left < 4) return bad("cut short");
        number = GetU32(block, at);
        at += 4;
        break;
      case PropType::kVarint: {
        size_t v = 0, used = 0;
        if (GetVarint(block, at, &v, &used) != VarintResult::kOk) {
          return bad("is not a valid variable byte integer");
        }
        number = static_cast<uint32_t>(v);
        at += used;
        break;
      }
      case PropType::kString:
      case PropType::kBinary:
        if (!TakeLengthPrefixed(block, &at, &text)) return bad("longer than its block");
        if (info->type == PropType::kString && !ValidUtf8(text)) {
          return bad("is not valid UTF-8");
        }
        break;
      case PropType::kStringPair:
        if (!TakeLengthPrefixed(block, &at, &text) || !TakeLengthPrefixed(block, &at, &text2)) {
          return bad("longer than its block");
        }
        if (!ValidUtf8(text) || !ValidUtf8(text2)) return bad("is not valid UTF-8");
        break;
    }

    switch (static_cast<PropertyId>(id)) {
      case PropertyId::kPayloadFormatIndicator:
      case PropertyId::kRequestProblemInformation:
      case PropertyId::kRequestResponseInformation:
      case PropertyId::kMaximumQos:
      case PropertyId::kRetainAvailable:
      case PropertyId::kWildcardSubscriptionAvailable:
      case PropertyId::kSubscriptionIdentifierAvailable:
      case PropertyId::kSharedSubscriptionAvailable:
        // Each is 0 or 1 (MQTT 5 3.2.2.3: Maximum QoS 2 is said by leaving it out).
        if (number > 1) return bad("of " + std::to_string(number));
        break;
      case PropertyId::kReceiveMaximum:
      case PropertyId::kMaximumPacketSize:
      case PropertyId::kTopicAlias:
      case PropertyId::kSubscriptionIdentifier:
        if (number == 0) return bad("of 0");
        break;
      default:
        break;
    }

    switch (static_cast<PropertyId>(id)) {
      case PropertyId::kPayloadFormatIndicator:
        p.payload_format = static_cast<uint8_t>(number);
        break;
      case PropertyId::kMessageExpiryInterval:
        p.message_expiry_s = number;
        break;
      case PropertyId::kContentType:
        p.content_type = text;
        break;
      case PropertyId::kSubscriptionIdentifier:
        p.subscription_ids.push_back(number);
        break;
      case PropertyId::kSessionExpiryInterval:
        p.session_expiry_s = number;
        break;
      case PropertyId::kAssignedClientIdentifier:
        p.assigned_client_id = text;
        break;
      case PropertyId::kServerKeepAlive:
        p.server_keepalive_s = static_cast<uint16_t>(number);
        break;
      case PropertyId::kReasonString:
        p.reason_string = text;
        break;
      case PropertyId::kReceiveMaximum:
        p.receive_maximum = static_cast<uint16_t>(number);
        break;
      case PropertyId::kTopicAliasMaximum:
        p.topic_alias_maximum = static_cast<uint16_t>(number);
        break;
      case PropertyId::kTopicAlias:
        p.topic_alias = static_cast<uint16_t>(number);
        break;
      case PropertyId::kMaximumQos:
        p.maximum_qos = static_cast<uint8_t>(number);
        break;
      case PropertyId::kUserProperty:
        p.user_properties.emplace_back(text, text2);
        break;
      case PropertyId::kMaximumPacketSize:
        p.maximum_packet_size = number;
        break;
      case PropertyId::kWildcardSubscriptionAvailable:
        p.wildcard_subscription_available = number == 1;
        break;
      case PropertyId::kSharedSubscriptionAvailable:
        p.shared_subscription_available = number == 1;
        break;
      default:
        break;  // valid, and nothing this client acts on
    }
  }
  return p;
}

void EncodeConnect(const ConnectOptions& o, std::string* out) {
  std::string body;
  PutString(&body, "MQTT");
  body.push_back(static_cast<char>(o.version));
  uint8_t flags = o.clean_session ? 0x02 : 0x00;
  if (!o.username.empty()) flags |= 0x80 | 0x40;  // username and password
  body.push_back(static_cast<char>(flags));
  PutU16(&body, o.keepalive_s);
  if (o.version == Version::kV5) EncodeProperties(o.properties, &body);
  PutString(&body, o.client_id);
  if (!o.username.empty()) {
    PutString(&body, o.username);
    PutString(&body, o.password);
  }
  Finish(0x10, body, out);
}

void EncodeSubscribe(Version v, uint16_t packet_id, const std::vector<std::string>& filters, uint8_t qos,
                     std::string* out) {
  std::string body;
  PutU16(&body, packet_id);
  if (v == Version::kV5) PutVarint(&body, 0);  // properties
  for (const auto& f : filters) {
    PutString(&body, f);
    body.push_back(static_cast<char>(qos));  // MQTT 5: subscription options, max QoS in bits 0-1
  }
  Finish(0x82, body, out);  // SUBSCRIBE's reserved flags are 0010
}

void EncodePuback(uint16_t packet_id, std::string* out) {
  out->push_back(0x40);
  out->push_back(2);
  PutU16(out, packet_id);
}

void EncodePubcomp(uint16_t packet_id, std::string* out) {
  out->push_back(0x70);
  out->push_back(2);
  PutU16(out, packet_id);
}

void EncodePingreq(std::string* out) {
  out->append("\xc0\x00", 2);
}
void EncodeDisconnect(std::string* out, Version v, uint8_t reason) {
  if (v == Version::kV311 || reason == 0) {
    out->append("\xe0\x00", 2);
    return;
  }
  // MQTT 5 3.14.2.2: with a reason code and no properties, the property length may be left out.
  out->append("\xe0\x01", 2);
  out->push_back(static_cast<char>(reason));
}

Result<FixedHeader> DecodeFixedHeader(std::string_view bytes, Version v) {
  if (bytes.empty()) return Status::NotFound("need more bytes");
  FixedHeader h;
  const uint8_t first = static_cast<uint8_t>(bytes[0]);
  const uint8_t type = first >> 4;
  if (type == 0 || (type == 15 && v == Version::kV311)) {
    return Status::Corruption("reserved packet type " + std::to_string(type));
  }
  h.type = static_cast<PacketType>(type);
  h.flags = first & 0x0f;
  const int required = RequiredFlags(h.type);
  if (required >= 0 && h.flags != required) {
    return Status::Corruption(std::string(PacketTypeName(h.type)) + " with reserved flags " + std::to_string(h.flags));
  }
  size_t used = 0;
  switch (GetVarint(bytes, 1, &h.remaining_length, &used)) {
    case VarintResult::kOk:
      break;
    case VarintResult::kNeedMore:
      return Status::NotFound("need more bytes");
    case VarintResult::kTooLong:
      return Status::Corruption("remaining length longer than 4 bytes");
  }
  h.header_size = 1 + used;
  return h;
}

namespace {

// Decodes the body of one packet whose header is h into *p, which may hold the packet decoded
// before it: the reader decodes every packet into the same Packet, so that its vectors keep their
// memory and nothing large is moved. Every field is set again.
Status DecodeInto(const FixedHeader& h, std::string_view body, Version v, Packet* p) {
  if (body.size() != h.remaining_length) return Status::Corruption("body size differs from the remaining length");
  p->type = h.type;
  p->flags = h.flags;
  p->size = h.header_size + h.remaining_length;
  p->packet_id = 0;
  p->publish = {};
  p->connack = {};
  p->suback.packet_id = 0;
  p->suback.return_codes.clear();
  p->reason_code = 0;
  // Only a non-empty properties block sets props: after an empty one they are still the defaults.
  if (!p->properties.empty()) p->props = {};
  p->properties = {};
  if (h.type == PacketType::kPublish) return DecodePublishBody(h.flags, body, v, p);
  const char* name = PacketTypeName(h.type);
  switch (h.type) {
    case PacketType::kPublish:  // above
      break;
    case PacketType::kConnack: {
      if (body.size() < 2 || (v == Version::kV311 && body.size() != 2)) {
        return Status::Corruption("CONNACK of " + std::to_string(body.size()) + " bytes");
      }
      const uint8_t ack_flags = static_cast<uint8_t>(body[0]);
      if (ack_flags & 0xfe) return Status::Corruption("CONNACK with reserved flags set");
      p->connack.session_present = (ack_flags & 0x01) != 0;
      p->connack.return_code = static_cast<uint8_t>(body[1]);
      if (v == Version::kV311) return Status::OK();
      if (body.size() == 2) {
        // An MQTT 5 CONNACK always has a properties length, so this is a 3.1.1 server answering
        // (see Connack::v311_form): decoded as 3.1.1 for the client to tell what happened.
        p->connack.v311_form = true;
        return Status::OK();
      }
      // MQTT 5 3.2.2.2: 0x00 success, or a refusal from 0x80 up; nothing in between.
      if (p->connack.return_code != 0 && p->connack.return_code < 0x80) {
        return Status::Corruption("CONNACK reason code " + Hex(p->connack.return_code));
      }
      size_t at = 2;
      SP_ASSIGN_OR_RETURN(p->properties, TakeProperties(body, &at, name));
      if (at != body.size()) return Status::Corruption("CONNACK with bytes after its properties");
      SP_ASSIGN_OR_RETURN(p->props, ParseProperties(h.type, p->properties));
      return Status::OK();
    }
    case PacketType::kSuback: {
      if (body.size() < 3) return Status::Corruption("SUBACK too short");
      p->packet_id = p->suback.packet_id = GetU16(body, 0);
      size_t at = 2;
      if (v == Version::kV5) {
        SP_ASSIGN_OR_RETURN(p->properties, TakeProperties(body, &at, name));
        SP_ASSIGN_OR_RETURN(p->props, ParseProperties(h.type, p->properties));
        if (at >= body.size()) return Status::Corruption("SUBACK without return codes");
      }
      for (; at < body.size(); ++at) {
        const uint8_t code = static_cast<uint8_t>(body[at]);
        // 3.1.1: a granted QoS or 0x80. MQTT 5: a granted QoS or a refusal from 0x80 up.
        if (code > 2 && (v == Version::kV311 ? code != 0x80 : code < 0x80)) {
          return Status::Corruption("SUBACK return code " + std::to_string(code));
        }
        p->suback.return_codes.push_back(code);
      }
      return Status::OK();
    }
    case PacketType::kPuback:
    case PacketType::kPubrec:
    case PacketType::kPubrel:
    case PacketType::kPubcomp:
    case PacketType::kUnsuback: {
      // 3.1.1: exactly the packet id.
      if (body.size() < 2 || (v == Version::kV311 && body.size() != 2)) {
        return Status::Corruption(std::string(name) + " of " + std::to_string(body.size()) + " bytes");
      }
      p->packet_id = GetU16(body, 0);
      if (p->packet_id == 0) return Status::Corruption(std::string(name) + " with packet id 0");
      if (v == Version::kV311) return Status::OK();
      size_t at = 2;
      if (h.type == PacketType::kUnsuback) {
        // MQTT 5 3.11: properties, then a reason code per filter of the UNSUBSCRIBE.
        SP_ASSIGN_OR_RETURN(p->properties, TakeProperties(body, &at, name));
        SP_ASSIGN_OR_RETURN(p->props, ParseProperties(h.type, p->properties));
        if (at >= body.size()) return Status::Corruption("UNSUBACK without reason codes");
        p->suback.packet_id = p->packet_id;
        p->suback.return_codes.assign(body.begin() + static_cast<std::ptrdiff_t>(at), body.end());
        return Status::OK();
      }
      // MQTT 5 3.4.2.1: a reason code unless it is 0 (success) and there are no properties; the
      // property length may be left out when there are none.
      if (at == body.size()) return Status::OK();
      p->reason_code = static_cast<uint8_t>(body[at++]);
      if (at == body.size()) return Status::OK();
      SP_ASSIGN_OR_RETURN(p->properties, TakeProperties(body, &at, name));
      if (at != body.size()) return Status::Corruption(std::string(name) + " with bytes after its properties");
      SP_ASSIGN_OR_RETURN(p->props, ParseProperties(h.type, p->properties));
      return Status::OK();
    }
    case PacketType::kPingresp:
      if (!body.empty()) return Status::Corruption("PINGRESP with a body");
      return Status::OK();
    case PacketType::kDisconnect:
    case PacketType::kAuth: {
      // A server sends these in MQTT 5 only. Both are a reason code and properties, either left
      // out when there is nothing to say (3.14.2.1, 3.15.2.1): no bytes at all means reason 0.
      if (v == Version::kV311) return Status::Corruption(std::string(name) + " from the server");
      if (body.empty()) return Status::OK();
      p->reason_code = static_cast<uint8_t>(body[0]);
      size_t at = 1;
      if (at == body.size()) return Status::OK();
      SP_ASSIGN_OR_RETURN(p->properties, TakeProperties(body, &at, name));
      if (at != body.size()) return Status::Corruption(std::string(name) + " with bytes after its properties");
      SP_ASSIGN_OR_RETURN(p->props, ParseProperties(h.type, p->properties));
      return Status::OK();
    }
    case PacketType::kConnect:
    case PacketType::kSubscribe:
    case PacketType::kUnsubscribe:
    case PacketType::kPingreq:
      return Status::Corruption(std::string(name) + " is not sent by a server");
  }
  return Status::Corruption("unknown packet type");
}

}  // namespace

Result<Packet> DecodePacket(std::string_view bytes, Version v) {
  SP_ASSIGN_OR_RETURN(FixedHeader h, DecodeFixedHeader(bytes, v));
  if (bytes.size() - h.header_size < h.remaining_length) return Status::NotFound("need more bytes");
  Packet p;
  SP_RETURN_IF_ERROR(DecodeInto(h, bytes.substr(h.header_size, h.remaining_length), v, &p));
  return p;
}

Result<Packet> DecodePacket(std::span<const uint8_t> bytes, Version v) {
  return DecodePacket(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), v);
}

PacketReader::PacketReader(size_t max_payload_bytes, Version v, size_t max_control_bytes)
    : max_payload_(max_payload_bytes), version_(v), max_control_(max_control_bytes) {}

void PacketReader::Reset(Version v) {
  version_ = v;
  buf_.reset();  // messages still pointing into it keep it
  capacity_ = pos_ = end_ = skip_ = 0;
}

std::span<char> PacketReader::Space(size_t min_bytes) {
  const size_t kept = end_ - pos_;
  // Once nobody else holds the buffer (the messages made from it are gone), its bytes may be
  // written over. The acquire fence pairs with the release of the last other holder's drop, on
  // whatever thread, so its reads of those bytes come before our writes.
  const bool ours = buf_ != nullptr && buf_.use_count() == 1;
  if (ours) std::atomic_thread_fence(std::memory_order_acquire);
  if (ours && kept == 0) pos_ = end_ = 0;
  if (capacity_ - end_ < min_bytes) {
    if (ours && capacity_ >= kept + min_bytes) {
      std::memmove(buf_.get(), buf_.get() + pos_, kept);
    } else {
      // A new buffer (the old one stays as it is for its holders) with the undecoded bytes, a
      // partial packet, at its front. Twice what is needed, so that it takes more than one read,
      // and a large packet arriving in pieces is copied a few times in all, not once per piece.
      const size_t capacity = 2 * (kept + min_bytes);
      std::shared_ptr<char[]> fresh = std::make_shared_for_overwrite<char[]>(capacity);
      if (kept > 0) std::memcpy(fresh.get(), buf_.get() + pos_, kept);
      buf_ = std::move(fresh);
      capacity_ = capacity;
    }
    pos_ = 0;
    end_ = kept;
  }
  return {buf_.get() + end_, capacity_ - end_};
}

void PacketReader::Commit(size_t n) {
  assert(n <= capacity_ - end_);
  end_ += n;
  if (skip_ > 0) {  // the tail of a PUBLISH already handed out truncated; nothing else is buffered
    const size_t drop = std::min(skip_, n);
    skip_ -= drop;
    pos_ += drop;
  }
}

void PacketReader::Append(std::string_view bytes) {
  const size_t drop = std::min(skip_, bytes.size());  // not even copied: see Commit
  skip_ -= drop;
  bytes.remove_prefix(drop);
  if (bytes.empty()) return;
  std::memcpy(Space(bytes.size()).data(), bytes.data(), bytes.size());
  Commit(bytes.size());
}

Result<const Packet*> PacketReader::Next() {
  constexpr const Packet* kNeedMore = nullptr;
  if (skip_ > 0) return kNeedMore;
  const std::string_view avail(buf_.get() + pos_, end_ - pos_);
  auto h = DecodeFixedHeader(avail, version_);
  if (!h.ok()) {
    if (h.status().IsNotFound()) return kNeedMore;
    return h.status();
  }
  const std::string_view have = avail.substr(h->header_size);  // of the body, maybe not all yet
  if (h->type != PacketType::kPublish) {
    if (h->remaining_length > max_control_) {
      return Status::Corruption(std::string(PacketTypeName(h->type)) + " of " + std::to_string(h->remaining_length) +
                                " bytes");
    }
    if (have.size() < h->remaining_length) return kNeedMore;
    SP_RETURN_IF_ERROR(DecodeInto(*h, have.substr(0, h->remaining_length), version_, &packet_));
    pos_ += packet_.size;
    return &packet_;
  }
  // A PUBLISH: once its head is in, a payload beyond max_payload_ need not be waited for.
  auto head = PublishHeadSize(h->flags, have, h->remaining_length, version_);
  if (!head.ok()) {
    if (!head.status().IsNotFound()) return head.status();
    if (have.size() > max_control_) return Status::Corruption("PUBLISH head too large");
    return kNeedMore;
  }
  const size_t payload_size = h->remaining_length - *head;
  if (payload_size <= max_payload_) {
    if (have.size() < h->remaining_length) return kNeedMore;
    SP_RETURN_IF_ERROR(DecodeInto(*h, have.substr(0, h->remaining_length), version_, &packet_));
    pos_ += packet_.size;
    return &packet_;
  }
  if (have.size() < *head + max_payload_) return kNeedMore;
  // Decode the head and the first max_payload_ bytes as if they were the packet, then drop the
  // rest of it: what is buffered now, and the remainder as Commit sees it.
  FixedHeader cut = *h;
  cut.remaining_length = *head + max_payload_;
  SP_RETURN_IF_ERROR(DecodeInto(cut, have.substr(0, cut.remaining_length), version_, &packet_));
  packet_.size = h->header_size + h->remaining_length;
  packet_.publish.payload_size = payload_size;
  packet_.publish.truncated = true;
  const size_t in_buffer = std::min(have.size(), h->remaining_length);
  pos_ += h->header_size + in_buffer;
  skip_ = h->remaining_length - in_buffer;
  return &packet_;
}

const char* PacketTypeName(PacketType type) {
  switch (type) {
    case PacketType::kConnect:
      return "CONNECT";
    case PacketType::kConnack:
      return "CONNACK";
    case PacketType::kPublish:
      return "PUBLISH";
    case PacketType::kPuback:
      return "PUBACK";
    case PacketType::kPubrec:
      return "PUBREC";
    case PacketType::kPubrel:
      return "PUBREL";
    case PacketType::kPubcomp:
      return "PUBCOMP";
    case PacketType::kSubscribe:
      return "SUBSCRIBE";
    case PacketType::kSuback:
      return "SUBACK";
    case PacketType::kUnsubscribe:
      return "UNSUBSCRIBE";
    case PacketType::kUnsuback:
      return "UNSUBACK";
    case PacketType::kPingreq:
      return "PINGREQ";
    case PacketType::kPingresp:
      return "PINGRESP";
    case PacketType::kDisconnect:
      return "DISCONNECT";
    case PacketType::kAuth:
      return "AUTH";
  }
  return "UNKNOWN";
}

const char* VersionName(Version v) {
  return v == Version::kV5 ? "5" : "3.1.1";
}

const char* ConnackReason(uint8_t code, Version v) {
  if (v == Version::kV5) return ReasonCodeName(code);
  switch (code) {
    case 0:
      return "accepted";
    case 1:
      return "unacceptable protocol version";
    case 2:
      return "client identifier rejected";
    case 3:
      return "server unavailable";
    case 4:
      return "bad user name or password";
    case 5:
      return "not authorized";
  }
  return "unknown return code";
}

const char* ReasonCodeName(uint8_t code) {
  switch (code) {  // MQTT 5 table 2-6
    case 0x00:
      return "success";
    case 0x01:
      return "granted QoS 1";
    case 0x02:
      return "granted QoS 2";
    case 0x04:
      return "disconnect with will message";
    case 0x10:
      return "no matching subscribers";
    case 0x11:
      return "no subscription existed";
    case 0x18:
      return "continue authentication";
    case 0x19:
      return "re-authenticate";
    case 0x80:
      return "unspecified error";
    case 0x81:
      return "malformed packet";
    case 0x82:
      return "protocol error";
    case 0x83:
      return "implementation specific error";
    case 0x84:
      return "unsupported protocol version";
    case 0x85:
      return "client identifier not valid";
    case 0x86:
      return "bad user name or password";
    case 0x87:
      return "not authorized";
    case 0x88:
      return "server unavailable";
    case 0x89:
      return "server busy";
    case 0x8a:
      return "banned";
    case 0x8b:
      return "server shutting down";
    case 0x8c:
      return "bad authentication method";
    case 0x8d:
      return "keep alive timeout";
    case 0x8e:
      return "session taken over";
    case 0x8f:
      return "topic filter invalid";
    case 0x90:
      return "topic name invalid";
    case 0x91:
      return "packet identifier in use";
    case 0x92:
      return "packet identifier not found";
    case 0x93:
      return "receive maximum exceeded";
    case 0x94:
      return "topic alias invalid";
    case 0x95:
      return "packet too large";
    case 0x96:
      return "message rate too high";
    case 0x97:
      return "quota exceeded";
    case 0x98:
      return "administrative action";
    case 0x99:
      return "payload format invalid";
    case 0x9a:
      return "retain not supported";
    case 0x9b:
      return "QoS not supported";
    case 0x9c:
      return "use another server";
    case 0x9d:
      return "server moved";
    case 0x9e:
      return "shared subscriptions not supported";
    case 0x9f:
      return "connection rate exceeded";
    case 0xa0:
      return "maximum connect time";
    case 0xa1:
      return "subscription identifiers not supported";
    case 0xa2:
      return "wildcard subscriptions not supported";
  }
  return "unknown reason code";
}

}  // namespace sp::mqtt
