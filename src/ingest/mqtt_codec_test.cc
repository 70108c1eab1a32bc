// The MQTT codec: encoders byte for byte against the spec, the decoders on every packet a
// server sends, and malformed input (varints too long, lengths past the end, reserved flags),
// plus the streaming reader's bounded handling of oversize PUBLISH packets.
#include "ingest/mqtt_codec.h"

#include <gtest/gtest.h>

#include <random>

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
      ASSERT_OK_AND_ASSIGN(std::optional<Packet> p, reader.Next());
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
    ASSERT_OK_AND_ASSIGN(std::optional<Packet> p, reader.Next());
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
      ASSERT_OK_AND_ASSIGN(std::optional<Packet> p, reader.Next());
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
  ASSERT_OK_AND_ASSIGN(std::optional<Packet> first, at_once.Next());
  ASSERT_TRUE(first && first->publish.truncated);
  EXPECT_EQ(first->publish.payload.size(), limit);
  ASSERT_OK_AND_ASSIGN(std::optional<Packet> second, at_once.Next());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->publish.payload, "small");

  // Exactly the limit is not truncated.
  PacketReader exact(5);
  exact.Append(PublishPacket("t", "12345", 0));
  ASSERT_OK_AND_ASSIGN(std::optional<Packet> e, exact.Next());
  ASSERT_TRUE(e.has_value());
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

// Random bytes, and random mutations of valid streams, must never crash the decoders (a cheap
// stand-in for a libFuzzer run over DecodePacket; ASan/UBSan builds check the memory side).
TEST(MqttCodec, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  const std::string valid = Bytes({0x20, 0x02, 0x01, 0x00}) + PublishPacket("a/b", "payload", 1, 3) +
                            Bytes({0x90, 0x03, 0x00, 0x01, 0x01, 0xd0, 0x00});
  for (int i = 0; i < 30000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 48);
      for (auto& c : bytes) c = static_cast<char>(rng());
    } else {
      bytes = valid;
      for (int m = 0; m < 3; ++m) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    for (Version v : {Version::kV311, Version::kV5}) {
      (void)DecodePacket(bytes, v);
      PacketReader reader(8, v, 64);
      reader.Append(bytes);
      for (int n = 0; n < 20; ++n) {
        auto p = reader.Next();
        if (!p.ok() || !p->has_value()) break;
        EXPECT_LE((*p)->publish.payload.size(), 8u);
      }
    }
  }
}

}  // namespace
}  // namespace sp::mqtt
