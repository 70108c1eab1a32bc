// The trust model end to end (issue 8's TLS and ACL matrix): certificates from `sensorpipe certs`,
// the real mosquitto run from `sensorpipe broker-config`'s files, the real daemon subscribing with
// sensorpipe's own certificate, and devices publishing with theirs (the real agent, or
// mosquitto_pub for what the agent would never send). A device publishes under its own topic only;
// no certificate, another CA's, an expired and a revoked one are refused; a payload claiming
// another device lands in the errors view as spoofed_device.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "common/testing.h"
#include "support/daemon.h"
#include "support/process.h"
#include "trust/certs.h"

namespace sp::testing {
namespace {

std::string Payload(const std::string& client_id, int count) {
  return R"({"client_id":")" + client_id + R"(","timestamp":"2022-07-14 00:00:00","count":)" + std::to_string(count) +
         R"(,"temperature":21.5})";
}

class TrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = dir_.Sub("certs");
    ASSERT_OK(Sensorpipe({"certs", "init", "--dir", certs_}));
    for (const char* device : {"pi-a", "pi-b"}) ASSERT_OK(Sensorpipe({"certs", "issue", device, "--dir", certs_}));
    port_ = FreePort();
    std::vector<std::string> args = {"broker-config",
                                     "--certs",
                                     certs_,
                                     "--port",
                                     std::to_string(port_),
                                     "--out",
                                     dir_.Sub("broker/mosquitto.conf")};
    // Started as root, mosquitto switches to its own user, which could not read the 0600 keys here.
    if (::geteuid() == 0) args.insert(args.end(), {"--user", "root"});
    ASSERT_OK(Sensorpipe(args));
    ASSERT_OK_AND_ASSIGN(
        broker_, Process::Start({"mosquitto", "-c", dir_.Sub("broker/mosquitto.conf")}, dir_.Sub("broker/stdout.log")));
    ASSERT_TRUE(WaitUntil([&] { return PortOpen(port_) || !broker_->Running(); }, kDeadline));
    ASSERT_TRUE(broker_->Running()) << BrokerLog();
  }
  void TearDown() override {
    if (daemon_) {
      ASSERT_OK_AND_ASSIGN(int code, daemon_->Stop());
      EXPECT_EQ(code, 0) << daemon_->process().Log();
    }
    if (broker_ && broker_->Running()) {
      ASSERT_OK(broker_->Signal(SIGTERM));
      ASSERT_OK(broker_->Wait(kDeadline).status());
    }
  }

  std::string Url() const { return "mqtts://127.0.0.1:" + std::to_string(port_); }
  std::string Cert(const std::string& name) const { return certs_ + "/" + name; }
  std::string Device(const std::string& id, const char* ext) const { return certs_ + "/devices/" + id + ext; }
  std::string BrokerLog() const { return ReadFile(dir_.Sub("broker/mosquitto-data/mosquitto.log")); }

  Status Sensorpipe(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {BinDir() + "/sensorpipe"};
    argv.insert(argv.end(), args.begin(), args.end());
    SP_ASSIGN_OR_RETURN(CommandOutput out, RunCommand(argv, kDeadline));
    if (out.exit_code != 0) return Status::Unavailable("sensorpipe " + args[0] + ": " + out.err);
    return Status::OK();
  }

  // The daemon with sensorpipe's own certificate, subscribed to topic; up once it is connected.
  void StartDaemon(const std::string& topic = "sensor/#") {
    ASSERT_OK_AND_ASSIGN(daemon_,
                         Daemon::Start(dir_.Sub("sp"), Url(),
                                       "[mqtt]\ntopics = [\"" + topic + "\"]\nca_file = \"" + Cert("ca.crt") +
                                           "\"\ncert_file = \"" + Cert("sensorpipe.crt") + "\"\nkey_file = \"" +
                                           Cert("sensorpipe.key") + "\"\n[delivery]\ninterval_s = 1\n"));
    const Status connected = daemon_->WaitConnected();
    ASSERT_TRUE(connected.ok()) << connected.ToString() << BrokerLog();
    // Its certificate's CN is its client id, whatever it asked for; and the broker listens only where
    // it was told to (a misplaced listener option would open a plain listener on 1883 too).
    EXPECT_NE(BrokerLog().find(" as sensorpipe ("), std::string::npos) << BrokerLog();
    EXPECT_EQ(BrokerLog().find("port 1883"), std::string::npos) << BrokerLog();
  }

  // mosquitto_pub at QoS 1 over TLS with the client certificate cert/key (none when empty).
  CommandOutput Publish(const std::string& cert, const std::string& key, const std::string& topic,
                        const std::string& payload) {
    std::vector<std::string> argv = {"mosquitto_pub",
                                     "-h",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port_),
                                     "--cafile",
                                     Cert("ca.crt"),
                                     "-t",
                                     topic,
                                     "-q",
                                     "1",
                                     "-m",
                                     payload};
    if (!cert.empty()) argv.insert(argv.end(), {"--cert", cert, "--key", key});
    auto out = RunCommand(argv, kDeadline);
    EXPECT_OK(out.status());
    return out.ok() ? *out : CommandOutput{};
  }
  CommandOutput PublishAs(const std::string& device, const std::string& topic, const std::string& payload) {
    return Publish(Device(device, ".crt"), Device(device, ".key"), topic, payload);
  }

  // Runs the agent as device for n readings with its certificate, to its default topic.
  void RunAgent(const std::string& device, int n) {
    const std::string config = dir_.Sub(device + ".toml");
    std::ofstream(config) << "[agent]\ndevice = \"" << device << "\"\ninterval_s = 0.05\n[mqtt]\nurl = \"" << Url()
                          << "\"\nca_file = \"" << Cert("ca.crt") << "\"\ncert_file = \"" << Device(device, ".crt")
                          << "\"\nkey_file = \"" << Device(device, ".key") << "\"\n";
    ASSERT_OK_AND_ASSIGN(CommandOutput agent, RunCommand({BinDir() + "/sensorpipe-agent", "--simulate", "--config",
                                                          config, "--count", std::to_string(n)},
                                                         kDeadline));
    ASSERT_EQ(agent.exit_code, 0) << agent.err << BrokerLog();
  }

  bool QueryIs(const std::string& sql, const std::string& expected) {
    return WaitUntil(
        [&] {
          auto q = daemon_->Query(sql);
          return q.ok() && *q == expected;
        },
        kDeadline);
  }

  TempDir dir_;
  std::string certs_;
  int port_ = 0;
  std::unique_ptr<Process> broker_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(TrustTest, ADevicePublishesUnderItsOwnTopicOnly) {
  StartDaemon();
  RunAgent("pi-a", 3);
  ASSERT_TRUE(QueryIs("SELECT device, count(*) AS n FROM readings GROUP BY device", "device,n\npi-a,3\n"))
      << daemon_->Query("SELECT * FROM readings").status().ToString();

  // pi-a tries to speak for pi-b, to the seed's shared topic, to sensor/pi-a itself (which `#`
  // would match) and to sensor/pi-a/ (which `+` would match, and which names no device). The
  // broker drops each one: over MQTT 3.1.1 it even acknowledges them, so mosquitto_pub's exit code
  // proves nothing. A later good message of pi-a's that does arrive proves they never will.
  int count = 100;
  for (const std::string topic :
       {"sensor/pi-b/data", "sensor/data", "sensor/pi-a", "sensor/pi-a/", "other/pi-a/data"}) {
    PublishAs("pi-a", topic, Payload(topic == "sensor/pi-b/data" ? "pi-b" : "pi-a", count++));
  }
  EXPECT_EQ(PublishAs("pi-a", "sensor/pi-a/data", Payload("pi-a", 999)).exit_code, 0);
  ASSERT_TRUE(QueryIs("SELECT max(seq) AS m FROM readings", "m\n999\n"));
  // Nothing else reached the daemon: not even to be rejected.
  EXPECT_EQ(daemon_->Metric("sensorpipe_messages_received_total"), 4);
  EXPECT_TRUE(QueryIs("SELECT device, count(*) AS n FROM readings GROUP BY device", "device,n\npi-a,4\n"));
  EXPECT_TRUE(QueryIs("SELECT count(*) AS n FROM errors", "n\n0\n"));
}

TEST_F(TrustTest, UntrustedCertificatesAreRefused) {
  StartDaemon();
  // No certificate; one from another CA (for a device of the same name); one that has expired
  // (issued by our CA with its clock a year back); the broker's own, which is not for clients.
  TempDir other;
  ASSERT_OK(Sensorpipe({"certs", "init", "--dir", other.path()}));
  ASSERT_OK(Sensorpipe({"certs", "issue", "pi-a", "--dir", other.path()}));
  {
    ManualClock year_ago(Clock::Default()->NowMicros() - 365LL * 86400 * 1'000'000);
    ASSERT_OK_AND_ASSIGN(CertAuthority ca, CertAuthority::Open(Env::Default(), &year_ago, certs_));
    ASSERT_OK(ca.Issue("pi-old", 1).status());
  }
  EXPECT_NE(Publish("", "", "sensor/pi-a/data", Payload("pi-a", 1)).exit_code, 0);
  EXPECT_NE(
      Publish(other.Sub("devices/pi-a.crt"), other.Sub("devices/pi-a.key"), "sensor/pi-a/data", Payload("pi-a", 2))
          .exit_code,
      0);
  EXPECT_NE(PublishAs("pi-old", "sensor/pi-old/data", Payload("pi-old", 3)).exit_code, 0);
  EXPECT_NE(Publish(Cert("server.crt"), Cert("server.key"), "sensor/127.0.0.1/data", Payload("127.0.0.1", 4)).exit_code,
            0);

  // Revoked: admitted before, refused once the broker has reloaded the CRL (SIGHUP), while another
  // device carries on.
  EXPECT_EQ(PublishAs("pi-b", "sensor/pi-b/data", Payload("pi-b", 5)).exit_code, 0);
  ASSERT_OK(Sensorpipe({"certs", "revoke", "pi-b", "--dir", certs_}));
  ASSERT_OK(broker_->Signal(SIGHUP));
  ASSERT_TRUE(WaitUntil([&] { return BrokerLog().find("Reloading config.") != std::string::npos; }, kDeadline));
  EXPECT_NE(PublishAs("pi-b", "sensor/pi-b/data", Payload("pi-b", 6)).exit_code, 0);
  EXPECT_EQ(PublishAs("pi-a", "sensor/pi-a/data", Payload("pi-a", 7)).exit_code, 0);

  ASSERT_TRUE(QueryIs("SELECT device, seq FROM readings ORDER BY seq", "device,seq\npi-b,5\npi-a,7\n"));
  EXPECT_EQ(daemon_->Metric("sensorpipe_messages_received_total"), 2);
  EXPECT_NE(BrokerLog().find("certificate verify failed"), std::string::npos);
}

TEST_F(TrustTest, ASpoofedClientIdLandsInTheErrors) {
  StartDaemon();
  // On its own topic, pi-a claims to be pi-b: the topic is what the broker verified.
  EXPECT_EQ(PublishAs("pi-a", "sensor/pi-a/data", Payload("pi-b", 1)).exit_code, 0);
  EXPECT_EQ(PublishAs("pi-a", "sensor/pi-a/data", Payload("pi-a", 2)).exit_code, 0);
  ASSERT_TRUE(QueryIs("SELECT topic, reason FROM errors", "topic,reason\nsensor/pi-a/data,spoofed_device\n"));
  EXPECT_TRUE(QueryIs("SELECT device, seq FROM readings", "device,seq\npi-a,2\n"));
  EXPECT_EQ(daemon_->Metric("sensorpipe_messages_rejected_total{reason=\"spoofed_device\"}"), 1);
}

TEST_F(TrustTest, SensorpipeReadsThroughASharedSubscriptionAndDevicesReadNothing) {
  // mosquitto 2.0.11 checks read access per delivered message against its topic, also for a
  // shared subscription; a device may subscribe, but nothing is delivered to it.
  StartDaemon("$share/sensorpipe/sensor/#");
  ASSERT_OK_AND_ASSIGN(
      auto listener, Process::Start({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(port_), "--cafile",
                                     Cert("ca.crt"), "--cert", Device("pi-b", ".crt"), "--key", Device("pi-b", ".key"),
                                     "-i", "pi-a", "-t", "sensor/#", "-v"},
                                    dir_.Sub("pi-b.sub")));
  // Asking for pi-a's client id (and so its session) gets pi-b its own: the CN decides.
  ASSERT_TRUE(WaitUntil([&] { return BrokerLog().find(" as pi-b (") != std::string::npos; }, kDeadline)) << BrokerLog();
  EXPECT_EQ(BrokerLog().find(" as pi-a ("), std::string::npos) << BrokerLog();
  RunAgent("pi-a", 3);
  ASSERT_TRUE(QueryIs("SELECT device, count(*) AS n FROM readings GROUP BY device", "device,n\npi-a,3\n"));
  // The daemon has every message. The broker queued each for every subscriber in the same step, so
  // anything it were to send pi-b would have reached pi-b's output long before the daemon's
  // delivery made it queryable (a second later).
  EXPECT_TRUE(listener->Running()) << listener->Log();
  EXPECT_EQ(listener->Log(), "");
  ASSERT_OK(listener->Signal(SIGTERM));
  ASSERT_OK(listener->Wait(kDeadline).status());
}

}  // namespace
}  // namespace sp::testing
