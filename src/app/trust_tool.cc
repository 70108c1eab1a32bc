#include "app/trust_tool.h"

#include <cstdio>

namespace sp {
namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "sensorpipe: %s\n", std::string(s.message()).c_str());
  return 1;
}

// A CLI11 check from a Status-returning one, so a bad value prints the usage and exits 2.
CLI::Validator Check(Status (*check)(const std::string&), const char* name) {
  return CLI::Validator(
      [check](std::string& v) {
        Status s = check(v);
        return s.ok() ? std::string() : std::string(s.message());
      },
      name);
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

TrustCommands::TrustCommands(CLI::App& app) {
  auto* certs = app.add_subcommand("certs", "The device CA: init, issue, revoke, ls (docs/trust.md)");
  certs->require_subcommand(1);
  auto with_dir = [&](CLI::App* sub) {
    sub->add_option("--dir", dir_, "The certificate folder")->capture_default_str();
    return sub;
  };
  init_ = with_dir(certs->add_subcommand(
      "init", "Make the device CA, its CRL, the broker's certificate and sensorpipe's own client certificate"));
  init_
      ->add_option("--host", init_options_.hosts,
                   "A name or IP address devices use to reach the broker (repeatable; default: 127.0.0.1 localhost)")
      ->check(Check(CheckHost, "HOST"));
  init_->add_option("--days", init_options_.days, "Validity of the CA and the two certificates")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxCertDays));
  init_->add_flag("--force", init_options_.force,
                  "Replace an existing CA: every certificate it issued stops being trusted");

  issue_ = with_dir(certs->add_subcommand("issue", "Issue a key and certificate for one device (CN = device id)"));
  issue_->add_option("device", device_, "Device id: 1-128 characters of A-Z a-z 0-9 . _ : @ -")
      ->required()
      ->check(Check(CheckDeviceId, "DEVICE"));
  issue_->add_option("--days", days_, "Validity")->capture_default_str()->check(CLI::Range(1, kMaxCertDays));

  revoke_ = with_dir(certs->add_subcommand("revoke", "Put every certificate of a device on the CRL"));
  revoke_->add_option("device", device_, "Device id")->required()->check(Check(CheckDeviceId, "DEVICE"));

  ls_ = with_dir(certs->add_subcommand("ls", "List every certificate the CA issued"));

  broker_config_ = app.add_subcommand(
      "broker-config", "Write a mosquitto config and ACL that enforce the trust model of a certificate folder");
  broker_config_->add_option("--certs", broker_.certs_dir, "The folder `sensorpipe certs init` made")->required();
  broker_config_->add_option("--port", broker_.port, "The TLS listener's port")
      ->required()
      ->check(CLI::Range(1, 65535));
  broker_config_->add_option("--bind", broker_.bind, "The listener's address (0.0.0.0: every interface)")
      ->capture_default_str();
  broker_config_->add_option("--data", broker_.data_dir,
                             "mosquitto's persistence and log folder (default: mosquitto-data beside --out)");
  broker_config_->add_option("--out", broker_.out, "The config file; the ACL goes beside it as .acl")
      ->capture_default_str();
  broker_config_->add_option("--user", broker_.user,
                             "The user mosquitto switches to when started as root (its default: mosquitto); it must "
                             "read the server key and write --data");
}

std::optional<int> TrustCommands::RunIfParsed() {
  if (init_->parsed()) return Init();
  if (issue_->parsed()) return Issue();
  if (revoke_->parsed()) return Revoke();
  if (ls_->parsed()) return List();
  if (broker_config_->parsed()) return BrokerConfig();
  return std::nullopt;
}

int TrustCommands::Init() {
  auto ca = CertAuthority::Init(Env::Default(), Clock::Default(), dir_, init_options_);
  if (!ca.ok()) return Fail(ca.status());
  const std::vector<std::string> hosts =
      init_options_.hosts.empty() ? std::vector<std::string>{"127.0.0.1", "localhost"} : init_options_.hosts;
  std::printf("certs: device CA %s (not after %s), its key ca.key (0600: keep it off the devices)\n",
              JoinPath(dir_, CertFiles::kCaCert).c_str(), FormatCertTime(ca->ca_not_after_s()).c_str());
  std::printf("certs: empty revocation list %s\n", JoinPath(dir_, CertFiles::kCrl).c_str());
  std::printf("certs: broker certificate %s for %s\n", JoinPath(dir_, CertFiles::kServerCert).c_str(),
              Joined(hosts).c_str());
  std::printf("certs: sensorpipe's own client certificate %s.crt (CN %s)\n",
              JoinPath(dir_, CertFiles::kService).c_str(), CertFiles::kService);
  std::printf("next: sensorpipe certs issue DEVICE --dir %s; sensorpipe broker-config --certs %s --port 8883\n",
              dir_.c_str(), dir_.c_str());
  return 0;
}

int TrustCommands::Issue() {
  auto ca = CertAuthority::Open(Env::Default(), Clock::Default(), dir_);
  if (!ca.ok()) return Fail(ca.status());
  auto entry = ca->Issue(device_, days_);
  if (!entry.ok()) return Fail(entry.status());
  const std::string base = JoinPath(JoinPath(dir_, CertFiles::kDevices), device_);
  std::printf("certs: issued %s.crt and %s.key to device %s (serial %s, not after %s)\n", base.c_str(), base.c_str(),
              device_.c_str(), entry->serial.c_str(), FormatCertTime(entry->not_after_s).c_str());
  std::printf("certs: copy them and %s to the device; its [mqtt] cert_file, key_file and ca_file name them\n",
              JoinPath(dir_, CertFiles::kCaCert).c_str());
  return 0;
}

int TrustCommands::Revoke() {
  auto ca = CertAuthority::Open(Env::Default(), Clock::Default(), dir_);
  if (!ca.ok()) return Fail(ca.status());
  auto revoked = ca->Revoke(device_);
  if (!revoked.ok()) return Fail(revoked.status());
  for (const CertEntry& e : *revoked) {
    std::printf("certs: revoked device %s's certificate %s\n", device_.c_str(), e.serial.c_str());
  }
  std::printf(
      "certs: %s is re-signed. mosquitto reads it at start and on SIGHUP: until you run\n"
      "  kill -HUP <mosquitto's pid>   (or restart it)\n"
      "the broker still admits this device. After the reload it refuses new connections with the\n"
      "certificate, but a connection already open stays until it closes: restart the broker to end it now.\n",
      JoinPath(dir_, CertFiles::kCrl).c_str());
  return 0;
}

int TrustCommands::List() {
  auto ca = CertAuthority::Open(Env::Default(), Clock::Default(), dir_);
  if (!ca.ok()) return Fail(ca.status());
  const int64_t now = Clock::Default()->NowMicros() / 1'000'000;
  std::printf("%-32s  %-7s  %-24s  %-20s  %s\n", "SERIAL", "ROLE", "CN", "NOT AFTER", "STATUS");
  for (const CertEntry& e : ca->index()) {
    const std::string status = e.revoked_at_s         ? "revoked " + FormatCertTime(e.revoked_at_s)
                               : e.not_after_s <= now ? std::string("expired")
                                                      : std::string("live");
    std::printf("%-32s  %-7s  %-24s  %-20s  %s\n", e.serial.c_str(), CertRoleName(e.role), e.cn.c_str(),
                FormatCertTime(e.not_after_s).c_str(), status.c_str());
  }
  return 0;
}

int TrustCommands::BrokerConfig() {
  auto files = WriteBrokerConfig(Env::Default(), broker_);
  if (!files.ok()) return Fail(files.status());
  std::printf("broker-config: wrote %s (TLS listener %s:%d, client certificates of %s required) and its ACL %s\n",
              files->conf.c_str(), broker_.bind.c_str(), broker_.port,
              JoinPath(broker_.certs_dir, CertFiles::kCaCert).c_str(), files->acl.c_str());
  std::printf("broker-config: run the broker with: mosquitto -c %s\n", files->conf.c_str());
  return 0;
}

}  // namespace sp
