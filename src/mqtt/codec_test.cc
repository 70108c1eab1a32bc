// The MQTT codec: encoders byte for byte against the spec, the decoders on every packet a
// server sends (3.1.1 and MQTT 5), MQTT 5 properties of every type, and malformed input (varints
// too long, lengths past the end, reserved flags, bad or repeated properties), plus the streaming
// reader's bounded handling of oversize PUBLISH packets and random or mutated input.
#include "mqtt/codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <iomanip>
#include <random>
#include <sstream>

#include "common/testing.h"

namespace sp::mqtt {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

// A server-to-client PUBLISH, built by hand so the tests do not trust the encoder under test.
std::string PublishPacket(std::string_view topic, std::string_view payload, int qos = 1, uint16_t id = 7,
                          bool dup = false) {
  std::string body;
  body.push_back(static_cast<char>(topic.size() >> 8));
  body.push_back(static_cast<char>(topic.size() & 0xff));
  body.append(topic);
  if (qos > 0) {
    body.push_back(static_cast<char>(id >> 8));
    body.push_back(static_cast<char>(id & 0xff));
  }
  body.append(payload);
  std::string out(1, static_cast<char>(0x30 | (dup ? 0x08 : 0) | (qos << 1)));
  PutVarint(&out, body.size());
  return out + body;
}

// An MQTT 5 server-to-client PUBLISH with a properties block (its bytes after the length).
std::string Publish5(std::string_view topic, std::string_view props, std::string_view payload, int qos = 1,
                     uint16_t id = 7) {
  std::string body;
  body.push_back(static_cast<char>(topic.size() >> 8));
  body.push_back(static_cast<char>(topic.size() & 0xff));
  body.append(topic);
  if (qos > 0) {
    body.push_back(static_cast<char>(id >> 8));
    body.push_back(static_cast<char>(id & 0xff));
  }
  PutVarint(&body, props.size());
  body.append(props);
  body.append(payload);
  std::string out(1, static_cast<char>(0x30 | (qos << 1)));
  PutVarint(&out, body.size());
  return out + body;
}

// A packet of type `first` whose body is body.
std::string Packet5(int first, std::string_view body) {
  std::string out(1, static_cast<char>(first));
  PutVarint(&out, body.size());
  return out.append(body);
}

// A properties block with its length.
std::string Block(const PropertyWriter& w) {
  std::string out;
  w.AppendTo(&out);
  return out;
}

TEST(MqttCodec, EncodesConnectPerTheSpec) {
  std::string out;
  ConnectOptions o;
  o.client_id = "dev";
  o.username = "u";
  o.password = "p";
  EncodeConnect(o, &out);
  // MQTT 3.1.1 section 3.1: "MQTT", level 4, flags user+password (0xC0), keepalive 30.
  EXPECT_EQ(out, std::string("\x10\x15\x00\x04MQTT\x04\xc0\x00\x1e\x00\x03"
                             "dev\x00\x01u\x00\x01p",
                             23));
  out.clear();
  o.username.clear();
  o.clean_session = true;
  o.keepalive_s = 0;
  EncodeConnect(o, &out);
  EXPECT_EQ(out, std::string("\x10\x0f\x00\x04MQTT\x04\x02\x00\x00\x00\x03"
                             "dev",
                             17));
  // MQTT 5: level 5 and an empty properties block after the keepalive.
  out.clear();
  o.version = Version::kV5;
  EncodeConnect(o, &out);
  EXPECT_EQ(out, std::string("\x10\x10\x00\x04MQTT\x05\x02\x00\x00\x00\x00\x03"
                             "dev",
                             18));
  // MQTT 5 with what the client sends: Session Expiry Interval 604800 (0x00093a80) and Receive
  // Maximum 65535, a properties block of 8 bytes (3.1.2.11).
  out.clear();
  o.clean_session = false;
  o.keepalive_s = 30;
  o.properties.session_expiry_s = 604800;
  o.properties.receive_maximum = 65535;
  EncodeConnect(o, &out);
  EXPECT_EQ(out, std::string("\x10\x18\x00\x04MQTT\x05\x00\x00\x1e"
                             "\x08\x11\x00\x09\x3a\x80\x21\xff\xff"
                             "\x00\x03"
                             "dev",
                             26));
  // The same properties are not written for 3.1.1.
  out.clear();
  o.version = Version::kV311;
  EncodeConnect(o, &out);
  EXPECT_EQ(out.size(), 17u);
}

TEST(MqttCodec, EncodesTheOtherClientPackets) {
  std::string out;
  EncodeSubscribe(Version::kV311, 7, {"sensor/#"}, 1, &out);
  EXPECT_EQ(out, std::string("\x82\x0d\x00\x07\x00\x08sensor/#\x01", 15));
  out.clear();
  EncodeSubscribe(Version::kV311, 0x0102, {"a", "b/+"}, 1, &out);
  EXPECT_EQ(out, std::string("\x82\x0c\x01\x02\x00\x01"
                             "a\x01\x00\x03"
                             "b/+\x01",
                             14));
  out.clear();
  EncodeSubscribe(Version::kV5, 7, {"s"}, 1, &out);
  EXPECT_EQ(out, std::string("\x82\x07\x00\x07\x00\x00\x01s\x01", 9));
  out.clear();
  EncodePuback(0x1234, &out);
  EXPECT_EQ(out, Bytes({0x40, 0x02, 0x12, 0x34}));
  out.clear();
  EncodePubcomp(0xfffe, &out);
  EXPECT_EQ(out, Bytes({0x70, 0x02, 0xff, 0xfe}));
  out.clear();
  EncodePingreq(&out);
  EncodeDisconnect(&out);
  EXPECT_EQ(out, Bytes({0xc0, 0x00, 0xe0, 0x00}));
  // MQTT 5 DISCONNECT: reason 0 in the short form, another reason as one byte (3.14.2.1).
  out.clear();
  EncodeDisconnect(&out, Version::kV5, 0);
  EncodeDisconnect(&out, Version::kV5, 0x04);
  EncodeDisconnect(&out, Version::kV311, 0x04);  // 3.1.1 has no reason
  EXPECT_EQ(out, Bytes({0xe0, 0x00, 0xe0, 0x01, 0x04, 0xe0, 0x00}));
}

TEST(MqttCodec, RemainingLengthVarintAtEveryBoundary) {
  // MQTT 3.1.1 table 2.4: 1 to 4 bytes.
  const std::pair<size_t, size_t> cases[] = {{0, 1},     {127, 1},     {128, 2},     {16383, 2},
                                             {16384, 3}, {2097151, 3}, {2097152, 4}, {kMaxRemainingLength, 4}};
  for (auto [n, len] : cases) {
    std::string packet = "\x30";
    PutVarint(&packet, n);
    ASSERT_EQ(packet.size(), 1 + len) << n;
    ASSERT_OK_AND_ASSIGN(FixedHeader h, DecodeFixedHeader(packet));
    EXPECT_EQ(h.remaining_length, n);
    EXPECT_EQ(h.header_size, 1 + len);
    // Every prefix is incomplete, not an error.
    for (size_t cut = 0; cut < packet.size(); ++cut) {
      EXPECT_TRUE(DecodeFixedHeader(packet.substr(0, cut)).status().IsNotFound()) << n << " cut " << cut;
    }
  }
}

TEST(MqttCodec, RejectsBadFixedHeaders) {
  // A fifth length byte: the varint may have 4 at most, whatever follows.
  EXPECT_TRUE(DecodeFixedHeader(Bytes({0x30, 0xff, 0xff, 0xff, 0xff})).status().IsCorruption());
  EXPECT_TRUE(DecodeFixedHeader(Bytes({0x30, 0x80, 0x80, 0x80, 0x80, 0x01})).status().IsCorruption());
  EXPECT_TRUE(DecodePacket(Bytes({0x30, 0xff, 0xff, 0xff, 0xff, 0x7f})).status().IsCorruption());
  // Reserved types 0 and 15 (15 is AUTH in MQTT 5 only).
  EXPECT_TRUE(DecodeFixedHeader(Bytes({0x00, 0x00})).status().IsCorruption());
  EXPECT_TRUE(DecodeFixedHeader(Bytes({0xf0, 0x00})).status().IsCorruption());
  EXPECT_TRUE(DecodeFixedHeader(Bytes({0xf0, 0x00}), Version::kV5).ok());
  // Reserved flags (3.1.1 table 2.2): PUBACK 0000, PUBREL 0010.
  EXPECT_TRUE(DecodeFixedHeader(Bytes({0x41, 0x02})).status().IsCorruption());
  EXPECT_TRUE(DecodeFixedHeader(Bytes({0x60, 0x02})).status().IsCorruption());
  EXPECT_TRUE(DecodeFixedHeader(Bytes({0x62, 0x02})).ok());
  EXPECT_TRUE(DecodeFixedHeader(Bytes({0x21, 0x02})).status().IsCorruption());
}

TEST(MqttCodec, DecodesEveryServerPacket) {
  const std::string publish = PublishPacket("sensor/data", "{\"a\":1}", 1, 42, true);
  const std::string with_more = publish + "trailing bytes of the next packet";  // views point into it
  ASSERT_OK_AND_ASSIGN(Packet p, DecodePacket(with_more));
  EXPECT_EQ(p.type, PacketType::kPublish);
  EXPECT_EQ(p.size, publish.size());
  EXPECT_EQ(p.publish.topic, "sensor/data");
  EXPECT_EQ(p.publish.packet_id, 42);
  EXPECT_EQ(p.packet_id, 42);
  EXPECT_EQ(p.publish.payload, "{\"a\":1}");
  EXPECT_EQ(p.publish.payload_size, 7u);
  EXPECT_FALSE(p.publish.truncated);
  EXPECT_TRUE(p.publish.dup);
  EXPECT_FALSE(p.publish.retain);
  EXPECT_EQ(p.publish.qos, 1);

  const std::string q0_bytes = Bytes({0x31, 0x03, 0x00, 0x01, 't'});  // QoS 0, retain
  ASSERT_OK_AND_ASSIGN(Packet q0, DecodePacket(q0_bytes));
  EXPECT_EQ(q0.publish.qos, 0);
  EXPECT_TRUE(q0.publish.retain);
  EXPECT_EQ(q0.publish.payload, "");

  ASSERT_OK_AND_ASSIGN(Packet connack, DecodePacket(Bytes({0x20, 0x02, 0x01, 0x00})));
  EXPECT_EQ(connack.type, PacketType::kConnack);
  EXPECT_TRUE(connack.connack.session_present);
  EXPECT_EQ(connack.connack.return_code, 0);
  ASSERT_OK_AND_ASSIGN(Packet refused, DecodePacket(Bytes({0x20, 0x02, 0x00, 0x05})));
  EXPECT_EQ(refused.connack.return_code, 5);
  EXPECT_STREQ(ConnackReason(5), "not authorized");

  ASSERT_OK_AND_ASSIGN(Packet suback, DecodePacket(Bytes({0x90, 0x04, 0x00, 0x09, 0x01, 0x80})));
  EXPECT_EQ(suback.suback.packet_id, 9);
  EXPECT_EQ(suback.suback.return_codes, (std::vector<uint8_t>{1, 0x80}));

  ASSERT_OK_AND_ASSIGN(Packet pingresp, DecodePacket(Bytes({0xd0, 0x00})));
  EXPECT_EQ(pingresp.type, PacketType::kPingresp);
  EXPECT_EQ(pingresp.size, 2u);

  for (int first : {0x40, 0x50, 0x62, 0x70, 0xb0}) {  // PUBACK PUBREC PUBREL PUBCOMP UNSUBACK
    ASSERT_OK_AND_ASSIGN(Packet ack, DecodePacket(Bytes({first, 0x02, 0xab, 0xcd})));
    EXPECT_EQ(ack.packet_id, 0xabcd);
  }
  // The span entry point decodes the same bytes.
  const std::vector<uint8_t> raw = {0xd0, 0x00};
  EXPECT_TRUE(DecodePacket(std::span<const uint8_t>(raw)).ok());
}

TEST(MqttCodec, RejectsMalformedPackets) {
  auto corrupt = [](const std::string& bytes) { return DecodePacket(bytes).status().IsCorruption(); };
  // Incomplete is not malformed: the remaining length says more bytes are coming.
  EXPECT_TRUE(DecodePacket(Bytes({0x32, 0x10, 0x00, 0x01, 't'})).status().IsNotFound());
  // Topic length past the packet (the packet is complete, its topic claims more).
  EXPECT_TRUE(corrupt(Bytes({0x32, 0x05, 0x00, 0x10, 's', 'h', 'o'})));
  EXPECT_TRUE(corrupt(Bytes({0x30, 0x01, 0x00})));                         // topic length cut
  EXPECT_TRUE(corrupt(Bytes({0x30, 0x00})));                               // no topic length at all
  EXPECT_TRUE(corrupt(Bytes({0x32, 0x04, 0x00, 0x01, 't', 0x00})));        // packet id cut
  EXPECT_TRUE(corrupt(Bytes({0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00})));  // packet id 0
  EXPECT_TRUE(corrupt(Bytes({0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01})));  // QoS 3
  EXPECT_TRUE(corrupt(Bytes({0x38, 0x03, 0x00, 0x01, 't'})));              // QoS 0 with DUP
  EXPECT_TRUE(corrupt(Bytes({0x30, 0x02, 0x00, 0x00})));                   // empty topic (3.1.1)
  EXPECT_TRUE(corrupt(Bytes({0x30, 0x04, 0x00, 0x02, 'a', '#'})));         // wildcard in a PUBLISH
  EXPECT_TRUE(corrupt(Bytes({0x30, 0x04, 0x00, 0x02, 'a', 0x00})));        // NUL in the topic
  EXPECT_TRUE(corrupt(Bytes({0x30, 0x04, 0x00, 0x02, 'a', 0xc3})));        // a cut UTF-8 character
  EXPECT_TRUE(corrupt(Bytes({0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80})));  // a surrogate (U+D800)
  EXPECT_FALSE(corrupt(Bytes({0x30, 0x04, 0x00, 0x02, 0xc3, 0xa9})));       // é
  EXPECT_TRUE(corrupt(Bytes({0x20, 0x01, 0x00})));                         // CONNACK too short
  EXPECT_TRUE(corrupt(Bytes({0x20, 0x03, 0x00, 0x00, 0x00})));             // CONNACK too long
  EXPECT_TRUE(corrupt(Bytes({0x20, 0x02, 0x02, 0x00})));                   // CONNACK reserved flag
  EXPECT_TRUE(corrupt(Bytes({0x90, 0x02, 0x00, 0x01})));                   // SUBACK without codes
  EXPECT_TRUE(corrupt(Bytes({0x90, 0x03, 0x00, 0x01, 0x03})));             // SUBACK code 3
  EXPECT_TRUE(corrupt(Bytes({0x40, 0x03, 0x00, 0x01, 0x00})));             // PUBACK of 3 bytes (3.1.1)
  EXPECT_TRUE(corrupt(Bytes({0x40, 0x02, 0x00, 0x00})));                   // PUBACK id 0
  EXPECT_TRUE(corrupt(Bytes({0xd0, 0x01, 0x00})));                         // PINGRESP with a body
  EXPECT_TRUE(corrupt(Bytes({0xe0, 0x00})));                               // DISCONNECT from a 3.1.1 server
  EXPECT_TRUE(corrupt(Bytes({0x10, 0x00})));                               // CONNECT from a server
  EXPECT_TRUE(corrupt(Bytes({0xc0, 0x00})));                               // PINGREQ from a server
  EXPECT_TRUE(corrupt(Bytes({0x82, 0x00})));                               // SUBSCRIBE from a server
}

TEST(MqttCodec, Mqtt5PropertiesAreFramedAndKeptRaw) {
  // CONNACK: flags, reason, properties (length 3: Receive Maximum = 10).
  const std::string connack = Bytes({0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x0a});  // views point into it
  ASSERT_OK_AND_ASSIGN(Packet c, DecodePacket(connack, Version::kV5));
  EXPECT_EQ(c.properties, Bytes({0x21, 0x00, 0x0a}));
  // PUBLISH QoS 1: topic, id, properties (length 2: Payload Format Indicator = 1), payload.
  const std::string publish = Bytes({0x32, 0x09, 0x00, 0x01, 't', 0x00, 0x05, 0x02, 0x01, 0x01, 'x'});
  ASSERT_OK_AND_ASSIGN(Packet p, DecodePacket(publish, Version::kV5));
  EXPECT_EQ(p.publish.topic, "t");
  EXPECT_EQ(p.publish.packet_id, 5);
  EXPECT_EQ(p.properties, Bytes({0x01, 0x01}));
  EXPECT_EQ(p.publish.payload, "x");
  // SUBACK: id, empty properties, reason code 0x87 (not authorized).
  ASSERT_OK_AND_ASSIGN(Packet s, DecodePacket(Bytes({0x90, 0x04, 0x00, 0x01, 0x00, 0x87}), Version::kV5));
  EXPECT_EQ(s.suback.return_codes, (std::vector<uint8_t>{0x87}));
  // Properties length past the packet, or a varint too long.
  EXPECT_TRUE(DecodePacket(Bytes({0x20, 0x03, 0x00, 0x00, 0x05}), Version::kV5).status().IsCorruption());
  EXPECT_TRUE(
      DecodePacket(Bytes({0x20, 0x06, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff}), Version::kV5).status().IsCorruption());
  EXPECT_TRUE(DecodePacket(Bytes({0x30, 0x04, 0x00, 0x01, 't', 0x09}), Version::kV5).status().IsCorruption());
  // A server's DISCONNECT (with a reason) is legal in MQTT 5.
  EXPECT_TRUE(DecodePacket(Bytes({0xe0, 0x01, 0x8e}), Version::kV5).ok());
}

TEST(MqttCodecReader, DecodesAStreamFedOneByteAtATime) {
  const std::string stream = Bytes({0x20, 0x02, 0x00, 0x00}) + PublishPacket("a/b", "hello", 1, 1) +
                             PublishPacket("c", std::string(300, 'x'), 0) + Bytes({0xd0, 0x00}) +
                             Bytes({0x90, 0x03, 0x00, 0x01, 0x01});
  PacketReader reader(1024);
  std::vector<PacketType> types;
  std::vector<std::string> payloads;
  for (char c : stream) {
    reader.Append(std::string_view(&c, 1));
    while (true) {
      ASSERT_OK_AND_ASSIGN(const Packet* p, reader.Next());
      if (!p) break;
      types.push_back(p->type);
      if (p->type == PacketType::kPublish) payloads.emplace_back(p->publish.payload);
    }
  }
  EXPECT_EQ(types, (std::vector<PacketType>{PacketType::kConnack, PacketType::kPublish, PacketType::kPublish,
                                            PacketType::kPingresp, PacketType::kSuback}));
  EXPECT_EQ(payloads, (std::vector<std::string>{"hello", std::string(300, 'x')}));
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(MqttCodecReader, ManyPacketsInOneChunkAndViewsStayValidUntilAppend) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += PublishPacket("t", std::to_string(i), 1, static_cast<uint16_t>(i + 1));
  PacketReader reader(1024);
  reader.Append(stream);
  std::vector<std::string_view> views;
  while (true) {
    ASSERT_OK_AND_ASSIGN(const Packet* p, reader.Next());
    if (!p) break;
    views.push_back(p->publish.payload);
  }
  ASSERT_EQ(views.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(views[i], std::to_string(i));
}

TEST(MqttCodecReader, OversizePublishIsTruncatedWithBoundedMemory) {
  const size_t limit = 1000;
  const std::string big(1'000'000, 'x');
  const std::string stream = PublishPacket("sensor/data", big, 1, 9) + PublishPacket("sensor/data", "small", 1, 10);
  PacketReader reader(limit);
  std::vector<Packet> got;
  std::vector<std::string> payloads;
  size_t max_buffered = 0;
  for (size_t at = 0; at < stream.size(); at += 4096) {  // as a socket would deliver it
    reader.Append(std::string_view(stream).substr(at, 4096));
    max_buffered = std::max(max_buffered, reader.buffered());
    while (true) {
      ASSERT_OK_AND_ASSIGN(const Packet* p, reader.Next());
      if (!p) break;
      payloads.emplace_back(p->publish.payload);
      got.push_back(*p);
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].publish.truncated);
  EXPECT_EQ(got[0].publish.packet_id, 9);
  EXPECT_EQ(got[0].publish.payload_size, big.size());
  EXPECT_EQ(payloads[0], std::string(limit, 'x'));
  EXPECT_FALSE(got[1].publish.truncated);
  EXPECT_EQ(got[1].publish.packet_id, 10);
  EXPECT_EQ(payloads[1], "small");
  EXPECT_LE(max_buffered, limit + 2 * 4096) << "the oversize payload was buffered";
  EXPECT_EQ(reader.skipping(), 0u);

  // All at once: truncated the same way, the rest of the packet dropped from the buffer.
  PacketReader at_once(limit);
  at_once.Append(stream);
  ASSERT_OK_AND_ASSIGN(const Packet* first, at_once.Next());
  ASSERT_TRUE(first && first->publish.truncated);
  EXPECT_EQ(first->publish.payload.size(), limit);
  ASSERT_OK_AND_ASSIGN(const Packet* second, at_once.Next());
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->publish.payload, "small");

  // Exactly the limit is not truncated.
  PacketReader exact(5);
  exact.Append(PublishPacket("t", "12345", 0));
  ASSERT_OK_AND_ASSIGN(const Packet* e, exact.Next());
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->publish.truncated);
}

TEST(MqttCodecReader, RejectsHugeControlPacketsWithoutBufferingThem) {
  PacketReader reader(1024, Version::kV311, 4096);
  std::string suback = "\x90";
  PutVarint(&suback, 100'000'000);  // a 100 MB SUBACK is not something to wait for
  reader.Append(suback);
  EXPECT_TRUE(reader.Next().status().IsCorruption());
  // A PUBLISH whose topic runs past its own remaining length is caught before the body arrives.
  PacketReader r2(1024);
  r2.Append(Bytes({0x30, 0x05, 0xff, 0xff}));
  EXPECT_TRUE(r2.Next().status().IsCorruption());
}

TEST(MqttProperties, WritesAndParsesEveryValueType) {
  using Id = PropertyId;
  // A PUBLISH with every property it may carry: byte, four-byte, string, binary, varint (twice:
  // one per matching subscription), two-byte, and string pairs (twice, order kept).
  PropertyWriter w;
  w.Byte(Id::kPayloadFormatIndicator, 1);
  w.FourByte(Id::kMessageExpiryInterval, 0x01020304);
  w.String(Id::kContentType, "application/json");
  w.String(Id::kResponseTopic, "reply/to");
  w.Binary(Id::kCorrelationData, std::string("\x00\xff\x01", 3));
  w.Varint(Id::kSubscriptionIdentifier, 1);
  w.Varint(Id::kSubscriptionIdentifier, 268'435'455);
  w.TwoByte(Id::kTopicAlias, 0x0102);
  w.StringPair(Id::kUserProperty, "site", "north");
  w.StringPair(Id::kUserProperty, "site", "south");  // names may repeat
  // Byte for byte, the first ones: identifier, then the value in network order.
  EXPECT_EQ(w.bytes().substr(0, 7), Bytes({0x01, 0x01, 0x02, 0x01, 0x02, 0x03, 0x04}));
  const std::string bytes = w.bytes();
  ASSERT_OK_AND_ASSIGN(Properties p, ParseProperties(PacketType::kPublish, bytes));
  EXPECT_EQ(p.payload_format, 1);
  EXPECT_EQ(p.message_expiry_s, 0x01020304u);
  EXPECT_EQ(p.content_type, "application/json");
  EXPECT_EQ(p.subscription_ids, (std::vector<uint32_t>{1, 268'435'455}));
  EXPECT_EQ(p.topic_alias, 0x0102);
  ASSERT_EQ(p.user_properties.size(), 2u);
  EXPECT_EQ(p.user_properties[0].first, "site");
  EXPECT_EQ(p.user_properties[0].second, "north");
  EXPECT_EQ(p.user_properties[1].second, "south");
  EXPECT_FALSE(p.reason_string.has_value());

  // A CONNACK with every property it may carry.
  PropertyWriter c;
  c.FourByte(Id::kSessionExpiryInterval, 3600);
  c.String(Id::kAssignedClientIdentifier, "auto-1234");
  c.TwoByte(Id::kServerKeepAlive, 60);
  c.String(Id::kAuthenticationMethod, "SCRAM-SHA-1");
  c.Binary(Id::kAuthenticationData, "");
  c.String(Id::kResponseInformation, "resp/");
  c.String(Id::kServerReference, "other:1883");
  c.String(Id::kReasonString, "welcome \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");  // 2, 3 and 4-byte UTF-8
  c.TwoByte(Id::kReceiveMaximum, 20);
  c.TwoByte(Id::kTopicAliasMaximum, 10);
  c.Byte(Id::kMaximumQos, 1);
  c.Byte(Id::kRetainAvailable, 0);
  c.StringPair(Id::kUserProperty, "", "");
  c.FourByte(Id::kMaximumPacketSize, 1 << 20);
  c.Byte(Id::kWildcardSubscriptionAvailable, 0);
  c.Byte(Id::kSubscriptionIdentifierAvailable, 1);
  c.Byte(Id::kSharedSubscriptionAvailable, 1);
  const std::string cbytes = c.bytes();
  ASSERT_OK_AND_ASSIGN(Properties a, ParseProperties(PacketType::kConnack, cbytes));
  EXPECT_EQ(a.session_expiry_s, 3600u);
  EXPECT_EQ(a.assigned_client_id, "auto-1234");
  EXPECT_EQ(a.server_keepalive_s, 60);
  EXPECT_EQ(a.reason_string, "welcome \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(a.receive_maximum, 20);
  EXPECT_EQ(a.topic_alias_maximum, 10);
  EXPECT_EQ(a.maximum_qos, 1);
  EXPECT_EQ(a.maximum_packet_size, 1u << 20);
  EXPECT_EQ(a.wildcard_subscription_available, false);
  EXPECT_EQ(a.shared_subscription_available, true);
  ASSERT_EQ(a.user_properties.size(), 1u);

  // The block's length goes first; an empty block is the single byte 0.
  EXPECT_EQ(Block(PropertyWriter()), Bytes({0x00}));
  PropertyWriter one;
  one.TwoByte(Id::kReceiveMaximum, 5);
  EXPECT_EQ(Block(one), Bytes({0x03, 0x21, 0x00, 0x05}));
}

TEST(MqttProperties, EncodePropertiesRoundTrips) {
  Properties in;
  in.session_expiry_s = 0xffffffff;
  in.receive_maximum = 65535;
  in.maximum_packet_size = 1000;
  in.topic_alias_maximum = 0;
  in.maximum_qos = 0;
  in.assigned_client_id = "id";
  in.server_keepalive_s = 0;
  in.wildcard_subscription_available = true;
  in.shared_subscription_available = false;
  in.reason_string = "why";
  in.user_properties = {{"a", "1"}, {"b", "2"}};
  std::string block;
  EncodeProperties(in, &block);
  ASSERT_EQ(static_cast<size_t>(block[0]), block.size() - 1);
  ASSERT_OK_AND_ASSIGN(Properties out, ParseProperties(PacketType::kConnack, std::string_view(block).substr(1)));
  EXPECT_EQ(out.session_expiry_s, in.session_expiry_s);
  EXPECT_EQ(out.receive_maximum, in.receive_maximum);
  EXPECT_EQ(out.maximum_packet_size, in.maximum_packet_size);
  EXPECT_EQ(out.topic_alias_maximum, in.topic_alias_maximum);
  EXPECT_EQ(out.maximum_qos, in.maximum_qos);
  EXPECT_EQ(out.assigned_client_id, in.assigned_client_id);
  EXPECT_EQ(out.server_keepalive_s, in.server_keepalive_s);
  EXPECT_EQ(out.wildcard_subscription_available, in.wildcard_subscription_available);
  EXPECT_EQ(out.shared_subscription_available, in.shared_subscription_available);
  EXPECT_EQ(out.reason_string, in.reason_string);
  EXPECT_EQ(out.user_properties, in.user_properties);

  Properties pub;
  pub.payload_format = 0;
  pub.message_expiry_s = 10;
  pub.content_type = "text/plain";
  pub.topic_alias = 3;
  pub.subscription_ids = {5, 300};
  block.clear();
  EncodeProperties(pub, &block);
  ASSERT_OK_AND_ASSIGN(Properties back, ParseProperties(PacketType::kPublish, std::string_view(block).substr(1)));
  EXPECT_EQ(back.payload_format, 0);
  EXPECT_EQ(back.message_expiry_s, 10u);
  EXPECT_EQ(back.content_type, "text/plain");
  EXPECT_EQ(back.topic_alias, 3);
  EXPECT_EQ(back.subscription_ids, pub.subscription_ids);
}

TEST(MqttProperties, RejectsMalformedProperties) {
  auto bad = [](PacketType t, const std::string& block) { return ParseProperties(t, block).status().IsCorruption(); };
  const PacketType kPub = PacketType::kPublish, kAck = PacketType::kConnack;
  // Unknown identifiers: gaps in the numbering, past the last, and a multi-byte varint id.
  for (int id : {0x00, 0x04, 0x0a, 0x0c, 0x10, 0x14, 0x1b, 0x20, 0x2b, 0x7f, 0x80}) {
    EXPECT_TRUE(bad(kAck, Bytes({id, 0x00, 0x00, 0x00, 0x00}))) << id;
  }
  // Known, but not allowed in that packet.
  EXPECT_TRUE(bad(kAck, Bytes({0x23, 0x00, 0x01})));              // Topic Alias in a CONNACK
  EXPECT_TRUE(bad(kPub, Bytes({0x12, 0x00, 0x01, 'x'})));         // Assigned Client Identifier in a PUBLISH
  EXPECT_TRUE(bad(kPub, Bytes({0x18, 0x00, 0x00, 0x00, 0x01})));  // Will Delay Interval: wills only
  EXPECT_TRUE(bad(kAck, Bytes({0x18, 0x00, 0x00, 0x00, 0x01})));
  EXPECT_TRUE(bad(PacketType::kSuback, Bytes({0x21, 0x00, 0x01})));      // Receive Maximum in a SUBACK
  EXPECT_TRUE(bad(PacketType::kPuback, Bytes({0x11, 0, 0, 0, 1})));      // Session Expiry in a PUBACK
  EXPECT_TRUE(bad(PacketType::kDisconnect, Bytes({0x13, 0x00, 0x01})));  // Server Keep Alive in a DISCONNECT
  EXPECT_TRUE(bad(PacketType::kPingresp, Bytes({0x26, 0, 0, 0, 0})));    // PINGRESP has no properties
  // Repeated where only one is allowed.
  EXPECT_TRUE(bad(kPub, Bytes({0x03, 0x00, 0x01, 'a', 0x03, 0x00, 0x01, 'b'})));  // Content Type twice
  EXPECT_TRUE(bad(kAck, Bytes({0x1f, 0x00, 0x00, 0x1f, 0x00, 0x00})));            // Reason String twice
  EXPECT_TRUE(bad(kAck, Bytes({0x21, 0x00, 0x01, 0x21, 0x00, 0x01})));            // Receive Maximum twice
  EXPECT_TRUE(bad(kAck, Bytes({0x24, 0x00, 0x24, 0x00})));                        // Maximum QoS twice
  EXPECT_TRUE(bad(PacketType::kSubscribe, Bytes({0x0b, 0x01, 0x0b, 0x02})));      // Subscription Identifier twice
  EXPECT_TRUE(ParseProperties(kPub, Bytes({0x0b, 0x01, 0x0b, 0x02})).ok());  // ... in a PUBLISH: one per subscription
  EXPECT_TRUE(ParseProperties(kAck, Bytes({0x26, 0, 0, 0, 0, 0x26, 0, 0, 0, 0})).ok());  // User Property may repeat
  // Values cut short by the end of the block.
  EXPECT_TRUE(bad(kPub, Bytes({0x01})));                                    // byte
  EXPECT_TRUE(bad(kPub, Bytes({0x23, 0x00})));                              // two-byte
  EXPECT_TRUE(bad(kPub, Bytes({0x02, 0x00, 0x00, 0x00})));                  // four-byte
  EXPECT_TRUE(bad(kPub, Bytes({0x0b, 0x80})));                              // varint cut
  EXPECT_TRUE(bad(kPub, Bytes({0x0b, 0xff, 0xff, 0xff, 0xff, 0x01})));      // varint of 5 bytes
  EXPECT_TRUE(bad(kPub, Bytes({0x03, 0x00})));                              // string length cut
  EXPECT_TRUE(bad(kPub, Bytes({0x03, 0x00, 0x05, 'a', 'b'})));              // string past the block
  EXPECT_TRUE(bad(kPub, Bytes({0x03, 0xff, 0xff})));                        // string of 65535 bytes, none there
  EXPECT_TRUE(bad(kPub, Bytes({0x09, 0x00, 0x02, 0x00})));                  // binary past the block
  EXPECT_TRUE(bad(kPub, Bytes({0x26, 0x00, 0x01, 'k'})));                   // string pair without its value
  EXPECT_TRUE(bad(kPub, Bytes({0x26, 0x00, 0x01, 'k', 0x00, 0x02, 'v'})));  // value cut
  // Values out of range.
  EXPECT_TRUE(bad(kPub, Bytes({0x23, 0x00, 0x00})));              // Topic Alias 0
  EXPECT_TRUE(bad(kAck, Bytes({0x21, 0x00, 0x00})));              // Receive Maximum 0
  EXPECT_TRUE(bad(kAck, Bytes({0x27, 0x00, 0x00, 0x00, 0x00})));  // Maximum Packet Size 0
  EXPECT_TRUE(bad(kPub, Bytes({0x0b, 0x00})));                    // Subscription Identifier 0
  EXPECT_TRUE(bad(kAck, Bytes({0x24, 0x02})));                    // Maximum QoS 2 (said by leaving it out)
  EXPECT_TRUE(bad(kPub, Bytes({0x01, 0x02})));                    // Payload Format Indicator 2
  for (int id : {0x25, 0x28, 0x29, 0x2a}) EXPECT_TRUE(bad(kAck, Bytes({id, 0x02}))) << id;  // yes/no bytes
  // Strings that are not well-formed UTF-8, or hold U+0000.
  for (const std::string& s :
       {Bytes({0xff}), Bytes({0xc0, 0x80}), Bytes({0xed, 0xa0, 0x80}), Bytes({0x00}), Bytes({0xe2, 0x82}),
        Bytes({0x80}), Bytes({0xf4, 0x90, 0x80, 0x80}), Bytes({0xe0, 0x80, 0xaf})}) {
    std::string block = Bytes({0x1f, 0x00, static_cast<int>(s.size())}) + s;
    EXPECT_TRUE(bad(kAck, block)) << "reason string of " << s.size() << " bytes";
    EXPECT_TRUE(bad(kAck, Bytes({0x26, 0x00, 0x00, 0x00, static_cast<int>(s.size())}) + s));  // user property value
  }
  // Binary data is not UTF-8 and need not be.
  EXPECT_TRUE(ParseProperties(kPub, Bytes({0x09, 0x00, 0x02, 0x00, 0xff})).ok());
}

TEST(MqttCodec, DecodesMqtt5ServerPackets) {
  const Version v5 = Version::kV5;
  using Id = PropertyId;
  // CONNACK with properties.
  PropertyWriter cw;
  cw.TwoByte(Id::kServerKeepAlive, 10);
  cw.String(Id::kAssignedClientIdentifier, "auto-7");
  cw.Byte(Id::kSharedSubscriptionAvailable, 1);
  const std::string connack = Packet5(0x20, Bytes({0x01, 0x00}) + Block(cw));
  ASSERT_OK_AND_ASSIGN(Packet c, DecodePacket(connack, v5));
  EXPECT_TRUE(c.connack.session_present);
  EXPECT_EQ(c.connack.return_code, 0);
  EXPECT_FALSE(c.connack.v311_form);
  EXPECT_EQ(c.props.server_keepalive_s, 10);
  EXPECT_EQ(c.props.assigned_client_id, "auto-7");
  EXPECT_EQ(c.props.shared_subscription_available, true);
  // A refusal with a reason string.
  PropertyWriter rw;
  rw.String(Id::kReasonString, "no such user");
  const std::string refused = Packet5(0x20, Bytes({0x00, 0x86}) + Block(rw));
  ASSERT_OK_AND_ASSIGN(Packet r, DecodePacket(refused, v5));
  EXPECT_EQ(r.connack.return_code, 0x86);
  EXPECT_EQ(r.props.reason_string, "no such user");
  EXPECT_STREQ(ConnackReason(0x86, v5), "bad user name or password");
  EXPECT_STREQ(ConnackReason(0x84, v5), "unsupported protocol version");
  // What a 3.1.1 server answers to an MQTT 5 CONNECT: the 2-byte CONNACK, code 1.
  ASSERT_OK_AND_ASSIGN(Packet old, DecodePacket(Bytes({0x20, 0x02, 0x00, 0x01}), v5));
  EXPECT_TRUE(old.connack.v311_form);
  EXPECT_EQ(old.connack.return_code, 1);
  EXPECT_STREQ(ConnackReason(1), "unacceptable protocol version");
  // An MQTT 5 CONNACK reason code between success and 0x80 does not exist.
  EXPECT_TRUE(DecodePacket(Bytes({0x20, 0x03, 0x00, 0x01, 0x00}), v5).status().IsCorruption());
  // Properties a CONNACK may not carry, and trailing bytes.
  EXPECT_TRUE(DecodePacket(Bytes({0x20, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01}), v5).status().IsCorruption());
  EXPECT_TRUE(DecodePacket(Bytes({0x20, 0x04, 0x00, 0x00, 0x00, 0x00}), v5).status().IsCorruption());

  // PUBLISH: properties parsed; an empty topic only with a Topic Alias; Topic Alias 0 refused.
  PropertyWriter pw;
  pw.String(Id::kContentType, "text/plain");
  pw.StringPair(Id::kUserProperty, "k", "v");
  const std::string pub = Publish5("s/t", pw.bytes(), "hello");
  ASSERT_OK_AND_ASSIGN(Packet p, DecodePacket(pub, v5));
  EXPECT_EQ(p.publish.topic, "s/t");
  EXPECT_EQ(p.publish.payload, "hello");
  EXPECT_EQ(p.props.content_type, "text/plain");
  ASSERT_EQ(p.props.user_properties.size(), 1u);
  const std::string aliased = Publish5("", Bytes({0x23, 0x00, 0x02}), "x");
  ASSERT_OK_AND_ASSIGN(Packet a, DecodePacket(aliased, v5));
  EXPECT_EQ(a.props.topic_alias, 2);
  EXPECT_TRUE(DecodePacket(Publish5("", "", "x"), v5).status().IsCorruption());
  EXPECT_TRUE(DecodePacket(Publish5("t", Bytes({0x23, 0x00, 0x00}), "x"), v5).status().IsCorruption());
  EXPECT_TRUE(DecodePacket(Publish5("t", Bytes({0x21, 0x00, 0x01}), "x"), v5).status().IsCorruption());

  // SUBACK: reason codes from 0x80 up are refusals; 3 to 0x7f do not exist.
  PropertyWriter sw;
  sw.String(Id::kReasonString, "shared subscriptions are off");
  const std::string suback = Packet5(0x90, Bytes({0x00, 0x05}) + Block(sw) + Bytes({0x01, 0x9e, 0x00}));
  ASSERT_OK_AND_ASSIGN(Packet s, DecodePacket(suback, v5));
  EXPECT_EQ(s.suback.packet_id, 5);
  EXPECT_EQ(s.suback.return_codes, (std::vector<uint8_t>{0x01, 0x9e, 0x00}));
  EXPECT_EQ(s.props.reason_string, "shared subscriptions are off");
  EXPECT_STREQ(ReasonCodeName(0x9e), "shared subscriptions not supported");
  EXPECT_TRUE(DecodePacket(Bytes({0x90, 0x04, 0x00, 0x01, 0x00, 0x03}), v5).status().IsCorruption());
  EXPECT_TRUE(DecodePacket(Bytes({0x90, 0x03, 0x00, 0x01, 0x00}), v5).status().IsCorruption());  // no codes

  // PUBACK and friends: the packet id, then an optional reason code and optional properties.
  ASSERT_OK_AND_ASSIGN(Packet a2, DecodePacket(Bytes({0x40, 0x02, 0x00, 0x09}), v5));
  EXPECT_EQ(a2.reason_code, 0);
  ASSERT_OK_AND_ASSIGN(Packet a3, DecodePacket(Bytes({0x40, 0x03, 0x00, 0x09, 0x10}), v5));
  EXPECT_EQ(a3.reason_code, 0x10);
  ASSERT_OK_AND_ASSIGN(Packet a4, DecodePacket(Bytes({0x50, 0x04, 0x00, 0x09, 0x80, 0x00}), v5));
  EXPECT_EQ(a4.reason_code, 0x80);
  ASSERT_OK_AND_ASSIGN(Packet a7, DecodePacket(Bytes({0x62, 0x07, 0x00, 0x09, 0x92, 0x03, 0x1f, 0x00, 0x00}), v5));
  EXPECT_EQ(a7.reason_code, 0x92);
  EXPECT_EQ(a7.props.reason_string, "");
  EXPECT_TRUE(DecodePacket(Bytes({0x70, 0x05, 0x00, 0x09, 0x00, 0x00, 0x00}), v5).status().IsCorruption());  // trailing
  EXPECT_TRUE(DecodePacket(Bytes({0x40, 0x05, 0x00, 0x09, 0x00, 0x02, 0x23}), v5).status().IsCorruption());  // bad prop
  // UNSUBACK: properties, then a reason code per filter.
  ASSERT_OK_AND_ASSIGN(Packet u, DecodePacket(Bytes({0xb0, 0x05, 0x00, 0x03, 0x00, 0x00, 0x11}), v5));
  EXPECT_EQ(u.packet_id, 3);
  EXPECT_EQ(u.suback.return_codes, (std::vector<uint8_t>{0x00, 0x11}));
  EXPECT_TRUE(DecodePacket(Bytes({0xb0, 0x03, 0x00, 0x03, 0x00}), v5).status().IsCorruption());

  // DISCONNECT: nothing (normal), a reason alone, or a reason with properties.
  ASSERT_OK_AND_ASSIGN(Packet d0, DecodePacket(Bytes({0xe0, 0x00}), v5));
  EXPECT_EQ(d0.reason_code, 0);
  ASSERT_OK_AND_ASSIGN(Packet d1, DecodePacket(Bytes({0xe0, 0x01, 0x8b}), v5));
  EXPECT_EQ(d1.reason_code, 0x8b);
  PropertyWriter dw;
  dw.String(Id::kReasonString, "another client took over");
  dw.String(Id::kServerReference, "b2:1883");
  dw.FourByte(Id::kSessionExpiryInterval, 0);
  const std::string disc = Packet5(0xe0, Bytes({0x8e}) + Block(dw));
  ASSERT_OK_AND_ASSIGN(Packet d, DecodePacket(disc, v5));
  EXPECT_EQ(d.reason_code, 0x8e);
  EXPECT_EQ(d.props.reason_string, "another client took over");
  EXPECT_STREQ(ReasonCodeName(d.reason_code), "session taken over");
  EXPECT_TRUE(DecodePacket(Bytes({0xe0, 0x04, 0x8e, 0x02, 0x1f, 0x00}), v5).status().IsCorruption());
  EXPECT_TRUE(DecodePacket(Bytes({0xe0, 0x03, 0x8e, 0x00, 0x00}), v5).status().IsCorruption());  // trailing
  EXPECT_TRUE(DecodePacket(Bytes({0xe0, 0x04, 0x8e, 0x02, 0x21, 0x00}), v5).status().IsCorruption());
  // AUTH, framed the same way.
  ASSERT_OK_AND_ASSIGN(Packet au, DecodePacket(Bytes({0xf0, 0x02, 0x18, 0x00}), v5));
  EXPECT_EQ(au.type, PacketType::kAuth);
  EXPECT_EQ(au.reason_code, 0x18);
}

TEST(MqttCodecReader, DecodesAnMqtt5StreamAndResetsToAnotherVersion) {
  const std::string stream = Packet5(0x20, Bytes({0x00, 0x00, 0x03, 0x21, 0x00, 0x0a})) +
                             Publish5("a/b", Bytes({0x01, 0x01}), "hello") +
                             Publish5("c", "", std::string(300, 'x'), 0) + Bytes({0xd0, 0x00}) +
                             Bytes({0x90, 0x04, 0x00, 0x01, 0x00, 0x01}) + Bytes({0xe0, 0x01, 0x8b});
  PacketReader reader(1024, Version::kV5);
  std::vector<PacketType> types;
  std::vector<std::string> payloads;
  for (char c : stream) {
    reader.Append(std::string_view(&c, 1));
    while (true) {
      ASSERT_OK_AND_ASSIGN(const Packet* p, reader.Next());
      if (!p) break;
      types.push_back(p->type);
      if (p->type == PacketType::kPublish) payloads.emplace_back(p->publish.payload);
    }
  }
  EXPECT_EQ(types, (std::vector<PacketType>{PacketType::kConnack, PacketType::kPublish, PacketType::kPublish,
                                            PacketType::kPingresp, PacketType::kSuback, PacketType::kDisconnect}));
  EXPECT_EQ(payloads, (std::vector<std::string>{"hello", std::string(300, 'x')}));

  // The same reader, reset for a 3.1.1 connection: a DISCONNECT from the server is malformed now.
  reader.Reset(Version::kV311);
  EXPECT_EQ(reader.version(), Version::kV311);
  EXPECT_EQ(reader.buffered(), 0u);
  reader.Append(Bytes({0x20, 0x02, 0x00, 0x00, 0xe0, 0x00}));
  ASSERT_OK_AND_ASSIGN(const Packet* connack, reader.Next());
  ASSERT_NE(connack, nullptr);
  EXPECT_FALSE(connack->connack.v311_form);  // only the MQTT 5 decoder sets it
  EXPECT_TRUE(reader.Next().status().IsCorruption());
}

TEST(MqttCodecReader, OversizeMqtt5PublishIsTruncatedWithItsProperties) {
  PropertyWriter w;
  w.String(PropertyId::kContentType, "application/octet-stream");
  w.StringPair(PropertyId::kUserProperty, "k", "v");
  const std::string big(200'000, 'y');
  const std::string stream = Publish5("sensor/data", w.bytes(), big, 1, 9) + Publish5("s", "", "small", 1, 10);
  PacketReader reader(100, Version::kV5);
  std::vector<std::string> types;
  size_t max_buffered = 0, truncated = 0, small = 0;
  for (size_t at = 0; at < stream.size(); at += 1000) {
    reader.Append(std::string_view(stream).substr(at, 1000));
    max_buffered = std::max(max_buffered, reader.buffered());
    while (true) {
      ASSERT_OK_AND_ASSIGN(const Packet* p, reader.Next());
      if (!p) break;
      if (p->publish.truncated) {
        ++truncated;
        EXPECT_EQ(p->publish.payload, std::string(100, 'y'));
        EXPECT_EQ(p->publish.payload_size, big.size());
        EXPECT_EQ(p->props.content_type, "application/octet-stream");
      } else {
        ++small;
        EXPECT_EQ(p->publish.payload, "small");
      }
    }
  }
  EXPECT_EQ(truncated, 1u);
  EXPECT_EQ(small, 1u);
  EXPECT_LE(max_buffered, 100 + 2 * 1000u);
  // A PUBLISH whose properties alone exceed the control-packet bound is refused before it is buffered.
  PacketReader bounded(100, Version::kV5, 256);
  std::string head = Bytes({0x30});
  PutVarint(&head, 100'000);
  head += Bytes({0x00, 0x01, 't'});
  PutVarint(&head, 90'000);  // 90 KB of properties
  bounded.Append(head + std::string(1000, '\x26'));
  EXPECT_TRUE(bounded.Next().status().IsCorruption());
}

// Every field of a decoded packet (or its status), so that two decodings compare as strings.
std::string Describe(const Result<Packet>& r) {
  if (!r.ok()) return r.status().ToString();
  const Packet& p = *r;
  std::ostringstream o;
  auto opt = [&o](const char* name, const auto& v) {
    if (v) o << " " << name << "=" << +*v;
  };
  o << "type=" << static_cast<int>(p.type) << " flags=" << +p.flags << " size=" << p.size << " id=" << p.packet_id
    << " publish{qos=" << +p.publish.qos << " dup=" << p.publish.dup << " retain=" << p.publish.retain
    << " id=" << p.publish.packet_id << " topic=" << std::quoted(p.publish.topic)
    << " payload=" << std::quoted(p.publish.payload) << " size=" << p.publish.payload_size
    << " truncated=" << p.publish.truncated << "} connack{" << p.connack.session_present << ","
    << +p.connack.return_code << "," << p.connack.v311_form << "} suback{" << p.suback.packet_id;
  for (uint8_t c : p.suback.return_codes) o << "," << +c;
  o << "} reason=" << +p.reason_code << " properties=" << std::quoted(p.properties) << " props{";
  const Properties& q = p.props;
  opt("session_expiry", q.session_expiry_s);
  opt("receive_max", q.receive_maximum);
  opt("max_packet", q.maximum_packet_size);
  opt("alias_max", q.topic_alias_maximum);
  opt("max_qos", q.maximum_qos);
  opt("keepalive", q.server_keepalive_s);
  opt("wildcard", q.wildcard_subscription_available);
  opt("shared", q.shared_subscription_available);
  opt("format", q.payload_format);
  opt("expiry", q.message_expiry_s);
  opt("alias", q.topic_alias);
  for (auto s : {q.assigned_client_id, q.content_type, q.reason_string}) o << " " << std::quoted(s.value_or("-"));
  for (uint32_t id : q.subscription_ids) o << " sub=" << id;
  for (const auto& [k, v] : q.user_properties) o << " user=" << std::quoted(k) << ":" << std::quoted(v);
  o << "}";
  return o.str();
}

// A random packet a server might send, mostly PUBLISH (topics with and without wildcards or NUL,
// every QoS, packet id 0, MQTT 5 properties valid and not, payloads around the truncation limit),
// and now and then a control packet or a mutated byte: many valid, some malformed.
std::string RandomServerPacket(std::mt19937& rng, Version v) {
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  std::string out;
  if (pick(8) == 0) {
    static const std::string kControl[] = {Bytes({0xd0, 0x00}),
                                           Bytes({0x40, 0x02, 0x00, 0x05}),
                                           Bytes({0x90, 0x03, 0x00, 0x01, 0x01}),
                                           Bytes({0x62, 0x02, 0x00, 0x09}),
                                           Bytes({0x20, 0x02, 0x00, 0x00}),
                                           Bytes({0xe0, 0x01, 0x8e})};
    out = kControl[pick(std::size(kControl))];
  } else {
    // Each kind of flaw on its own now and then, so that streams run a while before one.
    const bool flaw = pick(16) == 0;
    static constexpr std::string_view kTopicChars[] = {"a", "b", "/", "0", "1", "-", "_", "\xc3\xa9"};
    std::string topic;
    for (size_t n = flaw && pick(8) == 0 ? 0 : 1 + pick(40); n > 0; --n)
      topic += kTopicChars[pick(std::size(kTopicChars))];
    if (flaw && pick(8) == 0) topic.insert(pick(topic.size() + 1), 1, "+#\0\xc3"[pick(4)]);
    PropertyWriter w;
    if (v == Version::kV5) {
      for (size_t n = pick(3) == 0 ? 1 + pick(3) : 0; n > 0; --n) {
        const bool bad = flaw && pick(4) == 0;
        switch (pick(6)) {
          case 0:
            w.Byte(PropertyId::kPayloadFormatIndicator, bad ? 2 : static_cast<uint8_t>(pick(2)));
            break;
          case 1:
            w.String(PropertyId::kContentType, bad ? std::string("\xff", 1) : "application/json");
            break;
          case 2:
            w.StringPair(PropertyId::kUserProperty, "k", std::to_string(pick(100)));
            break;
          case 3:
            w.Varint(PropertyId::kSubscriptionIdentifier, bad ? 0 : static_cast<uint32_t>(1 + pick(300)));
            break;
          case 4:
            w.TwoByte(PropertyId::kTopicAlias, bad ? 0 : static_cast<uint16_t>(1 + pick(3)));
            break;
          default:
            w.FourByte(PropertyId::kMessageExpiryInterval, static_cast<uint32_t>(rng()));
        }
      }
    }
    const size_t size = pick(10) == 0 ? 90 + pick(40) : pick(60);  // the reader below truncates beyond 100
    std::string payload;
    for (size_t i = 0; i < size; ++i) payload.push_back(static_cast<char>(rng()));
    const int qos = flaw && pick(8) == 0 ? 2 + static_cast<int>(pick(2)) : static_cast<int>(pick(2));
    const auto id = static_cast<uint16_t>(flaw && pick(8) == 0 ? 0 : 1 + pick(65535));
    out = v == Version::kV5 ? Publish5(topic, w.bytes(), payload, qos, id) : PublishPacket(topic, payload, qos, id);
    // DUP (malformed with QoS 0) and RETAIN.
    if (pick(4) == 0 && (qos > 0 || flaw)) out[0] = static_cast<char>(out[0] | 0x08);
    if (pick(4) == 0) out[0] = static_cast<char>(out[0] | 0x01);
  }
  if (pick(50) == 0) {  // a byte of the type and flags or of the body; the framing stays
    const size_t length_bytes = DecodeFixedHeader(out, v).value().header_size - 1;
    const size_t at = pick(out.size() - length_bytes);
    out[at == 0 ? 0 : at + length_bytes] = static_cast<char>(rng());
  }
  return out;
}

// The reader, as the client drives it (reading in place, in reads of random sizes, holding the
// buffers of some packets as messages do), against DecodePacket on each packet alone: the same
// packets, field for field, then the same verdict on the first malformed one. Held packets are
// checked once more after the reader has moved on and is gone: nothing it did later changed them.
TEST(MqttCodecReader, MatchesDecodePacketOnGeneratedStreams) {
  const size_t runs = std::getenv("SOAK") != nullptr ? 20000 : 1000;
  constexpr size_t kLimit = 100;
  std::mt19937 rng(7);
  struct Held {
    std::shared_ptr<char[]> buffer;
    Packet packet;  // its views point into buffer
    std::string expected;
  };
  std::vector<Held> held;
  size_t packets = 0, malformed = 0;
  for (size_t run = 0; run < runs; ++run) {
    const Version v = run % 2 ? Version::kV5 : Version::kV311;
    std::string stream;
    std::vector<std::string> expected;  // until and including the first malformed packet
    for (size_t i = 0, n = 1 + rng() % 40; i < n; ++i) {
      const std::string packet = RandomServerPacket(rng, v);
      Result<Packet> want = DecodePacket(packet, v);
      if (want.ok() && want->publish.payload.size() > kLimit) {
        want->publish.payload = want->publish.payload.substr(0, kLimit);
        want->publish.truncated = true;
      }
      expected.push_back(want.ok() ? Describe(want) : "Corruption");
      stream += packet;
      if (!want.ok()) break;
    }
    PacketReader reader(kLimit, v);
    std::vector<std::string> got;
    size_t fed = 0;
    while (got.size() < expected.size()) {
      auto p = reader.Next();
      if (!p.ok()) {
        EXPECT_TRUE(p.status().IsCorruption()) << p.status().ToString();
        got.push_back("Corruption");
        break;
      }
      if (*p != nullptr) {
        got.push_back(Describe(**p));
        if (rng() % 4 == 0) held.push_back({reader.buffer(), **p, got.back()});
        continue;
      }
      if (fed == stream.size()) break;
      const size_t min_room = 1 + rng() % 500;
      const std::span<char> room = reader.Space(min_room);
      ASSERT_GE(room.size(), min_room);
      const size_t n = std::min({stream.size() - fed, size_t{1} + rng() % 300, room.size()});
      std::memcpy(room.data(), stream.data() + fed, n);
      reader.Commit(n);
      fed += n;
    }
    ASSERT_EQ(got, expected) << "run " << run;
    packets += got.size();
    malformed += got.back() == "Corruption";
  }
  for (const Held& h : held) EXPECT_EQ(Describe(h.packet), h.expected) << "the bytes under a held packet changed";
  // The generator must give both kinds in earnest, or this compares little.
  EXPECT_GT(packets, runs * 8);
  EXPECT_GT(malformed, runs / 4);
  EXPECT_LT(malformed, runs);
}

// Random bytes, and random mutations of valid streams, must never crash the decoders (a cheap
// stand-in for a libFuzzer run over DecodePacket; ASan/UBSan builds check the memory side).
TEST(MqttCodec, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  const std::string valid = Bytes({0x20, 0x02, 0x01, 0x00}) + PublishPacket("a/b", "payload", 1, 3) +
                            Bytes({0x90, 0x03, 0x00, 0x01, 0x01, 0xd0, 0x00});
  // An MQTT 5 stream whose properties cover every value type, so mutations land in them.
  PropertyWriter cw, pw, dw;
  cw.FourByte(PropertyId::kSessionExpiryInterval, 60);
  cw.String(PropertyId::kAssignedClientIdentifier, "auto-1");
  cw.TwoByte(PropertyId::kServerKeepAlive, 5);
  cw.Byte(PropertyId::kMaximumQos, 1);
  pw.Byte(PropertyId::kPayloadFormatIndicator, 1);
  pw.Varint(PropertyId::kSubscriptionIdentifier, 300);
  pw.Binary(PropertyId::kCorrelationData, "cd");
  pw.StringPair(PropertyId::kUserProperty, "k", "v");
  dw.String(PropertyId::kReasonString, "bye");
  const std::string valid5 = Packet5(0x20, Bytes({0x00, 0x00}) + Block(cw)) + Publish5("a/b", pw.bytes(), "p") +
                             Bytes({0x90, 0x04, 0x00, 0x01, 0x00, 0x01, 0xd0, 0x00}) +
                             Packet5(0xe0, Bytes({0x8e}) + Block(dw));
  for (int i = 0; i < 30000; ++i) {
    std::string bytes;
    if (i % 3 == 0) {
      bytes.resize(rng() % 48);
      for (auto& c : bytes) c = static_cast<char>(rng());
    } else {
      bytes = i % 3 == 1 ? valid : valid5;
      for (int m = 0; m < 3; ++m) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    // The properties parser alone, on the same bytes, for every packet type.
    (void)ParseProperties(static_cast<PacketType>(1 + rng() % 15), bytes);
    for (Version v : {Version::kV311, Version::kV5}) {
      (void)DecodePacket(bytes, v);
      PacketReader reader(8, v, 64);
      reader.Append(bytes);
      for (int n = 0; n < 20; ++n) {
        auto p = reader.Next();
        if (!p.ok() || *p == nullptr) break;
        EXPECT_LE((*p)->publish.payload.size(), 8u);
      }
    }
  }
}

}  // namespace
}  // namespace sp::mqtt
