#include "ingest/mqtt_codec.h"

#include <gtest/gtest.h>

#include <random>

#include "common/testing.h"

namespace sp::mqtt {
namespace {

TEST(MqttCodec, EncodesConnectPerTheSpec) {
  std::string out;
  EncodeConnect({"dev", "u", "p", 30, false}, &out);
  // MQTT 3.1.1 section 3.1: "MQTT", level 4, flags user+password (0xC0), keepalive 30.
  EXPECT_EQ(out, std::string("\x10\x15\x00\x04MQTT\x04\xc0\x00\x1e\x00\x03" "dev\x00\x01u\x00\x01p", 23));
  out.clear();
  EncodeSubscribe(7, {"sensor/#"}, 1, &out);
  EXPECT_EQ(out, std::string("\x82\x0d\x00\x07\x00\x08sensor/#\x01", 15));
  out.clear();
  EncodePuback(0x1234, &out);
  EXPECT_EQ(out, std::string("\x40\x02\x12\x34", 4));
}

TEST(MqttCodec, FixedHeaderLengths) {
  std::string out;
  EncodeSubscribe(1, {std::string(200, 't')}, 1, &out);  // remaining length 205: two bytes
  ASSERT_OK_AND_ASSIGN(FixedHeader h, DecodeFixedHeader(out));
  EXPECT_EQ(h.type, PacketType::kSubscribe);
  EXPECT_EQ(h.header_size, 3u);
  EXPECT_EQ(h.remaining_length, 205u);
  EXPECT_TRUE(DecodeFixedHeader(std::string("\x30", 1)).status().IsNotFound());
  EXPECT_TRUE(DecodeFixedHeader(std::string("\x30\x80", 2)).status().IsNotFound());
  EXPECT_TRUE(DecodeFixedHeader(std::string("\x30\xff\xff\xff\xff\x01", 6)).status().IsCorruption());
  EXPECT_TRUE(DecodeFixedHeader(std::string("\x00\x00", 2)).status().IsCorruption());
  EXPECT_TRUE(DecodeFixedHeader(std::string("\xf0\x00", 2)).status().IsCorruption());
}

TEST(MqttCodec, DecodesPublish) {
  std::string body = std::string("\x00\x0bsensor/data\x00\x2a", 15) + "{\"a\":1}";
  ASSERT_OK_AND_ASSIGN(Publish p, DecodePublish(0x0b, body));  // dup, QoS 1, retain
  EXPECT_EQ(p.topic, "sensor/data");
  EXPECT_EQ(p.packet_id, 42);
  EXPECT_EQ(p.payload, "{\"a\":1}");
  EXPECT_TRUE(p.dup);
  EXPECT_TRUE(p.retain);
  EXPECT_EQ(p.qos, 1);
  ASSERT_OK_AND_ASSIGN(Publish q0, DecodePublish(0x00, std::string("\x00\x01t", 3)));
  EXPECT_EQ(q0.payload, "");
}

TEST(MqttCodec, RejectsMalformedPublish) {
  EXPECT_FALSE(DecodePublish(0x02, "").ok());
  EXPECT_FALSE(DecodePublish(0x02, std::string("\x00\x10short", 7)).ok());     // topic past the end
  EXPECT_FALSE(DecodePublish(0x02, std::string("\x00\x01t\x00", 4)).ok());     // packet id cut
  EXPECT_FALSE(DecodePublish(0x02, std::string("\x00\x01t\x00\x00", 5)).ok()); // packet id 0
  EXPECT_FALSE(DecodePublish(0x06, std::string("\x00\x01t\x00\x01", 5)).ok()); // QoS 3
  EXPECT_FALSE(DecodePublish(0x00, std::string("\x00\x00", 2)).ok());          // empty topic
  EXPECT_FALSE(DecodeConnack("\x00").ok());
  EXPECT_FALSE(DecodeSuback("\x00\x01").ok());
}

// Random bytes must never crash the decoders (a cheap stand-in for the fuzz target).
TEST(MqttCodec, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(rng() % 40, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    auto h = DecodeFixedHeader(bytes);
    if (h.ok() && bytes.size() >= h->header_size) {
      (void)DecodePublish(h->flags, std::string_view(bytes).substr(h->header_size));
      (void)DecodeSuback(std::string_view(bytes).substr(h->header_size));
      (void)DecodeConnack(std::string_view(bytes).substr(h->header_size));
    }
  }
}

}  // namespace
}  // namespace sp::mqtt
