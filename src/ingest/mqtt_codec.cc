#include "ingest/mqtt_codec.h"

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
void PutRemainingLength(std::string* out, size_t n) {
  do {
    uint8_t byte = n % 128;
    n /= 128;
    if (n > 0) byte |= 0x80;
    out->push_back(static_cast<char>(byte));
  } while (n > 0);
}
// Wraps a variable header + payload in its fixed header.
void Finish(uint8_t first_byte, const std::string& body, std::string* out) {
  out->push_back(static_cast<char>(first_byte));
  PutRemainingLength(out, body.size());
  out->append(body);
}
uint16_t GetU16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) | static_cast<uint8_t>(s[at + 1]));
}

}  // namespace

void EncodeConnect(const ConnectOptions& o, std::string* out) {
  std::string body;
  PutString(&body, "MQTT");
  body.push_back(4);  // protocol level 4 = 3.1.1
  uint8_t flags = o.clean_session ? 0x02 : 0x00;
  if (!o.username.empty()) flags |= 0x80 | 0x40;  // username and password
  body.push_back(static_cast<char>(flags));
  PutU16(&body, o.keepalive_s);
  PutString(&body, o.client_id);
  if (!o.username.empty()) {
    PutString(&body, o.username);
    PutString(&body, o.password);
  }
  Finish(0x10, body, out);
}

void EncodeSubscribe(uint16_t packet_id, const std::vector<std::string>& filters, uint8_t qos, std::string* out) {
  std::string body;
  PutU16(&body, packet_id);
  for (const auto& f : filters) {
    PutString(&body, f);
    body.push_back(static_cast<char>(qos));
  }
  Finish(0x82, body, out);  // SUBSCRIBE's reserved flags are 0010
}

void EncodePuback(uint16_t packet_id, std::string* out) {
  out->push_back(0x40);
  out->push_back(2);
  PutU16(out, packet_id);
}

void EncodePingreq(std::string* out) { out->append("\xc0\x00", 2); }
void EncodeDisconnect(std::string* out) { out->append("\xe0\x00", 2); }

Result<FixedHeader> DecodeFixedHeader(std::string_view bytes) {
  if (bytes.size() < 2) return Status::NotFound("need more bytes");
  FixedHeader h;
  const uint8_t first = static_cast<uint8_t>(bytes[0]);
  const uint8_t type = first >> 4;
  if (type == 0 || type == 15) return Status::Corruption("reserved packet type " + std::to_string(type));
  h.type = static_cast<PacketType>(type);
  h.flags = first & 0x0f;
  size_t value = 0, multiplier = 1;
  for (size_t i = 1;; ++i) {
    if (i > 4) return Status::Corruption("remaining length longer than 4 bytes");
    if (i >= bytes.size()) return Status::NotFound("need more bytes");
    const uint8_t b = static_cast<uint8_t>(bytes[i]);
    value += (b & 0x7f) * multiplier;
    multiplier *= 128;
    if ((b & 0x80) == 0) {
      h.header_size = i + 1;
      break;
    }
  }
  h.remaining_length = value;
  return h;
}

Result<Publish> DecodePublish(uint8_t flags, std::string_view body) {
  Publish p;
  p.retain = flags & 0x01;
  p.qos = (flags >> 1) & 0x03;
  p.dup = flags & 0x08;
  if (p.qos == 3) return Status::Corruption("PUBLISH with QoS 3");
  if (body.size() < 2) return Status::Corruption("PUBLISH too short for its topic length");
  const size_t topic_len = GetU16(body, 0);
  size_t at = 2 + topic_len;
  if (at > body.size()) return Status::Corruption("PUBLISH topic longer than the packet");
  p.topic = body.substr(2, topic_len);
  if (p.topic.empty()) return Status::Corruption("PUBLISH with an empty topic");
  if (p.qos > 0) {
    if (at + 2 > body.size()) return Status::Corruption("PUBLISH too short for its packet id");
    p.packet_id = GetU16(body, at);
    if (p.packet_id == 0) return Status::Corruption("PUBLISH with packet id 0");
    at += 2;
  }
  p.payload = body.substr(at);
  return p;
}

Result<Connack> DecodeConnack(std::string_view body) {
  if (body.size() != 2) return Status::Corruption("CONNACK of " + std::to_string(body.size()) + " bytes");
  return Connack{(static_cast<uint8_t>(body[0]) & 0x01) != 0, static_cast<uint8_t>(body[1])};
}

Result<Suback> DecodeSuback(std::string_view body) {
  if (body.size() < 3) return Status::Corruption("SUBACK too short");
  Suback s;
  s.packet_id = GetU16(body, 0);
  for (size_t i = 2; i < body.size(); ++i) s.return_codes.push_back(static_cast<uint8_t>(body[i]));
  return s;
}

const char* ConnackReason(uint8_t code) {
  switch (code) {
    case 0: return "accepted";
    case 1: return "unacceptable protocol version";
    case 2: return "client identifier rejected";
    case 3: return "server unavailable";
    case 4: return "bad user name or password";
    case 5: return "not authorized";
  }
  return "unknown return code";
}

}  // namespace sp::mqtt
