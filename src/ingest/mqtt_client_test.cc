// The subscriber against a real mosquitto: QoS 0 and 1, acknowledgement withheld until Ack,
// persistent sessions across disconnects and broker restarts, oversize payloads, Wakeup.
#include "ingest/mqtt_client.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/testing.h"
#include "support/mosquitto.h"
#include "support/process.h"

namespace sp {
namespace {

using std::chrono::milliseconds;
constexpr auto kDeadline = std::chrono::seconds(60);

class MqttClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(broker_, testing::Mosquitto::Start(dir_.Sub("broker"))); }

  std::unique_ptr<MqttSubscriber> Subscriber(const std::string& client_id, size_t max_payload = 131072) {
    MqttClientOptions o;
    o.port = broker_->port();
    o.client_id = client_id;
    o.topics = {"sensor/#"};
    o.max_payload_bytes = max_payload;
    o.reconnect_max = milliseconds(500);
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
    ASSERT_OK_AND_ASSIGN(testing::CommandOutput out,
                         testing::RunCommand({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker_->port()),
                                              "-t", topic, "-q", std::to_string(qos), "-s"},
                                             kDeadline, payload));
    ASSERT_EQ(out.exit_code, 0) << out.err;
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
  EXPECT_EQ(got[1].topic, "sensor/x/data");
  EXPECT_EQ(got[1].payload, "one");
  EXPECT_EQ(got[1].qos, 1);
  EXPECT_EQ(metrics_.RenderPrometheus().find("sensorpipe_mqtt_connected 1") != std::string::npos, true);
  ASSERT_OK(sub->Ack(got));
}

TEST_F(MqttClientTest, UnacknowledgedMessagesComeBackAndAcknowledgedOnesDoNot) {
  auto sub = Subscriber("sp-b");
  Connect(*sub);
  Publish("sensor/data", "first", 1);
  auto got = Receive(*sub, 1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_OK(sub->Disconnect());  // no PUBACK sent: as if the log append had not finished
  sub.reset();

  sub = Subscriber("sp-b");
  got = Receive(*sub, 1, Connect(*sub));
  ASSERT_GE(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "first");
  EXPECT_TRUE(got[0].dup);
  ASSERT_OK(sub->Ack(got));
  // The broker has the PUBACK once a later round trip on the same connection completes.
  Publish("sensor/data", "second", 1);
  got = Receive(*sub, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "second");
  ASSERT_OK(sub->Ack(got));
  ASSERT_OK(sub->Disconnect());
  sub.reset();

  // Published while nobody is connected: queued in the persistent session.
  Publish("sensor/data", "while-away", 1);
  sub = Subscriber("sp-b");
  got = Receive(*sub, 1, Connect(*sub));
  ASSERT_GE(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "while-away") << "an acknowledged message was delivered again";
}

TEST_F(MqttClientTest, ReconnectsAfterABrokerRestart) {
  auto sub = Subscriber("sp-c");
  Connect(*sub);
  ASSERT_OK(broker_->Restart());
  // The client notices, reconnects with backoff, resubscribes, and receives again.
  std::vector<MqttMessage> got;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        if (sub->connected()) Publish("sensor/data", "after-restart", 1);
        auto r = sub->Poll(milliseconds(200), 100);
        if (r.ok()) got.insert(got.end(), r->begin(), r->end());
        return !got.empty();
      },
      kDeadline));
  EXPECT_EQ(got.back().payload, "after-restart");
  EXPECT_GE(metrics_.CounterValue("sensorpipe_mqtt_reconnects_total"), 1u);
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
  EXPECT_EQ(got[0].payload.size(), 1024u);
  EXPECT_EQ(got[0].payload_size, big.size());
  EXPECT_FALSE(got[1].truncated);
  EXPECT_EQ(got[1].payload, "small");
}

TEST_F(MqttClientTest, WakeupEndsAWaitingPoll) {
  auto sub = Subscriber("sp-e");
  Connect(*sub);
  auto start = std::chrono::steady_clock::now();
  std::thread waker([&] {
    std::this_thread::sleep_for(milliseconds(100));
    sub->Wakeup();
  });
  ASSERT_OK_AND_ASSIGN(auto got, sub->Poll(std::chrono::seconds(60), 10));
  waker.join();
  EXPECT_TRUE(got.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST_F(MqttClientTest, RetriesWhileTheBrokerIsAway) {
  ASSERT_OK(broker_->Stop());
  auto sub = Subscriber("sp-f");
  auto r = sub->Poll(milliseconds(300), 10);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(sub->connected());
  ASSERT_OK(broker_->Restart());
  Connect(*sub);
  EXPECT_TRUE(sub->connected());
}

}  // namespace
}  // namespace sp
