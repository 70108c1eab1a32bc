// MQTT packets as bytes, OASIS MQTT 3.1.1 and MQTT 5.0. The decoder never trusts a length: every
// field is checked against the bytes there are, so a hostile or broken peer gives a Corruption
// status, never a crash or an unbounded allocation.
//
// Version: everything takes the protocol version. MQTT 5 differs from 3.1.1 by a properties block
// (a varint length, then identifier/value pairs) after the variable header of most packets, and by
// reason codes. The decoders check every property (its identifier is known and allowed in that
// packet, its value fits and is in range, it is not repeated unless the spec allows it) and fill
// Packet::props with the ones a subscribing client acts on; the rest are validated and skipped.
// The encoders write what this client sends: CONNECT, SUBSCRIBE, PUBACK, PUBCOMP, PINGREQ,
// DISCONNECT (the client never publishes).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sp::mqtt {

enum class Version : uint8_t { kV311 = 4, kV5 = 5 };  // the CONNECT protocol level byte
//! "3.1.1" or "5".
const char* VersionName(Version v);

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

// ---- MQTT 5 properties ----

//! Property identifiers (MQTT 5 section 2.2.2.2). Will Delay Interval (0x18) exists only in a
//! CONNECT's will properties, which this client never sends, so no packet may carry it.
enum class PropertyId : uint8_t {
  kPayloadFormatIndicator = 0x01,         // byte: PUBLISH
  kMessageExpiryInterval = 0x02,          // four-byte integer: PUBLISH
  kContentType = 0x03,                    // UTF-8 string: PUBLISH
  kResponseTopic = 0x08,                  // UTF-8 string: PUBLISH
  kCorrelationData = 0x09,                // binary data: PUBLISH
  kSubscriptionIdentifier = 0x0b,         // varint: PUBLISH (may repeat), SUBSCRIBE
  kSessionExpiryInterval = 0x11,          // four-byte integer: CONNECT, CONNACK, DISCONNECT
  kAssignedClientIdentifier = 0x12,       // UTF-8 string: CONNACK
  kServerKeepAlive = 0x13,                // two-byte integer: CONNACK
  kAuthenticationMethod = 0x15,           // UTF-8 string: CONNECT, CONNACK, AUTH
  kAuthenticationData = 0x16,             // binary data: CONNECT, CONNACK, AUTH
  kRequestProblemInformation = 0x17,      // byte: CONNECT
  kWillDelayInterval = 0x18,              // four-byte integer: will properties only
  kRequestResponseInformation = 0x19,     // byte: CONNECT
  kResponseInformation = 0x1a,            // UTF-8 string: CONNACK
  kServerReference = 0x1c,                // UTF-8 string: CONNACK, DISCONNECT
  kReasonString = 0x1f,                   // UTF-8 string: CONNACK, PUBACK..PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH
  kReceiveMaximum = 0x21,                 // two-byte integer: CONNECT, CONNACK
  kTopicAliasMaximum = 0x22,              // two-byte integer: CONNECT, CONNACK
  kTopicAlias = 0x23,                     // two-byte integer: PUBLISH
  kMaximumQos = 0x24,                     // byte: CONNACK
  kRetainAvailable = 0x25,                // byte: CONNACK
  kUserProperty = 0x26,                   // UTF-8 string pair: every packet with properties (may repeat)
  kMaximumPacketSize = 0x27,              // four-byte integer: CONNECT, CONNACK
  kWildcardSubscriptionAvailable = 0x28,  // byte: CONNACK
  kSubscriptionIdentifierAvailable = 0x29,  // byte: CONNACK
  kSharedSubscriptionAvailable = 0x2a,      // byte: CONNACK
};

//! The properties a subscribing client acts on (plus the ones it sends in CONNECT). Views point
//! into the decoded bytes, like Packet's. An absent property is std::nullopt (its default then
//! applies, per the spec); repeatable ones are vectors in the order received.
struct Properties {
  // CONNECT and CONNACK
  std::optional<uint32_t> session_expiry_s;     // also DISCONNECT
  std::optional<uint16_t> receive_maximum;      // never 0
  std::optional<uint32_t> maximum_packet_size;  // never 0
  std::optional<uint16_t> topic_alias_maximum;
  // CONNACK
  std::optional<uint8_t> maximum_qos;  // 0 or 1 (absent: 2)
  std::optional<std::string_view> assigned_client_id;
  std::optional<uint16_t> server_keepalive_s;
  std::optional<bool> wildcard_subscription_available;
  std::optional<bool> shared_subscription_available;
  // PUBLISH
  std::optional<uint8_t> payload_format;  // 0 unspecified bytes, 1 UTF-8
  std::optional<uint32_t> message_expiry_s;
  std::optional<std::string_view> content_type;
  std::optional<uint16_t> topic_alias;     // never 0
  std::vector<uint32_t> subscription_ids;  // 1 to 268,435,455 each
  // Many packets
  std::optional<std::string_view> reason_string;
  std::vector<std::pair<std::string_view, std::string_view>> user_properties;
};

//! Builds a properties block one property at a time, in the value type each identifier has (a
//! mismatch is a programming error: asserted).
class PropertyWriter {
 public:
  void Byte(PropertyId id, uint8_t v);
  void TwoByte(PropertyId id, uint16_t v);
  void FourByte(PropertyId id, uint32_t v);
  void Varint(PropertyId id, uint32_t v);  // v <= kMaxRemainingLength
  void String(PropertyId id, std::string_view s);
  void Binary(PropertyId id, std::string_view data);
  void StringPair(PropertyId id, std::string_view name, std::string_view value);
  //! Appends the block: its length as a varint, then the properties.
  void AppendTo(std::string* out) const;
  //! The properties written so far, without the length.
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

//! Appends the block (length first) holding every property set in p.
void EncodeProperties(const Properties& p, std::string* out);

//! Parses a properties block (the bytes after its length) of a packet of type `type`.
//! Corruption for an unknown identifier or one the spec does not allow in that packet, a value
//! cut short, a string that is not well-formed UTF-8, a value out of range (Receive Maximum,
//! Maximum Packet Size, Topic Alias or Subscription Identifier 0; a yes/no byte other than 0 or
//! 1; Maximum QoS above 1), and a property repeated that may appear once.
Result<Properties> ParseProperties(PacketType type, std::string_view block);

// ---- Encoding (client to server) ----

struct ConnectOptions {
  Version version = Version::kV311;
  std::string client_id;
  std::string username;  // sent when not empty
  std::string password;  // sent when username is not empty
  uint16_t keepalive_s = 30;
  bool clean_session = false;  // MQTT 5: clean start (session expiry goes in the properties)
  Properties properties;       // MQTT 5 only; ignored for 3.1.1
};

void EncodeConnect(const ConnectOptions& o, std::string* out);
//! One SUBSCRIBE for all filters, each asking for max QoS `qos`.
void EncodeSubscribe(Version v, uint16_t packet_id, const std::vector<std::string>& filters, uint8_t qos,
                     std::string* out);
//! PUBACK (QoS 1 done). In MQTT 5 the short form (reason 0 = success, no properties) is the same bytes.
void EncodePuback(uint16_t packet_id, std::string* out);
//! PUBCOMP, the answer to a PUBREL (QoS 2's last step). Same bytes in both versions.
void EncodePubcomp(uint16_t packet_id, std::string* out);
void EncodePingreq(std::string* out);
//! DISCONNECT. MQTT 5 carries a reason code: 0 (normal disconnection) is the empty short form,
//! which is also the 3.1.1 packet; another reason is written as one byte (no properties).
void EncodeDisconnect(std::string* out, Version v = Version::kV311, uint8_t reason = 0);
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
  uint16_t packet_id = 0;    // QoS > 0 only
  std::string_view topic;    // MQTT 5: empty only with a Topic Alias (props.topic_alias)
  std::string_view payload;  // all of it, or its first bytes when truncated (PacketReader)
  size_t payload_size = 0;   // as sent
  bool truncated = false;
};
struct Connack {
  bool session_present = false;
  // 3.1.1: 0 accepted, 1-5 refused (ConnackReason). MQTT 5: a reason code, >= 0x80 refused.
  uint8_t return_code = 0;
  // Decoding as MQTT 5 only: the CONNACK had the 3.1.1 form (2 bytes, no properties). Only a
  // server that does not speak MQTT 5 sends that to an MQTT 5 CONNECT, typically with 3.1.1's
  // return code 1 (unacceptable protocol version), so return_code is then a 3.1.1 code.
  bool v311_form = false;
};
struct Suback {
  uint16_t packet_id = 0;
  // SUBACK: granted QoS 0-2, or >= 0x80 for a refused filter (3.1.1: 0x80 only; MQTT 5: a
  // reason code). UNSUBACK (MQTT 5 only): a reason code per filter.
  std::vector<uint8_t> return_codes;
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
  // MQTT 5: the reason code of PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT and AUTH (0 when the
  // packet omits it, as the spec allows for success / normal disconnection).
  uint8_t reason_code = 0;
  std::string_view properties;  // MQTT 5: the raw properties block (empty for 3.1.1)
  Properties props;             // MQTT 5: the parsed properties block
};

//! Decodes the one complete packet at the start of bytes (the fuzz entry point). NotFound: the
//! packet is not complete yet; Corruption: malformed (the caller closes the connection).
//! Packet types only a client sends (CONNECT, SUBSCRIBE, ...) are Corruption from a server.
Result<Packet> DecodePacket(std::string_view bytes, Version v = Version::kV311);
Result<Packet> DecodePacket(std::span<const uint8_t> bytes, Version v = Version::kV311);

//! Streaming decoder for a connection: bytes go in as they arrive, whole packets come out, and
//! memory stays bounded whatever the peer sends. A PUBLISH larger than max_payload_bytes is not
//! buffered whole: it comes out as soon as its first max_payload_bytes are in (truncated, with
//! payload_size the full size), and the rest of it is dropped as it streams in. Any other packet
//! (or a PUBLISH's topic and properties) larger than max_control_bytes is Corruption (a server
//! has no reason to send one).
//!
//! The bytes live in a shared buffer that the connection reads into directly (Space, Commit), and
//! packets are decoded in place: a holder of buffer() keeps the views of the packets decoded from
//! it valid, and unchanged, for as long as it holds it (the reader never writes over bytes it has
//! handed out while someone else holds them; it moves on to a new buffer instead). So a PUBLISH can
//! become a message without copying its topic or payload.
class PacketReader {
 public:
  explicit PacketReader(size_t max_payload_bytes, Version v = Version::kV311, size_t max_control_bytes = 1 << 20);

  //! Room for at least min_bytes more bytes from the connection (often more: read as much as fits),
  //! to be followed by Commit. May move the undecoded bytes within a buffer nobody else holds.
  std::span<char> Space(size_t min_bytes);
  //! Takes the first n bytes of the last Space as received.
  void Commit(size_t n);
  //! Adds bytes read from the connection elsewhere: Space, a copy, Commit.
  void Append(std::string_view bytes);
  //! The next packet, nullptr when more bytes are needed, or Corruption (then the stream is
  //! unusable: Reset it with the connection). The packet is valid until the next call of Next,
  //! Space, Append or Reset; its views as long as buffer() is held.
  Result<const Packet*> Next();
  //! The buffer holding the bytes of the packet Next returned last.
  const std::shared_ptr<char[]>& buffer() const { return buf_; }
  //! Forgets everything, for a new connection that speaks version v.
  void Reset(Version v);
  //! The version the stream is decoded as.
  Version version() const { return version_; }
  //! Bytes held (the memory bound: about max_payload_bytes + 64 KiB at most; the buffer holding
  //! them is at most twice that plus what Space is asked for).
  size_t buffered() const { return end_ - pos_; }
  //! Bytes of a truncated PUBLISH still to be dropped as they arrive.
  size_t skipping() const { return skip_; }

 private:
  const size_t max_payload_;
  Version version_;
  const size_t max_control_;
  std::shared_ptr<char[]> buf_;
  size_t capacity_ = 0;  // of buf_
  size_t pos_ = 0;       // start of the undecoded bytes in buf_
  size_t end_ = 0;       // end of the bytes received
  size_t skip_ = 0;      // bytes of a truncated PUBLISH not yet received, to drop
  Packet packet_;        // the last packet decoded (reused: its vectors keep their memory)
};

//! The text of a CONNACK return code: 3.1.1's codes, or for MQTT 5 its reason codes.
const char* ConnackReason(uint8_t code, Version v = Version::kV311);
//! The text of an MQTT 5 reason code (CONNACK, SUBACK, DISCONNECT, ...). Codes below 0x80 mean
//! different things in different packets; this names them as DISCONNECT and SUBACK use them.
const char* ReasonCodeName(uint8_t code);

}  // namespace sp::mqtt
