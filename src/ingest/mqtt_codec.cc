#include "ingest/mqtt_codec.h"

#include <algorithm>

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

Result<Publish> DecodePublishBody(uint8_t flags, std::string_view body, Version v, std::string_view* properties) {
  Publish p;
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
  // MQTT 5 allows an empty topic with a Topic Alias property; 3.1.1 does not.
  if (p.topic.empty() && v == Version::kV311) return Status::Corruption("PUBLISH with an empty topic");
  if (p.topic.find_first_of(std::string_view("+#\0", 3)) != std::string_view::npos) {
    return Status::Corruption("PUBLISH topic with a wildcard or NUL");
  }
  if (p.qos > 0) {
    if (at + 2 > body.size()) return Status::Corruption("PUBLISH too short for its packet id");
    p.packet_id = GetU16(body, at);
    if (p.packet_id == 0) return Status::Corruption("PUBLISH with packet id 0");
    at += 2;
  }
  if (v == Version::kV5) {
    SP_ASSIGN_OR_RETURN(*properties, TakeProperties(body, &at, "PUBLISH"));
  }
  p.payload = body.substr(at);
  p.payload_size = p.payload.size();
  return p;
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

void EncodeConnect(const ConnectOptions& o, std::string* out) {
  std::string body;
  PutString(&body, "MQTT");
  body.push_back(static_cast<char>(o.version));
  uint8_t flags = o.clean_session ? 0x02 : 0x00;
  if (!o.username.empty()) flags |= 0x80 | 0x40;  // username and password
  body.push_back(static_cast<char>(flags));
  PutU16(&body, o.keepalive_s);
  if (o.version == Version::kV5) PutVarint(&body, 0);  // properties: none yet
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
void EncodeDisconnect(std::string* out) {
  out->append("\xe0\x00", 2);
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

Result<Packet> DecodeBody(const FixedHeader& h, std::string_view body, Version v) {
  if (body.size() != h.remaining_length) return Status::Corruption("body size differs from the remaining length");
  Packet p;
  p.type = h.type;
  p.flags = h.flags;
  p.size = h.header_size + h.remaining_length;
  const char* name = PacketTypeName(h.type);
  switch (h.type) {
    case PacketType::kPublish: {
      SP_ASSIGN_OR_RETURN(p.publish, DecodePublishBody(h.flags, body, v, &p.properties));
      p.packet_id = p.publish.packet_id;
      return p;
    }
    case PacketType::kConnack: {
      if (body.size() < 2 || (v == Version::kV311 && body.size() != 2)) {
        return Status::Corruption("CONNACK of " + std::to_string(body.size()) + " bytes");
      }
      const uint8_t ack_flags = static_cast<uint8_t>(body[0]);
      if (ack_flags & 0xfe) return Status::Corruption("CONNACK with reserved flags set");
      p.connack = Connack{(ack_flags & 0x01) != 0, static_cast<uint8_t>(body[1])};
      size_t at = 2;
      if (v == Version::kV5) {
        SP_ASSIGN_OR_RETURN(p.properties, TakeProperties(body, &at, name));
        if (at != body.size()) return Status::Corruption("CONNACK with bytes after its properties");
      }
      return p;
    }
    case PacketType::kSuback: {
      if (body.size() < 3) return Status::Corruption("SUBACK too short");
      p.packet_id = p.suback.packet_id = GetU16(body, 0);
      size_t at = 2;
      if (v == Version::kV5) {
        SP_ASSIGN_OR_RETURN(p.properties, TakeProperties(body, &at, name));
        if (at >= body.size()) return Status::Corruption("SUBACK without return codes");
      }
      for (; at < body.size(); ++at) {
        const uint8_t code = static_cast<uint8_t>(body[at]);
        if (v == Version::kV311 && code > 2 && code != 0x80) {
          return Status::Corruption("SUBACK return code " + std::to_string(code));
        }
        p.suback.return_codes.push_back(code);
      }
      return p;
    }
    case PacketType::kPuback:
    case PacketType::kPubrec:
    case PacketType::kPubrel:
    case PacketType::kPubcomp:
    case PacketType::kUnsuback: {
      // 3.1.1: exactly the packet id. MQTT 5: then an optional reason code and properties
      // (UNSUBACK: properties, then a reason code per filter); kept raw.
      if (body.size() < 2 || (v == Version::kV311 && body.size() != 2)) {
        return Status::Corruption(std::string(name) + " of " + std::to_string(body.size()) + " bytes");
      }
      p.packet_id = GetU16(body, 0);
      if (p.packet_id == 0) return Status::Corruption(std::string(name) + " with packet id 0");
      p.properties = body.substr(2);
      return p;
    }
    case PacketType::kPingresp:
      if (!body.empty()) return Status::Corruption("PINGRESP with a body");
      return p;
    case PacketType::kDisconnect:
    case PacketType::kAuth:
      // A server sends these in MQTT 5 only (reason code, properties): kept raw for the client.
      if (v == Version::kV311) return Status::Corruption(std::string(name) + " from the server");
      p.properties = body;
      return p;
    case PacketType::kConnect:
    case PacketType::kSubscribe:
    case PacketType::kUnsubscribe:
    case PacketType::kPingreq:
      return Status::Corruption(std::string(name) + " is not sent by a server");
  }
  return Status::Corruption("unknown packet type");
}

Result<Packet> DecodePacket(std::string_view bytes, Version v) {
  SP_ASSIGN_OR_RETURN(FixedHeader h, DecodeFixedHeader(bytes, v));
  if (bytes.size() - h.header_size < h.remaining_length) return Status::NotFound("need more bytes");
  return DecodeBody(h, bytes.substr(h.header_size, h.remaining_length), v);
}

Result<Packet> DecodePacket(std::span<const uint8_t> bytes, Version v) {
  return DecodePacket(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), v);
}

PacketReader::PacketReader(size_t max_payload_bytes, Version v, size_t max_control_bytes)
    : max_payload_(max_payload_bytes), version_(v), max_control_(max_control_bytes) {}

void PacketReader::Reset() {
  buf_.clear();
  pos_ = 0;
  skip_ = 0;
}

void PacketReader::Append(std::string_view bytes) {
  if (skip_ > 0) {  // the tail of a PUBLISH already handed out truncated
    const size_t drop = std::min(skip_, bytes.size());
    skip_ -= drop;
    bytes.remove_prefix(drop);
  }
  if (bytes.empty()) return;
  // Compact before growing: decoded packets at the front are dead (their views end here).
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

Result<std::optional<Packet>> PacketReader::Next() {
  if (skip_ > 0) return std::optional<Packet>();
  const std::string_view avail = std::string_view(buf_).substr(pos_);
  auto h = DecodeFixedHeader(avail, version_);
  if (!h.ok()) {
    if (h.status().IsNotFound()) return std::optional<Packet>();
    return h.status();
  }
  const std::string_view have = avail.substr(h->header_size);  // of the body, maybe not all yet
  if (h->type != PacketType::kPublish) {
    if (h->remaining_length > max_control_) {
      return Status::Corruption(std::string(PacketTypeName(h->type)) + " of " + std::to_string(h->remaining_length) +
                                " bytes");
    }
    if (have.size() < h->remaining_length) return std::optional<Packet>();
    SP_ASSIGN_OR_RETURN(Packet p, DecodeBody(*h, have.substr(0, h->remaining_length), version_));
    pos_ += p.size;
    return std::optional<Packet>(std::move(p));
  }
  // A PUBLISH: once its head is in, a payload beyond max_payload_ need not be waited for.
  auto head = PublishHeadSize(h->flags, have, h->remaining_length, version_);
  if (!head.ok()) {
    if (!head.status().IsNotFound()) return head.status();
    if (have.size() > max_control_) return Status::Corruption("PUBLISH head too large");
    return std::optional<Packet>();
  }
  const size_t payload_size = h->remaining_length - *head;
  if (payload_size <= max_payload_) {
    if (have.size() < h->remaining_length) return std::optional<Packet>();
    SP_ASSIGN_OR_RETURN(Packet p, DecodeBody(*h, have.substr(0, h->remaining_length), version_));
    pos_ += p.size;
    return std::optional<Packet>(std::move(p));
  }
  if (have.size() < *head + max_payload_) return std::optional<Packet>();
  // Decode the head and the first max_payload_ bytes as if they were the packet, then drop the
  // rest of it: what is buffered now, and the remainder as Append sees it.
  FixedHeader cut = *h;
  cut.remaining_length = *head + max_payload_;
  SP_ASSIGN_OR_RETURN(Packet p, DecodeBody(cut, have.substr(0, cut.remaining_length), version_));
  p.size = h->header_size + h->remaining_length;
  p.publish.payload_size = payload_size;
  p.publish.truncated = true;
  const size_t in_buffer = std::min(have.size(), h->remaining_length);
  pos_ += h->header_size + in_buffer;
  skip_ = h->remaining_length - in_buffer;
  return std::optional<Packet>(std::move(p));
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

const char* ConnackReason(uint8_t code) {
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

}  // namespace sp::mqtt
