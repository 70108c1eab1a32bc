// The subscriber against a real mosquitto: QoS 0 and 1, acknowledgement withheld until Ack,
// persistent sessions across disconnects and broker restarts, oversize payloads, batching, Wakeup.
// A scripted fake broker covers what a real one never does: malformed packets, QoS 2, stray
// acknowledgements, refused subscriptions and connections, a slow CONNACK, a silent broker.
#include "mqtt/client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "common/testing.h"
#include "mqtt/codec.h"
#include "support/mosquitto.h"
#include "support/process.h"

namespace sp {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr auto kDeadline = seconds(60);

class MqttClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(broker_, testing::Mosquitto::Start(dir_.Sub("broker"))); }

  MqttClientOptions Options(const std::string& client_id) {
    MqttClientOptions o;
    o.port = broker_->port();
    o.client_id = client_id;
    o.topics = {"sensor/#"};
    o.reconnect_max = milliseconds(500);
    return o;
  }
  std::unique_ptr<MqttSubscriber> Subscriber(const std::string& client_id, size_t max_payload = 131072) {
    MqttClientOptions o = Options(client_id);
    o.max_payload_bytes = max_payload;
    return std::make_unique<MqttSubscriber>(o, Clock::Default(), &metrics_);
  }
  // Polls until subscribed, collecting anything that arrives meanwhile.
  std::vector<MqttMessage> Connect(MqttSubscriber& s) {
    std::vector<MqttMessage> got;
    EXPECT_TRUE(testing::WaitUntil(
        [&] {
          auto r = s.Poll(milliseconds(50), 100);
          if (r.ok()) got.insert(got.end(), r->begin(), r->end());
          return s.connected();
        },
        kDeadline));
    return got;
  }
  // Polls until n messages arrived (or the deadline).
  std::vector<MqttMessage> Receive(MqttSubscriber& s, size_t n, std::vector<MqttMessage> got = {}) {
    testing::WaitUntil(
        [&] {
          auto r = s.Poll(milliseconds(100), 1000);
          if (r.ok()) got.insert(got.end(), r->begin(), r->end());
          return got.size() >= n;
        },
        kDeadline);
    return got;
  }
  void Publish(const std::string& topic, const std::string& payload, int qos) {
    ASSERT_OK(broker_->Publish({"-s"}, payload, topic, qos));
  }
  // One message per line, one publisher connection.
  void PublishLines(const std::string& topic, const std::vector<std::string>& lines, int qos) {
    std::string in;
    for (const auto& l : lines) in += l + "\n";
    ASSERT_OK(broker_->Publish({"-l"}, in, topic, qos));
  }
  // Receives until a message with payload `marker` arrives; returns all before and including it.
  std::vector<MqttMessage> ReceiveUntil(MqttSubscriber& s, const std::string& marker, std::vector<MqttMessage> got) {
    auto has = [&] {
      for (const auto& m : got) {
        if (m.payload == marker) return true;
      }
      return false;
    };
    testing::WaitUntil(
        [&] {
          if (has()) return true;
          auto r = s.Poll(milliseconds(100), 1000);
          if (r.ok()) got.insert(got.end(), r->begin(), r->end());
          return has();
        },
        kDeadline);
    return got;
  }

  testing::TempDir dir_;
  Metrics metrics_;
  std::unique_ptr<testing::Mosquitto> broker_;
};

TEST_F(MqttClientTest, ReceivesQos0AndQos1) {
  auto sub = Subscriber("sp-a");
  auto got = Connect(*sub);
  Publish("sensor/data", "zero", 0);
  Publish("sensor/x/data", "one", 1);
  Publish("other/topic", "ignored", 1);
  got = Receive(*sub, 2, got);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].topic, "sensor/data");
  EXPECT_EQ(got[0].payload, "zero");
  EXPECT_EQ(got[0].qos, 0);
  EXPECT_EQ(got[0].payload_size, 4u);
  EXPECT_FALSE(got[0].truncated);
  EXPECT_EQ(got[1].topic, "sensor/x/data");
  EXPECT_EQ(got[1].payload, "one");
  EXPECT_EQ(got[1].qos, 1);
  EXPECT_NE(got[1].packet_id, 0);
  EXPECT_FALSE(got[1].dup);
  EXPECT_NE(metrics_.RenderPrometheus().find("sensorpipe_mqtt_connected 1"), std::string::npos);
  EXPECT_GT(metrics_.CounterValue("sensorpipe_mqtt_bytes_received_total"), 0u);
  ASSERT_OK(sub->Ack(got));
  ASSERT_OK(sub->Disconnect());
  EXPECT_FALSE(sub->connected());
  EXPECT_NE(metrics_.RenderPrometheus().find("sensorpipe_mqtt_connected 0"), std::string::npos);
}

// A broker that wants a user name and password: the right ones get in over both versions, a wrong
// password never does.
TEST(MqttClientAuth, UserNameAndPassword) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(
      testing::CommandOutput passwd,
      testing::RunCommand({"mosquitto_passwd", "-b", "-c", dir.Sub("passwd"), "sp", "s3cret"}, kDeadline));
  ASSERT_EQ(passwd.exit_code, 0) << passwd.err;
  ASSERT_OK_AND_ASSIGN(
      auto broker,
      testing::Mosquitto::Start(dir.Sub("broker"), "allow_anonymous false\npassword_file " + dir.Sub("passwd")));
  Metrics metrics;
  auto connects = [&](MqttProtocol protocol, const std::string& password, milliseconds within) {
    MqttClientOptions o;
    o.port = broker->port();
    o.client_id = "sp-auth";
    o.topics = {"sensor/#"};
    o.username = "sp";
    o.password = password;
    o.protocol = protocol;
    o.reconnect_max = milliseconds(300);
    MqttSubscriber s(o, Clock::Default(), &metrics);
    return testing::WaitUntil([&] { return s.Poll(milliseconds(50), 100).ok() && s.connected(); }, within);
  };
  EXPECT_TRUE(connects(MqttProtocol::kV5, "s3cret", kDeadline));
  EXPECT_TRUE(connects(MqttProtocol::kV311, "s3cret", kDeadline));
  EXPECT_FALSE(connects(MqttProtocol::kV5, "wrong", seconds(2)));
  EXPECT_FALSE(connects(MqttProtocol::kV311, "wrong", seconds(2)));
  EXPECT_FALSE(connects(MqttProtocol::kAuto, "", seconds(2)));
}

TEST_F(MqttClientTest, UnacknowledgedMessagesComeBackAndAcknowledgedOnesDoNot) {
  auto sub = Subscriber("sp-b");
  Connect(*sub);
  Publish("sensor/data", "first", 1);
  auto got = Receive(*sub, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].dup);
  ASSERT_OK(sub->Disconnect());  // no PUBACK sent: as if the log append had not finished
  sub.reset();

  sub = Subscriber("sp-b");
  got = Receive(*sub, 1, Connect(*sub));
  ASSERT_GE(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "first");
  EXPECT_TRUE(got[0].dup) << "a redelivery carries DUP";
  ASSERT_OK(sub->Ack(got));      // durable now
  ASSERT_OK(sub->Disconnect());  // the PUBACK precedes the DISCONNECT on the same stream
  sub.reset();

  // Published while nobody is connected: queued in the persistent session. "first" must not
  // come back before it, and nothing after it either (checked with a marker).
  Publish("sensor/data", "while-away", 1);
  sub = Subscriber("sp-b");
  got = Receive(*sub, 1, Connect(*sub));
  Publish("sensor/data", "marker", 1);
  got = ReceiveUntil(*sub, "marker", got);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "while-away") << "an acknowledged message was delivered again";
  EXPECT_EQ(got[1].payload, "marker");
}

TEST_F(MqttClientTest, AnAckForAnOlderConnectionIsDroppedAndTheMessageRedelivered) {
  auto sub = Subscriber("sp-g");
  Connect(*sub);
  Publish("sensor/data", "in-flight", 1);
  auto old = Receive(*sub, 1);
  ASSERT_EQ(old.size(), 1u);
  const uint64_t first_session = old[0].session;
  // The connection drops before the append finished; the client reconnects by itself.
  ASSERT_OK(sub->Disconnect());
  auto got = Receive(*sub, 1, Connect(*sub));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "in-flight");
  EXPECT_GT(got[0].session, first_session);
  // The late Ack of the old delivery sends nothing (its packet id may be reused by now).
  ASSERT_OK(sub->Ack(old));
  ASSERT_OK(sub->Disconnect());
  got = Receive(*sub, 1, Connect(*sub));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "in-flight") << "still unacknowledged, so still redelivered";
  ASSERT_OK(sub->Ack(got));
}

TEST_F(MqttClientTest, ReconnectsAfterABrokerRestartAndKeepsTheSession) {
  auto sub = Subscriber("sp-c");
  Connect(*sub);
  Publish("sensor/data", "before-restart", 1);
  auto got = Receive(*sub, 1);
  ASSERT_EQ(got.size(), 1u);  // not acknowledged
  ASSERT_OK(broker_->Restart());
  // The client notices, reconnects with backoff, resubscribes; the broker kept the session on
  // disk, so the unacknowledged message comes again.
  got = Receive(*sub, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "before-restart");
  EXPECT_TRUE(got[0].dup);
  ASSERT_OK(sub->Ack(got));
  Publish("sensor/data", "after-restart", 1);
  got = ReceiveUntil(*sub, "after-restart", {});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_GE(metrics_.CounterValue("sensorpipe_mqtt_reconnects_total"), 1u);
  EXPECT_TRUE(sub->connected());
}

TEST_F(MqttClientTest, ManyQos1MessagesInOrderInBoundedBatches) {
  auto sub = Subscriber("sp-h");
  Connect(*sub);
  ASSERT_OK(sub->Disconnect());
  // Queued while away, so they arrive in one burst on the next connection.
  std::vector<std::string> lines;
  for (int i = 0; i < 500; ++i) lines.push_back("m" + std::to_string(i));
  PublishLines("sensor/data", lines, 1);
  std::vector<MqttMessage> got;
  size_t largest_batch = 0;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        auto r = sub->Poll(milliseconds(100), 7);
        if (!r.ok()) return false;
        largest_batch = std::max(largest_batch, r->size());
        EXPECT_OK(sub->Ack(*r));
        got.insert(got.end(), r->begin(), r->end());
        return got.size() >= lines.size();
      },
      kDeadline));
  EXPECT_LE(largest_batch, 7u);
  ASSERT_EQ(got.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(got[i].payload, lines[i]);
}

// Messages point into the buffers the connection was read into. As ingest does, the test holds
// the messages of some Polls while it Polls again, and drops others, so that the reader both
// reuses its buffer and moves to new ones (large lines split many packets at a buffer's end):
// every message held must still read as sent after all later Polls, and after the subscriber is
// gone.
TEST_F(MqttClientTest, MessagesStayValidAcrossLaterPollsAndTheSubscriber) {
  auto sub = Subscriber("sp-v");
  Connect(*sub);
  ASSERT_OK(sub->Disconnect());
  std::vector<std::string> lines;
  const size_t count = std::getenv("SOAK") != nullptr ? 20000 : 3000;
  for (size_t i = 0; i < count; ++i) {
    lines.push_back(std::to_string(i) + ":" +
                    std::string(i % 7 == 0 ? 40000 + i : i % 900, static_cast<char>('a' + i % 26)));
  }
  PublishLines("sensor/valid", lines, 1);  // queued, so that they arrive in one burst
  std::vector<MqttMessage> held;
  size_t received = 0, polls = 0;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        auto r = sub->Poll(milliseconds(100), 1 + polls % 50);
        if (!r.ok()) return false;
        for (const MqttMessage& m : *r) {
          EXPECT_EQ(m.payload, lines[received]);
          ++received;
        }
        EXPECT_OK(sub->Ack(*r));
        if (polls++ % 3 != 0) std::move(r->begin(), r->end(), std::back_inserter(held));
        return received >= lines.size();
      },
      kDeadline));
  ASSERT_EQ(received, lines.size());
  sub.reset();
  ASSERT_GT(held.size(), lines.size() / 2);
  for (const MqttMessage& m : held) {
    EXPECT_EQ(m.topic, "sensor/valid");
    const size_t i = std::stoul(std::string(m.payload.substr(0, m.payload.find(':'))));
    ASSERT_LT(i, lines.size());
    EXPECT_EQ(m.payload, lines[i]) << "a held message changed";
  }
}

TEST_F(MqttClientTest, OversizePayloadsAreTruncatedNotBuffered) {
  auto sub = Subscriber("sp-d", 1024);
  Connect(*sub);
  const std::string big(300000, 'x');
  Publish("sensor/data", big, 1);
  Publish("sensor/data", "small", 1);
  auto got = Receive(*sub, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].truncated);
  EXPECT_EQ(got[0].payload, std::string(1024, 'x'));
  EXPECT_EQ(got[0].payload_size, big.size());
  EXPECT_EQ(got[0].qos, 1);
  EXPECT_FALSE(got[1].truncated);
  EXPECT_EQ(got[1].payload, "small");
  // Acknowledged like any other (ingest rejects it as oversize): the broker does not resend it.
  ASSERT_OK(sub->Ack(got));
  ASSERT_OK(sub->Disconnect());
  Publish("sensor/data", "marker", 1);
  got = ReceiveUntil(*sub, "marker", Connect(*sub));
  ASSERT_EQ(got.size(), 1u);
}

TEST_F(MqttClientTest, WakeupEndsAWaitingPoll) {
  auto sub = Subscriber("sp-e");
  Connect(*sub);
  auto start = std::chrono::steady_clock::now();
  std::thread waker([&] {
    std::this_thread::sleep_for(milliseconds(100));
    sub->Wakeup();
  });
  ASSERT_OK_AND_ASSIGN(auto got, sub->Poll(seconds(60), 10));
  waker.join();
  EXPECT_TRUE(got.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(30));
  EXPECT_TRUE(sub->connected());

  // Also while the broker is away and the client is between reconnect attempts.
  ASSERT_OK(broker_->Stop());
  start = std::chrono::steady_clock::now();
  sub->Wakeup();  // before the Poll: it returns at once
  ASSERT_OK_AND_ASSIGN(got, sub->Poll(seconds(60), 10));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(30));
}

TEST_F(MqttClientTest, RetriesWhileTheBrokerIsAwayAndLogsOnce) {
  ASSERT_OK(broker_->Stop());
  auto sub = Subscriber("sp-f");
  ASSERT_OK_AND_ASSIGN(auto got, sub->Poll(milliseconds(1000), 10));  // several failed attempts
  EXPECT_TRUE(got.empty());
  EXPECT_FALSE(sub->connected());
  ASSERT_OK(broker_->Restart());
  Connect(*sub);
  EXPECT_TRUE(sub->connected());
  EXPECT_EQ(metrics_.CounterValue("sensorpipe_mqtt_reconnects_total"), 0u) << "the first connection";
}

TEST_F(MqttClientTest, KeepaliveHoldsAnIdleConnection) {
  MqttClientOptions o = Options("sp-k");
  o.keepalive_s = 1;
  MqttSubscriber sub(o, Clock::Default(), &metrics_);
  Connect(sub);
  // 3 keepalive periods idle: PINGREQ/PINGRESP keep both sides content.
  const auto until = std::chrono::steady_clock::now() + seconds(3);
  while (std::chrono::steady_clock::now() < until) ASSERT_TRUE(sub.Poll(milliseconds(200), 10).ok());
  EXPECT_TRUE(sub.connected());
  EXPECT_EQ(metrics_.CounterValue("sensorpipe_mqtt_reconnects_total"), 0u);
  Publish("sensor/data", "still-here", 1);
  EXPECT_EQ(Receive(sub, 1).size(), 1u);
}

// ---- A scripted broker, for faults mosquitto does not produce ----

class FakeBroker {
 public:
  FakeBroker() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~FakeBroker() {
    if (fd_ >= 0) ::close(fd_);
    ::close(listen_fd_);
  }
  int port() const { return port_; }

  //! Accepts the next connection (closing the previous one) and reads its CONNECT.
  bool Accept() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd_ < 0) return false;
    timeval tv{60, 0};  // a stuck test fails instead of hanging
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    auto p = Read(&connect_);
    return p && p->type == mqtt::PacketType::kConnect;
  }
  //! The protocol level of the last CONNECT (4: MQTT 3.1.1, 5: MQTT 5): after the 2-byte name
  //! length and "MQTT".
  int ConnectLevel() const { return connect_.size() > 6 ? static_cast<uint8_t>(connect_[6]) : -1; }
  //! The next whole packet from the client, or nullopt at EOF (or on the 60 s timeout).
  std::optional<mqtt::FixedHeader> Read(std::string* body = nullptr) {
    while (true) {
      auto h = mqtt::DecodeFixedHeader(in_);
      if (h.ok() && in_.size() >= h->header_size + h->remaining_length) {
        if (body) *body = in_.substr(h->header_size, h->remaining_length);
        in_.erase(0, h->header_size + h->remaining_length);
        return *h;
      }
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      in_.append(buf, static_cast<size_t>(n));
    }
  }
  //! Reads the SUBSCRIBE and answers with SUBACK carrying codes.
  bool Subscribe(std::string codes = "\x01") {
    std::string body;
    auto h = Read(&body);
    if (!h || h->type != mqtt::PacketType::kSubscribe) return false;
    std::string ack = "\x90";
    mqtt::PutVarint(&ack, 2 + codes.size());
    Send(ack + body.substr(0, 2) + codes);
    return true;
  }
  void Send(std::string_view bytes) { (void)!::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  void SendConnack(uint8_t code = 0) { Send(std::string("\x20\x02\x00", 3) + static_cast<char>(code)); }

 private:
  int listen_fd_ = -1, fd_ = -1, port_ = 0;
  std::string in_, connect_;
};

class MqttClientFaultTest : public ::testing::Test {
 protected:
  MqttClientOptions Options() {
    MqttClientOptions o;
    o.port = broker_.port();
    o.client_id = "sp-fault";
    o.topics = {"sensor/#"};
    o.protocol = MqttProtocol::kV311;  // the scripts speak 3.1.1 unless a test says otherwise
    o.reconnect_min = milliseconds(10);
    o.reconnect_max = milliseconds(100);
    return o;
  }
  // Polls sub until the broker script finishes, collecting messages.
  std::vector<MqttMessage> RunWith(MqttSubscriber& sub, const std::function<void()>& script) {
    std::atomic<bool> done{false};
    std::thread t([&] {
      script();
      done = true;
      sub.Wakeup();
    });
    std::vector<MqttMessage> got;
    const auto until = std::chrono::steady_clock::now() + kDeadline;
    while (!done && std::chrono::steady_clock::now() < until) {
      auto r = sub.Poll(milliseconds(100), 100);
      if (r.ok()) got.insert(got.end(), r->begin(), r->end());
    }
    t.join();
    EXPECT_TRUE(done.load()) << "the broker script did not finish";
    return got;
  }

  FakeBroker broker_;
  Metrics metrics_;
};

TEST_F(MqttClientFaultTest, MalformedAndUnexpectedPacketsCloseOrAreIgnoredNeverCrash) {
  MqttSubscriber sub(Options(), Clock::Default(), &metrics_);
  bool got_pubcomp = false, first_closed = false, second_closed = false, third_closed = false;
  auto got = RunWith(sub, [&] {
    ASSERT_TRUE(broker_.Accept());
    broker_.SendConnack();
    ASSERT_TRUE(broker_.Subscribe());
    // A good message, then acknowledgements for ids the client never used (ignored, counted),
    // a PUBREL (answered with PUBCOMP), then a remaining length of 5 bytes (fatal).
    broker_.Send(std::string("\x32\x08\x00\x02s/\x00\x05ok", 10));
    broker_.Send(std::string("\x40\x02\x12\x34\x50\x02\x00\x07\xb0\x02\x00\x08\x90\x03\x00\x63\x01", 17));
    broker_.Send(std::string("\x62\x02\x00\x09", 4));
    std::string body;
    auto comp = broker_.Read(&body);
    got_pubcomp = comp && comp->type == mqtt::PacketType::kPubcomp && body == std::string("\x00\x09", 2);
    broker_.Send(std::string("\x30\xff\xff\xff\xff\x01", 6));
    first_closed = !broker_.Read().has_value();

    // The client reconnects. This time: a PUBLISH whose topic runs past the packet.
    ASSERT_TRUE(broker_.Accept());
    broker_.SendConnack();
    ASSERT_TRUE(broker_.Subscribe());
    broker_.Send(std::string("\x30\x05\x00\x10sho", 7));
    second_closed = !broker_.Read().has_value();

    // Again: a QoS 2 PUBLISH, which a QoS 1 subscription must never see.
    ASSERT_TRUE(broker_.Accept());
    broker_.SendConnack();
    ASSERT_TRUE(broker_.Subscribe());
    broker_.Send(std::string("\x34\x08\x00\x02s/\x00\x05no", 10));
    third_closed = !broker_.Read().has_value();
  });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "ok");
  EXPECT_EQ(got[0].topic, "s/");
  EXPECT_TRUE(got_pubcomp);
  EXPECT_TRUE(first_closed);
  EXPECT_TRUE(second_closed);
  EXPECT_TRUE(third_closed);
  // 4 stray acknowledgements + PUBREL + 3 fatal packets.
  EXPECT_EQ(metrics_.CounterValue("sensorpipe_mqtt_protocol_errors_total"), 8u);
  EXPECT_EQ(metrics_.CounterValue("sensorpipe_mqtt_reconnects_total"), 2u);
}

// protocol = "auto" against a broker that does not speak MQTT 5: refused with a 3.1.1 CONNACK
// (unacceptable protocol version), or the connection closed on the MQTT 5 CONNECT. The client
// speaks 3.1.1 at once, and keeps to it on later reconnects.
TEST_F(MqttClientFaultTest, AutoFallsBackToMqtt311WhenMqtt5IsRefused) {
  MqttClientOptions o = Options();
  o.protocol = MqttProtocol::kAuto;
  {
    MqttSubscriber sub(o, Clock::Default(), &metrics_);
    std::vector<int> levels;
    RunWith(sub, [&] {
      ASSERT_TRUE(broker_.Accept());
      levels.push_back(broker_.ConnectLevel());
      broker_.SendConnack(1);  // 3.1.1: unacceptable protocol version
      ASSERT_TRUE(broker_.Accept());
      levels.push_back(broker_.ConnectLevel());
      broker_.SendConnack();
      ASSERT_TRUE(broker_.Subscribe());
      ASSERT_TRUE(testing::WaitUntil([&] { return sub.connected(); }, kDeadline));
      ASSERT_TRUE(broker_.Accept());  // drops the connection; the reconnect stays on 3.1.1
      levels.push_back(broker_.ConnectLevel());
      broker_.SendConnack();
      ASSERT_TRUE(broker_.Subscribe());
      ASSERT_TRUE(testing::WaitUntil([&] { return sub.connected(); }, kDeadline));
    });
    EXPECT_EQ(levels, (std::vector<int>{5, 4, 4}));
    EXPECT_EQ(sub.version(), mqtt::Version::kV311);
    EXPECT_NE(metrics_.RenderPrometheus().find("sensorpipe_mqtt_protocol_level 4"), std::string::npos);
  }
  MqttSubscriber sub(o, Clock::Default(), &metrics_);
  std::vector<int> levels;
  RunWith(sub, [&] {
    ASSERT_TRUE(broker_.Accept());
    levels.push_back(broker_.ConnectLevel());
    ASSERT_TRUE(broker_.Accept());  // closed without a CONNACK
    levels.push_back(broker_.ConnectLevel());
    broker_.SendConnack();
    ASSERT_TRUE(broker_.Subscribe());
    ASSERT_TRUE(testing::WaitUntil([&] { return sub.connected(); }, kDeadline));
  });
  EXPECT_EQ(levels, (std::vector<int>{5, 4}));
  EXPECT_TRUE(sub.connected());
}

TEST_F(MqttClientFaultTest, RefusedConnectionsAndSubscriptions) {
  MqttClientOptions o = Options();
  o.topics = {"a/#", "b/#"};
  MqttSubscriber sub(o, Clock::Default(), &metrics_);
  bool not_connected_while_refused = false;
  RunWith(sub, [&] {
    ASSERT_TRUE(broker_.Accept());
    broker_.SendConnack(5);  // not authorized: the client closes and retries
    ASSERT_FALSE(broker_.Read().has_value());
    ASSERT_TRUE(broker_.Accept());
    broker_.SendConnack();
    ASSERT_TRUE(broker_.Subscribe(std::string("\x80\x80", 2)));  // both filters refused
    not_connected_while_refused =
        testing::WaitUntil([&] { return metrics_.CounterValue("sensorpipe_mqtt_subscribe_failures_total") == 2; },
                           kDeadline) &&
        !sub.connected();
    ASSERT_TRUE(broker_.Accept());  // closes this connection; on the next, one filter is granted
    broker_.SendConnack();
    ASSERT_TRUE(broker_.Subscribe(std::string("\x01\x80", 2)));
    testing::WaitUntil([&] { return sub.connected(); }, kDeadline);
  });
  EXPECT_TRUE(not_connected_while_refused);
  EXPECT_TRUE(sub.connected());
  EXPECT_EQ(metrics_.CounterValue("sensorpipe_mqtt_subscribe_failures_total"), 3u);
}

TEST_F(MqttClientFaultTest, ASlowConnackIsWaitedFor) {
  MqttSubscriber sub(Options(), Clock::Default(), &metrics_);
  RunWith(sub, [&] {
    ASSERT_TRUE(broker_.Accept());
    std::this_thread::sleep_for(milliseconds(1500));  // longer than one poll slice, within the timeout
    broker_.SendConnack();
    ASSERT_TRUE(broker_.Subscribe());
    testing::WaitUntil([&] { return sub.connected(); }, kDeadline);
  });
  EXPECT_TRUE(sub.connected());
  EXPECT_EQ(metrics_.CounterValue("sensorpipe_mqtt_reconnects_total"), 0u);
}

// A broker resuming a session sends its queued messages before it answers the SUBSCRIBE. While
// they keep coming, the SUBACK is waited for past the timeout (no reconnect, so nothing is sent
// twice); once the broker falls silent the timeout applies again.
TEST_F(MqttClientFaultTest, TheSubackIsWaitedForWhileTheBacklogArrives) {
  MqttClientOptions o = Options();
  o.connect_timeout = milliseconds(400);
  MqttSubscriber sub(o, Clock::Default(), &metrics_);
  std::chrono::steady_clock::duration silent_for{};
  std::vector<MqttMessage> got = RunWith(sub, [&] {
    ASSERT_TRUE(broker_.Accept());
    broker_.SendConnack();
    ASSERT_TRUE(broker_.Read());  // the SUBSCRIBE, not answered while the backlog goes out
    for (int i = 1; i <= 12; ++i) {  // 1.2 s: three timeouts
      const std::string payload = std::to_string(i);
      std::string publish = "\x32";
      mqtt::PutVarint(&publish, 2 + 8 + 2 + payload.size());
      publish += std::string("\x00\x08sensor/a\x00", 11) + static_cast<char>(i) + payload;
      broker_.Send(publish);
      std::this_thread::sleep_for(milliseconds(100));
    }
    const auto start = std::chrono::steady_clock::now();
    while (broker_.Read()) {}  // PUBACKs, then the close once the broker has been silent too long
    silent_for = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(broker_.Accept());
    broker_.SendConnack();
    ASSERT_TRUE(broker_.Subscribe());
    testing::WaitUntil([&] { return sub.connected(); }, kDeadline);
  });
  ASSERT_EQ(got.size(), 12u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].payload, std::to_string(i + 1));
  EXPECT_EQ(metrics_.CounterValue("sensorpipe_mqtt_reconnects_total"), 1u);
  EXPECT_GE(silent_for, milliseconds(200));  // 400 after the last PUBLISH, which was 100 before
  EXPECT_LT(silent_for, milliseconds(400 * 5));
}

TEST_F(MqttClientFaultTest, ASilentBrokerIsDroppedAfterOneAndAHalfKeepalives) {
  MqttClientOptions o = Options();
  o.keepalive_s = 1;
  MqttSubscriber sub(o, Clock::Default(), &metrics_);
  std::chrono::steady_clock::duration silent_for{};
  bool pinged = false;
  RunWith(sub, [&] {
    ASSERT_TRUE(broker_.Accept());
    broker_.SendConnack();
    ASSERT_TRUE(broker_.Subscribe());
    const auto start = std::chrono::steady_clock::now();
    while (auto h = broker_.Read()) pinged |= h->type == mqtt::PacketType::kPingreq;  // never answered
    silent_for = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(broker_.Accept());  // and it comes back
    broker_.SendConnack();
    ASSERT_TRUE(broker_.Subscribe());
  });
  EXPECT_TRUE(pinged);
  EXPECT_GE(silent_for, milliseconds(1000));
  EXPECT_LT(silent_for, milliseconds(1500 * 5));
}

}  // namespace
}  // namespace sp
