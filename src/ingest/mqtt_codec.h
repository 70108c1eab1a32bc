// MQTT 3.1.1 packets, encoded and decoded as bytes (OASIS MQTT 3.1.1, section 2-3). The decoder
// never trusts a length: every field is checked against the bytes there are, so a hostile or
// broken peer yields a Corruption status, never a crash. MQTT 5 properties slot in after the
// variable headers when the ingest issue adds version 5.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sp::mqtt {

enum class PacketType : uint8_t {
  kConnect = 1, kConnack = 2, kPublish = 3, kPuback = 4, kPubrec = 5, kPubrel = 6, kPubcomp = 7,
  kSubscribe = 8, kSuback = 9, kUnsubscribe = 10, kUnsuback = 11, kPingreq = 12, kPingresp = 13, kDisconnect = 14,
};

struct ConnectOptions {
  std::string client_id;
  std::string username;  // sent when not empty
  std::string password;  // sent when username is not empty
  uint16_t keepalive_s = 30;
  bool clean_session = false;
};

void EncodeConnect(const ConnectOptions& o, std::string* out);
void EncodeSubscribe(uint16_t packet_id, const std::vector<std::string>& filters, uint8_t qos, std::string* out);
void EncodePuback(uint16_t packet_id, std::string* out);
void EncodePingreq(std::string* out);
void EncodeDisconnect(std::string* out);

//! The fixed header: what the first bytes of a packet say.
struct FixedHeader {
  PacketType type;
  uint8_t flags;
  size_t header_size;       // 2 to 5 bytes
  size_t remaining_length;  // bytes after the fixed header
};
//! Decodes a fixed header from the start of bytes: the header, NotFound when more bytes are
//! needed, or Corruption (a remaining length longer than 4 bytes, a reserved packet type).
Result<FixedHeader> DecodeFixedHeader(std::string_view bytes);

struct Publish {
  uint8_t qos = 0;
  bool dup = false, retain = false;
  uint16_t packet_id = 0;  // for QoS > 0
  std::string_view topic;
  std::string_view payload;
};
//! Decodes the body (everything after the fixed header) of a PUBLISH. The views point into body.
Result<Publish> DecodePublish(uint8_t flags, std::string_view body);

struct Connack {
  bool session_present = false;
  uint8_t return_code = 0;  // 0 accepted; 1-5 refused (version, identifier, unavailable, credentials, auth)
};
Result<Connack> DecodeConnack(std::string_view body);

struct Suback {
  uint16_t packet_id = 0;
  std::vector<uint8_t> return_codes;  // granted QoS, or 0x80 for failure
};
Result<Suback> DecodeSuback(std::string_view body);

//! The text of a CONNACK return code.
const char* ConnackReason(uint8_t code);

}  // namespace sp::mqtt
