// MQTT over TLS against the real mosquitto, with certificates made here by openssl: the broker's
// certificate is verified (a wrong CA gets no connection), a broker requiring client
// certificates admits the client that has one and no other, and the daemon and the agent take
// their TLS files from the [mqtt] keys of their configs. And QoS 0 and 1 over MQTT 3.1.1 and 5,
// plain and TLS, reach the log.
#include <gtest/gtest.h>

#include <fstream>

#include "common/testing.h"
#include "mqtt/client.h"
#include "support/daemon.h"
#include "support/mosquitto.h"
#include "support/process.h"

namespace sp::testing {
namespace {

using std::chrono::milliseconds;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A CA, a server certificate for 127.0.0.1, a client certificate, and a second, unrelated CA.
    const std::string d = dir_.path();
    const std::string script =
        "set -e; cd " + d + "; K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';"
        "openssl req -x509 $K -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca 2>/dev/null;"
        "openssl req -x509 $K -keyout other.key -out other.crt -days 2 -subj /CN=other-ca 2>/dev/null;"
        "openssl req $K -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null;"
        "echo subjectAltName=IP:127.0.0.1 > san;"
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
        "-extfile san 2>/dev/null;"
        "openssl req $K -keyout client.key -out client.csr -subj /CN=pi-tls 2>/dev/null;"
        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 2>/dev/null";
    ASSERT_OK_AND_ASSIGN(CommandOutput out, RunCommand({"sh", "-c", script}, kDeadline));
    ASSERT_EQ(out.exit_code, 0) << out.err;
  }
  Status StartBroker(bool require_client_cert) {
    auto b = Mosquitto::Start(dir_.Sub("broker"), "cafile " + dir_.Sub("ca.crt") + "\ncertfile " + dir_.Sub("server.crt") +
                                                      "\nkeyfile " + dir_.Sub("server.key") + "\nrequire_certificate " +
                                                      (require_client_cert ? "true" : "false") + "\n");
    if (!b.ok()) return b.status();
    broker_ = std::move(b).value();
    return Status::OK();
  }
  MqttClientOptions Options(const std::string& ca, bool client_cert) {
    MqttClientOptions o;
    o.port = broker_->port();
    o.client_id = "sp-tls";
    o.topics = {"sensor/#"};
    o.tls = true;
    o.tls_options.ca_file = dir_.Sub(ca);
    if (client_cert) {
      o.tls_options.cert_file = dir_.Sub("client.crt");
      o.tls_options.key_file = dir_.Sub("client.key");
    }
    o.reconnect_max = milliseconds(300);
    return o;
  }
  bool Connects(MqttSubscriber& s, std::chrono::milliseconds within) {
    return WaitUntil([&] { return s.Poll(milliseconds(50), 100).ok() && s.connected(); }, within);
  }
  Status Publish(const std::string& payload) {
    SP_ASSIGN_OR_RETURN(CommandOutput out,
                        RunCommand({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker_->port()), "--cafile",
                                    dir_.Sub("ca.crt"), "--cert", dir_.Sub("client.crt"), "--key", dir_.Sub("client.key"),
                                    "-t", "sensor/data", "-q", "1", "-m", payload},
                                   kDeadline));
    if (out.exit_code != 0) return Status::Unavailable(out.err);
    return Status::OK();
  }

  TempDir dir_;
  Metrics metrics_;
  std::unique_ptr<Mosquitto> broker_;
};

TEST_F(TlsTest, TheBrokerIsVerifiedAndMessagesFlow) {
  ASSERT_OK(StartBroker(false));
  MqttSubscriber sub(Options("ca.crt", false), Clock::Default(), &metrics_);
  ASSERT_TRUE(Connects(sub, kDeadline));
  ASSERT_OK(Publish("over tls"));
  std::vector<MqttMessage> got;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto r = sub.Poll(milliseconds(100), 10);
        if (r.ok()) got.insert(got.end(), r->begin(), r->end());
        return !got.empty();
      },
      kDeadline));
  EXPECT_EQ(got[0].payload, "over tls");
  ASSERT_OK(sub.Ack(got));

  // A certificate the client does not trust: no connection, however long it tries.
  MqttSubscriber stranger(Options("other.crt", false), Clock::Default(), &metrics_);
  EXPECT_FALSE(Connects(stranger, std::chrono::seconds(2)));
}

TEST_F(TlsTest, ABrokerRequiringClientCertificatesAdmitsOnlyHolders) {
  ASSERT_OK(StartBroker(true));
  MqttSubscriber without(Options("ca.crt", false), Clock::Default(), &metrics_);
  EXPECT_FALSE(Connects(without, std::chrono::seconds(2)));
  MqttSubscriber with(Options("ca.crt", true), Clock::Default(), &metrics_);
  EXPECT_TRUE(Connects(with, kDeadline));
}

TEST_F(TlsTest, DaemonAndAgentUseTheConfigKeys) {
  ASSERT_OK(StartBroker(true));
  const std::string url = "mqtts://127.0.0.1:" + std::to_string(broker_->port());
  ASSERT_OK_AND_ASSIGN(auto daemon, Daemon::Start(dir_.Sub("sp"), url,
                                                  "[mqtt]\nca_file = \"" + dir_.Sub("ca.crt") + "\"\ncert_file = \"" +
                                                      dir_.Sub("client.crt") + "\"\nkey_file = \"" +
                                                      dir_.Sub("client.key") + "\"\n[delivery]\ninterval_s = 1\n"));
  ASSERT_OK(daemon->WaitConnected());
  std::ofstream(dir_.Sub("agent.toml")) << "[agent]\ndevice = \"pi-tls\"\ninterval_s = 0.1\n[mqtt]\nurl = \"" << url
                                        << "\"\nca_file = \"ca.crt\"\ncert_file = \"client.crt\"\nkey_file = \"client.key\"\n";
  ASSERT_OK_AND_ASSIGN(CommandOutput agent, RunCommand({BinDir() + "/sensorpipe-agent", "--simulate", "--config",
                                                        dir_.Sub("agent.toml"), "--count", "3"},
                                                       kDeadline));
  EXPECT_EQ(agent.exit_code, 0) << agent.err;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto q = daemon->Query("SELECT count(*) AS n FROM readings WHERE device = 'pi-tls'");
        return q.ok() && *q == "n\n3\n";
      },
      kDeadline));
  ASSERT_OK_AND_ASSIGN(int code, daemon->Stop());
  EXPECT_EQ(code, 0);
}

// The issue's matrix: QoS 0 and 1, MQTT 3.1.1 and 5, plain and TLS, through the daemon. The
// daemon speaks the version in its config; the device publishes with the same version.
class MqttMatrix : public TlsTest, public ::testing::WithParamInterface<std::tuple<std::string, bool>> {};

TEST_P(MqttMatrix, QosZeroAndOneArrive) {
  const auto& [version, tls] = GetParam();
  std::string url = "mqtt://127.0.0.1:";
  std::string extra = "protocol = \"" + version + "\"\n";
  if (tls) {
    ASSERT_OK(StartBroker(false));
    url = "mqtts://127.0.0.1:";
    extra += "ca_file = \"" + dir_.Sub("ca.crt") + "\"\n";
  } else {
    ASSERT_OK_AND_ASSIGN(broker_, Mosquitto::Start(dir_.Sub("broker")));
  }
  url += std::to_string(broker_->port());
  ASSERT_OK_AND_ASSIGN(auto daemon,
                       Daemon::Start(dir_.Sub("sp"), url, "[mqtt]\n" + extra + "[delivery]\ninterval_s = 1\n"));
  ASSERT_OK(daemon->WaitConnected());
  EXPECT_EQ(daemon->Metric("sensorpipe_mqtt_protocol_level"), version == "5" ? 5 : 4);
  for (int qos : {0, 1}) {
    std::vector<std::string> argv = {
        "mosquitto_pub",
        "-h",
        "127.0.0.1",
        "-p",
        std::to_string(broker_->port()),
        "-V",
        version == "5" ? "mqttv5" : "mqttv311",
        "-t",
        "sensor/data",
        "-q",
        std::to_string(qos),
        "-m",
        R"({"client_id":"pi-m","timestamp":"2022-07-14 00:00:00","count":)" + std::to_string(qos) + "}"};
    if (tls) argv.insert(argv.end(), {"--cafile", dir_.Sub("ca.crt")});
    ASSERT_OK_AND_ASSIGN(CommandOutput out, RunCommand(argv, kDeadline));
    ASSERT_EQ(out.exit_code, 0) << out.err;
  }
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto q = daemon->Query("SELECT count(*) AS n, sum(seq) AS s FROM readings");
        return q.ok() && *q == "n,s\n2,1\n";
      },
      kDeadline));
  ASSERT_OK_AND_ASSIGN(int code, daemon->Stop());
  EXPECT_EQ(code, 0);
}

INSTANTIATE_TEST_SUITE_P(All, MqttMatrix, ::testing::Combine(::testing::Values("3.1.1", "5"), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == "5" ? "Mqtt5" : "Mqtt311") +
                                  (std::get<1>(info.param) ? "Tls" : "Plain");
                         });

}  // namespace
}  // namespace sp::testing
