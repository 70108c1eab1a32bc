#include "trust/certs.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "common/device_id.h"
#include "common/time.h"
#include "trust/openssl_ptr.h"

namespace sp {
namespace {

constexpr const char* kIndexHeader = "# sensorpipe certs index v1: serial role cn not_after revoked_at";
constexpr const char* kCaName = "sensorpipe-device-ca";
constexpr int64_t kDaySeconds = 86400;
// Certificates start an hour in the past, so a peer whose clock is a little behind ours (a Pi just
// after boot, before NTP corrects it) does not see them as not yet valid.
constexpr int64_t kBackdateSeconds = 3600;

// The message of the failed OpenSSL call, with every error on OpenSSL's queue (which it also empties).
Status SslError(std::string_view what) {
  std::string msg = "OpenSSL: " + std::string(what);
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  return Status::IOError(msg);
}

int64_t NowSeconds(Clock* clock) {
  return FloorDiv(clock->NowMicros(), 1'000'000);
}

int64_t AsnSeconds(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return FromCivil({tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, 0}) / 1'000'000;
}

Result<int64_t> ParseCertTime(const std::string& text) {
  CivilTime c{};
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &c.year, &c.month, &c.day, &c.hour, &c.minute, &c.second) !=
      6) {
    return Status::InvalidArgument("'" + text + "' is not a time of the form YYYY-MM-DDTHH:MM:SSZ");
  }
  const int64_t s = FromCivil(c) / 1'000'000;
  // The round trip rejects out-of-range fields (month 13) and trailing bytes.
  if (FormatCertTime(s) != text) return Status::InvalidArgument("'" + text + "' is not a valid time");
  return s;
}

Result<CertRole> ParseRole(const std::string& text) {
  for (CertRole r : {CertRole::kCa, CertRole::kServer, CertRole::kService, CertRole::kDevice}) {
    if (text == CertRoleName(r)) return r;
  }
  return Status::InvalidArgument("unknown role '" + text + "'");
}

std::string FormatIndex(const std::vector<CertEntry>& index) {
  std::string out = std::string(kIndexHeader) + "\n";
  for (const CertEntry& e : index) {
    out += e.serial + " " + CertRoleName(e.role) + " " + e.cn + " " + FormatCertTime(e.not_after_s) + " " +
           (e.revoked_at_s ? FormatCertTime(e.revoked_at_s) : "-") + "\n";
  }
  return out;
}

Result<std::vector<CertEntry>> ParseIndex(const std::string& text, const std::string& path) {
  std::vector<CertEntry> index;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto bad = [&](std::string_view why) {
      return Status::Corruption(path + ":" + std::to_string(n) + ": " + std::string(why));
    };
    if (n == 1 && line.rfind("# sensorpipe certs index v1", 0) != 0) return bad("not a sensorpipe certs index v1");
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string serial, role, cn, not_after, revoked_at, extra;
    if (!(fields >> serial >> role >> cn >> not_after >> revoked_at) || (fields >> extra)) {
      return bad("expected 5 fields: serial role cn not_after revoked_at");
    }
    CertEntry e;
    e.serial = serial;
    if (serial.find_first_not_of("0123456789abcdef") != std::string::npos) return bad("serial is not lower-case hex");
    auto r = ParseRole(role);
    if (!r.ok()) return bad(r.status().message());
    e.role = *r;
    e.cn = cn;
    auto t = ParseCertTime(not_after);
    if (!t.ok()) return bad(t.status().message());
    e.not_after_s = *t;
    if (revoked_at != "-") {
      auto rt = ParseCertTime(revoked_at);
      if (!rt.ok()) return bad(rt.status().message());
      e.revoked_at_s = *rt;
    }
    index.push_back(std::move(e));
  }
  return index;
}

// Keys must never be readable by others, not even for a moment: the umask makes Env create them
// 0600 (0666 & ~077) instead of chmod-ing afterwards. The CLI is single-threaded, so the
// process-wide umask is safe to change for the duration of a write.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

Status WriteKeyFile(Env* env, const std::string& path, std::string_view pem) {
  ScopedUmask umask(077);
  // WriteFileAtomic truncates a stray path.tmp left by a crash, keeping that file's mode: remove it
  // so the temporary file is created anew under this umask.
  const std::string tmp = path + ".tmp";
  if (env->FileExists(tmp)) SP_RETURN_IF_ERROR(env->RemoveFile(tmp));
  return env->WriteFileAtomic(path, pem);
}

template <typename T, typename Write>
Result<std::string> ToPem(T* object, Write write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get(), object) != 1) return SslError("PEM encoding");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> CertPem(X509* cert) {
  return ToPem(cert, PEM_write_bio_X509);
}
Result<std::string> KeyPem(EVP_PKEY* key) {
  return ToPem(
      key, [](BIO* b, EVP_PKEY* k) { return PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr); });
}

// Reads one PEM object of path with read (PEM_read_bio_X509, ...), which must find one.
template <typename Ptr, typename Read>
Result<Ptr> ReadPem(Env* env, const std::string& path, Read read) {
  SP_ASSIGN_OR_RETURN(std::string pem, env->ReadFile(path));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Ptr object(bio ? read(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!object) return SslError(path + " is not a PEM file of the expected kind");
  return object;
}

Result<KeyPtr> NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("generating an EC P-256 key");
  return key;
}

// 128 random bits with the top one set: unique without a counter, and always 16 bytes long.
Result<BnPtr> RandomSerial() {
  BnPtr bn(BN_new());
  if (!bn || BN_rand(bn.get(), 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1) return SslError("random serial");
  return bn;
}

std::string SerialHex(const BIGNUM* bn) {
  char* hex = BN_bn2hex(bn);
  std::string s(hex ? hex : "");
  OPENSSL_free(hex);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return SslError(std::string("extension ") + OBJ_nid2sn(nid));
  return Status::OK();
}

// What a new certificate says; the issuer is the CA (or, for the CA itself, the certificate).
struct CertSpec {
  CertRole role;
  std::string cn;
  int64_t not_before_s, not_after_s;
  std::vector<std::string> hosts;  // the server's subjectAltName
};

std::string SubjectAltName(const std::vector<std::string>& hosts) {
  std::string san;
  for (const std::string& h : hosts) {
    unsigned char addr[16];
    const bool ip = inet_pton(AF_INET, h.c_str(), addr) == 1 || inet_pton(AF_INET6, h.c_str(), addr) == 1;
    san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + h;
  }
  return san;
}

// Makes and signs a certificate for key. issuer/issuer_key are null for the self-signed CA.
Result<X509Ptr> MakeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, BIGNUM* serial) {
  X509Ptr cert(X509_new());
  if (!cert) return SslError("X509_new");
  IntPtr asn_serial(BN_to_ASN1_INTEGER(serial, nullptr));
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!asn_serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(cert.get(), asn_serial.get()) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1,
                                 -1, 0) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(cert.get()), spec.not_before_s) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), spec.not_after_s) || X509_set_pubkey(cert.get(), key) != 1 ||
      X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name) != 1) {
    return SslError("building the certificate for " + spec.cn);
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  SP_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (spec.role == CertRole::kCa) {
    SP_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
    SP_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    SP_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid"));
    SP_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
    SP_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
    // A server certificate cannot log in as a client, nor a client certificate serve: the broker
    // (OpenSSL's purpose check) refuses a client certificate without clientAuth.
    const bool server = spec.role == CertRole::kServer;
    SP_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, server ? "serverAuth" : "clientAuth"));
    if (server) SP_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_alt_name, SubjectAltName(spec.hosts)));
  }
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) <= 0) {
    return SslError("signing the certificate for " + spec.cn);
  }
  return cert;
}

Status CheckDays(int days) {
  if (days < 1 || days > kMaxCertDays) {
    return Status::InvalidArgument("--days must be 1 to " + std::to_string(kMaxCertDays) + ", not " +
                                   std::to_string(days));
  }
  return Status::OK();
}

}  // namespace

const char* CertRoleName(CertRole role) {
  switch (role) {
    case CertRole::kCa:
      return "ca";
    case CertRole::kServer:
      return "server";
    case CertRole::kService:
      return "service";
    case CertRole::kDevice:
      return "device";
  }
  return "?";
}

std::string FormatCertTime(int64_t unix_seconds) {
  const CivilTime c = ToCivil(unix_seconds * 1'000'000);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour, c.minute, c.second);
  return buf;
}

Status CheckDeviceId(const std::string& id) {
  if (!IsSafeDeviceId(id)) {
    return Status::InvalidArgument("device id '" + id + "' must be " + std::string(kDeviceIdRule));
  }
  if (id == CertFiles::kService) {
    return Status::InvalidArgument(std::string("'") + CertFiles::kService +
                                   "' is sensorpipe's own identity, which may read every device's data; "
                                   "choose another device id");
  }
  return Status::OK();
}

Status CheckHost(const std::string& host) {
  unsigned char addr[16];
  if (inet_pton(AF_INET, host.c_str(), addr) == 1 || inet_pton(AF_INET6, host.c_str(), addr) == 1) return Status::OK();
  const bool dns =
      !host.empty() && host.size() <= 253 && host.front() != '.' && host.front() != '-' &&
      host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == std::string::npos;
  if (!dns) return Status::InvalidArgument("--host '" + host + "' is neither an IP address nor a DNS name");
  return Status::OK();
}

struct CertAuthority::State {
  Env* env;
  Clock* clock;
  std::string dir;
  X509Ptr ca;
  KeyPtr ca_key;
  std::vector<CertEntry> index;

  std::string Path(std::string_view name) const { return JoinPath(dir, name); }
  std::string DevicePath(const std::string& device, const char* ext) const {
    return JoinPath(Path(CertFiles::kDevices), device + ext);
  }
  Status WriteIndex(const std::vector<CertEntry>& entries) {
    return env->WriteFileAtomic(Path(CertFiles::kIndex), FormatIndex(entries));
  }

  // Issues a key and certificate signed by the CA, records it in the index and writes both files
  // (index first: see docs/format/certs.md).
  Result<CertEntry> IssueCert(CertSpec spec, const std::string& key_path, const std::string& cert_path) {
    SP_ASSIGN_OR_RETURN(KeyPtr key, NewKey());
    SP_ASSIGN_OR_RETURN(BnPtr serial, RandomSerial());
    SP_ASSIGN_OR_RETURN(X509Ptr cert, MakeCert(spec, key.get(), ca.get(), ca_key.get(), serial.get()));
    CertEntry entry{SerialHex(serial.get()), spec.role, spec.cn, spec.not_after_s, 0};
    std::vector<CertEntry> next = index;
    next.push_back(entry);
    SP_RETURN_IF_ERROR(WriteIndex(next));
    index = std::move(next);
    SP_ASSIGN_OR_RETURN(std::string key_pem, KeyPem(key.get()));
    SP_RETURN_IF_ERROR(WriteKeyFile(env, key_path, key_pem));
    SP_ASSIGN_OR_RETURN(std::string cert_pem, CertPem(cert.get()));
    SP_RETURN_IF_ERROR(env->WriteFileAtomic(cert_path, cert_pem));
    return entry;
  }

  // Signs a CRL listing every revoked certificate of entries and writes it.
  Status WriteCrl(const std::vector<CertEntry>& entries) {
    // The CRL number only grows (RFC 5280): one more than the CRL it replaces.
    long number = 1;
    if (env->FileExists(Path(CertFiles::kCrl))) {
      SP_ASSIGN_OR_RETURN(CrlPtr previous, ReadPem<CrlPtr>(env, Path(CertFiles::kCrl), PEM_read_bio_X509_CRL));
      IntPtr n(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(previous.get(), NID_crl_number, nullptr, nullptr)));
      if (n) number = ASN1_INTEGER_get(n.get()) + 1;
    }
    CrlPtr crl(X509_CRL_new());
    TimePtr last(ASN1_TIME_set(nullptr, NowSeconds(clock)));
    const bool ok = crl && last && X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1 &&
                    X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get())) == 1 &&
                    X509_CRL_set1_lastUpdate(crl.get(), last.get()) == 1 &&
                    X509_CRL_set1_nextUpdate(crl.get(), X509_get0_notAfter(ca.get())) == 1;
    if (!ok) return SslError("building the CRL");
    for (const CertEntry& e : entries) {
      if (!e.revoked_at_s) continue;
      BIGNUM* bn = nullptr;
      if (BN_hex2bn(&bn, e.serial.c_str()) == 0) return SslError("serial " + e.serial);
      BnPtr serial(bn);
      IntPtr asn_serial(BN_to_ASN1_INTEGER(serial.get(), nullptr));
      RevokedPtr revoked(X509_REVOKED_new());
      TimePtr when(ASN1_TIME_set(nullptr, e.revoked_at_s));
      if (!revoked || !when || !asn_serial || X509_REVOKED_set_serialNumber(revoked.get(), asn_serial.get()) != 1 ||
          X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1 ||
          X509_CRL_add0_revoked(crl.get(), revoked.get()) != 1) {
        return SslError("adding serial " + e.serial + " to the CRL");
      }
      revoked.release();  // the CRL owns it now
    }
    IntPtr crl_number(ASN1_INTEGER_new());
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca.get(), nullptr, nullptr, crl.get(), 0);
    ExtPtr akid(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid"));
    if (!crl_number || ASN1_INTEGER_set(crl_number.get(), number) != 1 ||
        X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, crl_number.get(), 0, 0) != 1 || !akid ||
        X509_CRL_add_ext(crl.get(), akid.get(), -1) != 1 || X509_CRL_sort(crl.get()) != 1 ||
        X509_CRL_sign(crl.get(), ca_key.get(), EVP_sha256()) <= 0) {
      return SslError("signing the CRL");
    }
    SP_ASSIGN_OR_RETURN(std::string pem, ToPem(crl.get(), PEM_write_bio_X509_CRL));
    return env->WriteFileAtomic(Path(CertFiles::kCrl), pem);
  }
};

CertAuthority::CertAuthority(std::unique_ptr<State> state) : state_(std::move(state)) {}
CertAuthority::~CertAuthority() = default;
CertAuthority::CertAuthority(CertAuthority&&) noexcept = default;
CertAuthority& CertAuthority::operator=(CertAuthority&&) noexcept = default;

const std::vector<CertEntry>& CertAuthority::index() const {
  return state_->index;
}
int64_t CertAuthority::ca_not_after_s() const {
  return AsnSeconds(X509_get0_notAfter(state_->ca.get()));
}
const std::string& CertAuthority::dir() const {
  return state_->dir;
}

Result<CertAuthority> CertAuthority::Init(Env* env, Clock* clock, const std::string& dir,
                                          const CertsInitOptions& options) {
  SP_RETURN_IF_ERROR(CheckDays(options.days));
  std::vector<std::string> hosts = options.hosts;
  if (hosts.empty()) hosts = {"127.0.0.1", "localhost"};
  for (const std::string& h : hosts) SP_RETURN_IF_ERROR(CheckHost(h));
  auto state = std::make_unique<State>();
  state->env = env;
  state->clock = clock;
  state->dir = dir;
  if (!options.force &&
      (env->FileExists(state->Path(CertFiles::kCaKey)) || env->FileExists(state->Path(CertFiles::kCaCert)))) {
    return Status::InvalidArgument(dir + " already holds a CA (" + CertFiles::kCaCert +
                                   "): refusing to replace it; --force replaces it, and every certificate it "
                                   "issued stops being trusted");
  }
  SP_RETURN_IF_ERROR(env->CreateDirs(state->Path(CertFiles::kDevices)));

  const int64_t now = NowSeconds(clock);
  const int64_t not_before = now - kBackdateSeconds, not_after = now + options.days * kDaySeconds;
  SP_ASSIGN_OR_RETURN(state->ca_key, NewKey());
  SP_ASSIGN_OR_RETURN(BnPtr serial, RandomSerial());
  const CertSpec ca_spec{CertRole::kCa, kCaName, not_before, not_after, {}};
  SP_ASSIGN_OR_RETURN(state->ca, MakeCert(ca_spec, state->ca_key.get(), nullptr, nullptr, serial.get()));
  state->index = {CertEntry{SerialHex(serial.get()), CertRole::kCa, kCaName, not_after, 0}};
  SP_RETURN_IF_ERROR(state->WriteIndex(state->index));
  SP_ASSIGN_OR_RETURN(std::string key_pem, KeyPem(state->ca_key.get()));
  SP_RETURN_IF_ERROR(WriteKeyFile(env, state->Path(CertFiles::kCaKey), key_pem));
  SP_ASSIGN_OR_RETURN(std::string cert_pem, CertPem(state->ca.get()));
  SP_RETURN_IF_ERROR(env->WriteFileAtomic(state->Path(CertFiles::kCaCert), cert_pem));
  // A new CA starts a new CRL: the old one's numbers belong to the old CA.
  if (env->FileExists(state->Path(CertFiles::kCrl))) SP_RETURN_IF_ERROR(env->RemoveFile(state->Path(CertFiles::kCrl)));
  SP_RETURN_IF_ERROR(state->WriteCrl(state->index));

  SP_RETURN_IF_ERROR(state
                         ->IssueCert({CertRole::kServer, hosts.front(), not_before, not_after, hosts},
                                     state->Path(CertFiles::kServerKey), state->Path(CertFiles::kServerCert))
                         .status());
  const std::string service = CertFiles::kService;
  SP_RETURN_IF_ERROR(state
                         ->IssueCert({CertRole::kService, service, not_before, not_after, {}},
                                     state->Path(service + ".key"), state->Path(service + ".crt"))
                         .status());
  return CertAuthority(std::move(state));
}

Result<CertAuthority> CertAuthority::Open(Env* env, Clock* clock, const std::string& dir) {
  auto state = std::make_unique<State>();
  state->env = env;
  state->clock = clock;
  state->dir = dir;
  if (!env->FileExists(state->Path(CertFiles::kCaCert)) || !env->FileExists(state->Path(CertFiles::kCaKey))) {
    return Status::NotFound("no CA in " + dir + ": run `sensorpipe certs init --dir " + dir + "` first");
  }
  SP_ASSIGN_OR_RETURN(state->ca, ReadPem<X509Ptr>(env, state->Path(CertFiles::kCaCert), PEM_read_bio_X509));
  SP_ASSIGN_OR_RETURN(state->ca_key, ReadPem<KeyPtr>(env, state->Path(CertFiles::kCaKey), PEM_read_bio_PrivateKey));
  if (X509_check_private_key(state->ca.get(), state->ca_key.get()) != 1) {
    ERR_clear_error();
    return Status::Corruption(state->Path(CertFiles::kCaKey) + " is not the key of " + state->Path(CertFiles::kCaCert));
  }
  SP_ASSIGN_OR_RETURN(std::string text, env->ReadFile(state->Path(CertFiles::kIndex)));
  SP_ASSIGN_OR_RETURN(state->index, ParseIndex(text, state->Path(CertFiles::kIndex)));
  return CertAuthority(std::move(state));
}

Result<CertEntry> CertAuthority::Issue(const std::string& device, int days) {
  SP_RETURN_IF_ERROR(CheckDeviceId(device));
  SP_RETURN_IF_ERROR(CheckDays(days));
  const int64_t now = NowSeconds(state_->clock);
  for (const CertEntry& e : state_->index) {
    if (e.role == CertRole::kDevice && e.cn == device && !e.revoked_at_s && e.not_after_s > now) {
      return Status::InvalidArgument("device " + device + " already has a live certificate (serial " + e.serial +
                                     ", not after " + FormatCertTime(e.not_after_s) +
                                     "): revoke it first to issue a new one");
    }
  }
  const int64_t not_after = now + days * kDaySeconds;
  if (not_after > ca_not_after_s()) {
    return Status::InvalidArgument("a certificate for " + std::to_string(days) +
                                   " days would outlive the CA (not after " + FormatCertTime(ca_not_after_s()) +
                                   "): use --days " + std::to_string((ca_not_after_s() - now) / kDaySeconds) +
                                   " or less");
  }
  SP_RETURN_IF_ERROR(state_->env->CreateDirs(state_->Path(CertFiles::kDevices)));
  return state_->IssueCert({CertRole::kDevice, device, now - kBackdateSeconds, not_after, {}},
                           state_->DevicePath(device, ".key"), state_->DevicePath(device, ".crt"));
}

Result<std::vector<CertEntry>> CertAuthority::Revoke(const std::string& device) {
  SP_RETURN_IF_ERROR(CheckDeviceId(device));
  const int64_t now = NowSeconds(state_->clock);
  std::vector<CertEntry> next = state_->index, revoked;
  int64_t last_revoked = 0;
  for (CertEntry& e : next) {
    if (e.role != CertRole::kDevice || e.cn != device) continue;
    last_revoked = std::max(last_revoked, e.revoked_at_s);
    if (e.revoked_at_s) continue;
    e.revoked_at_s = now;
    revoked.push_back(e);
  }
  if (revoked.empty() && !last_revoked) {
    return Status::NotFound("unknown device " + device +
                            ": no certificate was issued to it (see `sensorpipe certs ls`)");
  }
  if (revoked.empty()) {
    return Status::InvalidArgument("device " + device + " is already revoked (at " + FormatCertTime(last_revoked) +
                                   ")");
  }
  // CRL first, index second: see docs/format/certs.md.
  SP_RETURN_IF_ERROR(state_->WriteCrl(next));
  SP_RETURN_IF_ERROR(state_->WriteIndex(next));
  state_->index = std::move(next);
  return revoked;
}

}  // namespace sp
