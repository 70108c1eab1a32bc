// MQTT packets as bytes (OASIS MQTT 3.1.1; the framing of MQTT 5 too). The decoder never trusts
// a length: every field is checked against the bytes there are, so a hostile or broken peer gives
// a Corruption status, never a crash or an unbounded allocation.
//
// Version: everything takes the protocol version. MQTT 5 differs from 3.1.1 only by a properties
// block (a varint length, then the properties) after the variable header of CONNECT, CONNACK,
// PUBLISH, SUBSCRIBE, SUBACK and friends, and by reason codes; the encoders write an empty block
// for version 5 and the decoders hand the block back raw (Packet::properties) for a later parser.
// The client speaks 3.1.1 today; adding 5 means parsing those bytes, not changing the framing.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sp::mqtt {

enum class Version : uint8_t { kV311 = 4, kV5 = 5 };  // the CONNECT protocol level byte

enum class PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
  kAuth = 15,  // MQTT 5 only
};
const char* PacketTypeName(PacketType type);

// The largest remaining length the 4-byte varint can say (256 MiB - 1).
inline constexpr size_t kMaxRemainingLength = 268'435'455;

// ---- Encoding (client to server) ----

struct ConnectOptions {
  Version version = Version::kV311;
  std::string client_id;
  std::string username;  // sent when not empty
  std::string password;  // sent when username is not empty
  uint16_t keepalive_s = 30;
  bool clean_session = false;  // MQTT 5: clean start (session expiry goes in the properties)
};

void EncodeConnect(const ConnectOptions& o, std::string* out);
//! One SUBSCRIBE for all filters, each asking for max QoS `qos`.
void EncodeSubscribe(Version v, uint16_t packet_id, const std::vector<std::string>& filters, uint8_t qos,
                     std::string* out);
//! PUBACK (QoS 1 done). In MQTT 5 the short form (reason 0 = success, no properties) is the same bytes.
void EncodePuback(uint16_t packet_id, std::string* out);
//! PUBCOMP, the answer to a PUBREL (QoS 2's last step).
void EncodePubcomp(uint16_t packet_id, std::string* out);
void EncodePingreq(std::string* out);
void EncodeDisconnect(std::string* out);  // MQTT 5: remaining length 0 means "normal disconnection"
//! Appends n as a Variable Byte Integer (1 to 4 bytes); n <= kMaxRemainingLength.
void PutVarint(std::string* out, size_t n);

// ---- Decoding (server to client) ----

//! The fixed header: what the first 2 to 5 bytes of a packet say.
struct FixedHeader {
  PacketType type;
  uint8_t flags;            // the low nibble of the first byte
  size_t header_size;       // 2 to 5 bytes
  size_t remaining_length;  // bytes after the fixed header
};
//! Decodes a fixed header at the start of bytes: NotFound when more bytes are needed, Corruption
//! for a reserved packet type, a varint longer than 4 bytes, or flags the spec forbids for the type.
Result<FixedHeader> DecodeFixedHeader(std::string_view bytes, Version v = Version::kV311);

struct Publish {
  uint8_t qos = 0;
  bool dup = false, retain = false;
  uint16_t packet_id = 0;  // QoS > 0 only
  std::string_view topic;
  std::string_view payload;  // all of it, or its first bytes when truncated (PacketReader)
  size_t payload_size = 0;   // as sent
  bool truncated = false;
};
struct Connack {
  bool session_present = false;
  uint8_t return_code = 0;  // 3.1.1: 0 accepted, 1-5 refused; MQTT 5: a reason code (>= 0x80 refused)
};
struct Suback {
  uint16_t packet_id = 0;
  std::vector<uint8_t> return_codes;  // granted QoS 0-2, or >= 0x80 for a refused filter
};

//! One decoded packet. Views point into the bytes given to DecodePacket (or the PacketReader's
//! buffer). Which member is filled depends on type; packet_id is set for PUBACK, PUBREC, PUBREL,
//! PUBCOMP, UNSUBACK (and copied from publish/suback for convenience).
struct Packet {
  PacketType type = PacketType::kPingresp;
  uint8_t flags = 0;
  size_t size = 0;  // bytes the packet takes on the wire (fixed header included)
  uint16_t packet_id = 0;
  Publish publish;
  Connack connack;
  Suback suback;
  std::string_view properties;  // MQTT 5: the raw properties block (empty for 3.1.1)
};

//! Decodes the one complete packet at the start of bytes (the fuzz entry point). NotFound: the
//! packet is not complete yet; Corruption: malformed (the caller closes the connection).
//! Packet types only a client sends (CONNECT, SUBSCRIBE, ...) are Corruption from a server.
Result<Packet> DecodePacket(std::string_view bytes, Version v = Version::kV311);
Result<Packet> DecodePacket(std::span<const uint8_t> bytes, Version v = Version::kV311);

//! Decodes the body (after the fixed header) of one packet whose header is h.
Result<Packet> DecodeBody(const FixedHeader& h, std::string_view body, Version v = Version::kV311);

//! Streaming decoder for a connection: bytes go in as they arrive, whole packets come out, and
//! memory stays bounded whatever the peer sends. A PUBLISH larger than max_payload_bytes is not
//! buffered whole: it comes out as soon as its first max_payload_bytes are in (truncated, with
//! payload_size the full size), and the rest of it is dropped as it streams in. Any other packet
//! larger than max_control_bytes is Corruption (a server has no reason to send one).
class PacketReader {
 public:
  explicit PacketReader(size_t max_payload_bytes, Version v = Version::kV311, size_t max_control_bytes = 1 << 20);

  //! Adds bytes read from the connection. Invalidates the views of packets returned before.
  void Append(std::string_view bytes);
  //! The next packet, std::nullopt when more bytes are needed, or Corruption (then the stream is
  //! unusable: Reset it with the connection).
  Result<std::optional<Packet>> Next();
  //! Forgets everything, for a new connection.
  void Reset();
  //! Bytes held (the memory bound: about max_payload_bytes + 64 KiB at most).
  size_t buffered() const { return buf_.size() - pos_; }
  //! Bytes of a truncated PUBLISH still to be dropped as they arrive.
  size_t skipping() const { return skip_; }

 private:
  const size_t max_payload_;
  const Version version_;
  const size_t max_control_;
  std::string buf_;
  size_t pos_ = 0;   // start of the undecoded bytes in buf_ (compacted on Append)
  size_t skip_ = 0;  // bytes of a truncated PUBLISH not yet received, to drop
};

//! The text of a CONNACK return code (3.1.1).
const char* ConnackReason(uint8_t code);

}  // namespace sp::mqtt
