// Trust: the device CA, and (broker_config.h) the broker's enforcement of "a device speaks only for
// itself". It replaces the cloud's per-device certificates and IoT policies: a CA of our own issues
// each device a client certificate whose CN is its id, revokes it through a CRL, and mosquitto,
// configured by broker_config.h, admits only certificates of that CA and lets each one publish only
// under sensor/<its id>/. The folder's files and its index are in docs/format/certs.md.
//
// A CertAuthority is used by one thread at a time; every file goes through Env, every instant through
// Clock (so a test can issue a certificate that has already expired).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace sp {

//! The files of a certificate folder (docs/format/certs.md), by name.
struct CertFiles {
  static constexpr const char* kCaKey = "ca.key";
  static constexpr const char* kCaCert = "ca.crt";
  static constexpr const char* kCrl = "crl.pem";
  static constexpr const char* kServerKey = "server.key";
  static constexpr const char* kServerCert = "server.crt";
  static constexpr const char* kIndex = "index.txt";
  static constexpr const char* kDevices = "devices";
  //! sensorpipe's own identity: the CN of its client certificate and the broker's user name for it.
  static constexpr const char* kService = "sensorpipe";
};

//! The longest validity `--days` may ask for (100 years).
constexpr int kMaxCertDays = 36500;

enum class CertRole { kCa, kServer, kService, kDevice };

//! One line of index.txt.
struct CertEntry {
  std::string serial;  // lower-case hex
  CertRole role = CertRole::kDevice;
  std::string cn;
  int64_t not_after_s = 0;   // Unix seconds
  int64_t revoked_at_s = 0;  // Unix seconds; 0 while not revoked
};

//! "ca", "server", "service" or "device".
const char* CertRoleName(CertRole role);
//! "YYYY-MM-DDTHH:MM:SSZ", the index's form of an instant.
std::string FormatCertTime(int64_t unix_seconds);

struct CertsInitOptions {
  std::vector<std::string> hosts;  // the broker's names and addresses; empty: 127.0.0.1 and localhost
  int days = 3650;                 // validity of the CA, the server and the service certificate
  bool force = false;              // replace an existing CA (every certificate it issued becomes useless)
};

class CertAuthority {
 public:
  ~CertAuthority();
  CertAuthority(CertAuthority&&) noexcept;
  CertAuthority& operator=(CertAuthority&&) noexcept;

  //! Makes a new CA in dir (created if absent) with an empty CRL, the broker's certificate and the
  //! service certificate; refuses when dir already has a CA unless options.force.
  static Result<CertAuthority> Init(Env* env, Clock* clock, const std::string& dir, const CertsInitOptions& options);
  //! Opens the CA that Init made in dir.
  static Result<CertAuthority> Open(Env* env, Clock* clock, const std::string& dir);

  //! Issues devices/<device>.key and .crt (CN = device, EKU clientAuth) valid for days; refuses an
  //! unsafe id, the service's name, a device that still has a live certificate, or a validity past the CA's.
  Result<CertEntry> Issue(const std::string& device, int days);
  //! Puts every live certificate of device on a newly signed CRL; returns those it revoked.
  Result<std::vector<CertEntry>> Revoke(const std::string& device);
  //! Every certificate issued, in order.
  const std::vector<CertEntry>& index() const;
  //! The CA certificate's end of validity, Unix seconds.
  int64_t ca_not_after_s() const;
  const std::string& dir() const;

 private:
  struct State;
  explicit CertAuthority(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

//! True when id may be a device's certificate CN: 1-128 characters of A-Z a-z 0-9 . _ : @ - (the
//! pipeline's rule for device ids), and not the service's own name.
Status CheckDeviceId(const std::string& id);
//! OK when host is an IPv4 or IPv6 address or a DNS name, as the server certificate's SAN takes it.
Status CheckHost(const std::string& host);

}  // namespace sp
