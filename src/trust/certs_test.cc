// The device CA checked by OpenSSL's own verification (X509_verify_cert with the CRL): what the CA
// issues verifies as a TLS client, what it revokes fails with X509_V_ERR_CERT_REVOKED, the
// certificates say what docs/format/certs.md says, keys are 0600, and bad input gets a clear error.
#include "trust/certs.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "common/testing.h"
#include "trust/broker_config.h"
#include "trust/openssl_ptr.h"

namespace sp {
namespace {

using ::sp::testing::ManualClock;
using ::sp::testing::TempDir;

template <typename Ptr, typename Read>
Ptr ReadPem(const std::string& path, Read read) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  return Ptr(bio ? read(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}
X509Ptr Cert(const std::string& path) {
  return ReadPem<X509Ptr>(path, PEM_read_bio_X509);
}
CrlPtr Crl(const std::string& path) {
  return ReadPem<CrlPtr>(path, PEM_read_bio_X509_CRL);
}

// X509_V_OK when cert_path verifies as a TLS client certificate against dir's CA and CRL, at the
// real time; else OpenSSL's verification error.
int Verify(const std::string& dir, const std::string& cert_path) {
  std::unique_ptr<X509_STORE, OpenSslFree<X509_STORE_free>> store(X509_STORE_new());
  X509Ptr ca = Cert(dir + "/ca.crt"), cert = Cert(cert_path);
  CrlPtr crl = Crl(dir + "/crl.pem");
  EXPECT_TRUE(ca && cert && crl);
  if (!ca || !cert || !crl) return -1;
  X509_STORE_add_cert(store.get(), ca.get());
  X509_STORE_add_crl(store.get(), crl.get());
  X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  std::unique_ptr<X509_STORE_CTX, OpenSslFree<X509_STORE_CTX_free>> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  return X509_verify_cert(ctx.get()) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
}

std::string CommonName(X509* cert) {
  char cn[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  return cn;
}

long CrlNumber(X509_CRL* crl) {
  IntPtr n(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
  return n ? ASN1_INTEGER_get(n.get()) : -1;
}

int RevokedCount(X509_CRL* crl) {
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl);
  return revoked ? sk_X509_REVOKED_num(revoked) : 0;
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

std::string Message(const Status& s) {
  return std::string(s.message());
}

class CertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(auto ca, CertAuthority::Init(Env::Default(), Clock::Default(), dir_.path(), {}));
    ca_ = std::make_unique<CertAuthority>(std::move(ca));
  }
  std::string Path(const std::string& name) const { return dir_.Sub(name); }

  TempDir dir_;
  std::unique_ptr<CertAuthority> ca_;
};

TEST_F(CertsTest, InitMakesACaAServerAndTheServiceIdentity) {
  X509Ptr ca = Cert(Path("ca.crt"));
  ASSERT_TRUE(ca);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_get_key_usage(ca.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(X509_check_issued(ca.get(), ca.get()), X509_V_OK);  // self-signed
  EVP_PKEY* key = X509_get0_pubkey(ca.get());
  char group[64] = {0};
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof group, nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");

  // The broker's certificate: for 127.0.0.1 and localhost, serverAuth only.
  X509Ptr server = Cert(Path("server.crt"));
  ASSERT_TRUE(server);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(server.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_get_extended_key_usage(server.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_NE(Verify(dir_.path(), Path("server.crt")), X509_V_OK);  // cannot act as a client

  // sensorpipe's own client certificate.
  X509Ptr service = Cert(Path("sensorpipe.crt"));
  ASSERT_TRUE(service);
  EXPECT_EQ(CommonName(service.get()), "sensorpipe");
  EXPECT_EQ(Verify(dir_.path(), Path("sensorpipe.crt")), X509_V_OK);

  CrlPtr crl = Crl(Path("crl.pem"));
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_verify(crl.get(), key), 1);
  EXPECT_EQ(RevokedCount(crl.get()), 0);
  EXPECT_EQ(CrlNumber(crl.get()), 1);
  // OpenSSL refuses every client once the CRL's nextUpdate passes: it lasts as long as the CA.
  EXPECT_EQ(ASN1_TIME_compare(X509_CRL_get0_nextUpdate(crl.get()), X509_get0_notAfter(ca.get())), 0);

  for (const char* k : {"ca.key", "server.key", "sensorpipe.key"}) EXPECT_EQ(Mode(Path(k)), 0600u) << k;
  ASSERT_EQ(ca_->index().size(), 3u);
  EXPECT_EQ(ca_->index()[0].role, CertRole::kCa);
  EXPECT_EQ(ca_->index()[1].role, CertRole::kServer);
  EXPECT_EQ(ca_->index()[2].cn, "sensorpipe");
}

TEST_F(CertsTest, TheServerCertificateNamesEveryHost) {
  TempDir other;
  CertsInitOptions options;
  options.hosts = {"broker.local", "192.168.1.10", "::1"};
  ASSERT_OK(CertAuthority::Init(Env::Default(), Clock::Default(), other.path(), options).status());
  X509Ptr server = Cert(other.Sub("server.crt"));
  ASSERT_TRUE(server);
  EXPECT_EQ(CommonName(server.get()), "broker.local");
  EXPECT_EQ(X509_check_host(server.get(), "broker.local", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "192.168.1.10", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
}

TEST_F(CertsTest, AnIssuedCertificateVerifiesAndARevokedOneDoesNot) {
  ASSERT_OK_AND_ASSIGN(CertEntry a, ca_->Issue("pi-a", 30));
  ASSERT_OK_AND_ASSIGN(CertEntry b, ca_->Issue("pi-b", 30));
  const std::string a_crt = Path("devices/pi-a.crt"), b_crt = Path("devices/pi-b.crt");
  EXPECT_EQ(Verify(dir_.path(), a_crt), X509_V_OK);
  EXPECT_EQ(Verify(dir_.path(), b_crt), X509_V_OK);
  EXPECT_EQ(Mode(Path("devices/pi-a.key")), 0600u);

  X509Ptr cert = Cert(a_crt);
  ASSERT_TRUE(cert);
  EXPECT_EQ(CommonName(cert.get()), "pi-a");
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  // A random 128-bit serial, as the index records it.
  BnPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  EXPECT_EQ(BN_num_bits(serial.get()), 128);
  char* hex = BN_bn2hex(serial.get());
  std::string upper = a.serial;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(hex, upper);
  OPENSSL_free(hex);
  EXPECT_NE(a.serial, b.serial);
  TimePtr not_after(ASN1_TIME_set(nullptr, a.not_after_s));
  EXPECT_EQ(ASN1_TIME_compare(not_after.get(), X509_get0_notAfter(cert.get())), 0);

  ASSERT_OK_AND_ASSIGN(std::vector<CertEntry> revoked, ca_->Revoke("pi-a"));
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0].serial, a.serial);
  EXPECT_EQ(Verify(dir_.path(), a_crt), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(Verify(dir_.path(), b_crt), X509_V_OK);
  CrlPtr crl = Crl(Path("crl.pem"));
  ASSERT_TRUE(crl);
  EXPECT_EQ(CrlNumber(crl.get()), 2);
  EXPECT_EQ(RevokedCount(crl.get()), 1);

  // Revoked, the device may get a new certificate, which verifies; the old one stays revoked.
  ASSERT_OK(ca_->Issue("pi-a", 30).status());
  EXPECT_EQ(Verify(dir_.path(), a_crt), X509_V_OK);
  ASSERT_OK(ca_->Revoke("pi-b").status());
  EXPECT_EQ(Verify(dir_.path(), a_crt), X509_V_OK);
  EXPECT_EQ(Verify(dir_.path(), b_crt), X509_V_ERR_CERT_REVOKED);
  crl = Crl(Path("crl.pem"));
  EXPECT_EQ(RevokedCount(crl.get()), 2);
  EXPECT_EQ(CrlNumber(crl.get()), 3);
}

TEST_F(CertsTest, TheIndexIsReadBackAsWritten) {
  ASSERT_OK(ca_->Issue("pi-a", 30).status());
  ASSERT_OK(ca_->Revoke("pi-a").status());
  ASSERT_OK_AND_ASSIGN(CertAuthority reopened, CertAuthority::Open(Env::Default(), Clock::Default(), dir_.path()));
  ASSERT_EQ(reopened.index().size(), ca_->index().size());
  for (size_t i = 0; i < reopened.index().size(); ++i) {
    const CertEntry &x = reopened.index()[i], &y = ca_->index()[i];
    EXPECT_EQ(x.serial, y.serial);
    EXPECT_EQ(x.role, y.role);
    EXPECT_EQ(x.cn, y.cn);
    EXPECT_EQ(x.not_after_s, y.not_after_s);
    EXPECT_EQ(x.revoked_at_s, y.revoked_at_s);
  }
  EXPECT_NE(reopened.index().back().revoked_at_s, 0);
  const std::string text = ::sp::testing::ReadFile(Path("index.txt"));
  EXPECT_EQ(text.rfind("# sensorpipe certs index v1", 0), 0u) << text;
  EXPECT_NE(text.find(" device pi-a "), std::string::npos) << text;
}

TEST_F(CertsTest, ACertificateIssuedInThePastHasExpired) {
  // The CA's clock one year back: a one-day certificate issued then is long expired now.
  ManualClock past(Clock::Default()->NowMicros() - 365LL * 86400 * 1'000'000);
  ASSERT_OK_AND_ASSIGN(CertAuthority ca, CertAuthority::Open(Env::Default(), &past, dir_.path()));
  ASSERT_OK(ca.Issue("pi-old", 1).status());
  EXPECT_EQ(Verify(dir_.path(), Path("devices/pi-old.crt")), X509_V_ERR_CERT_HAS_EXPIRED);
  // Expired, it no longer blocks a new certificate for the device.
  ASSERT_OK_AND_ASSIGN(CertAuthority now, CertAuthority::Open(Env::Default(), Clock::Default(), dir_.path()));
  ASSERT_OK(now.Issue("pi-old", 1).status());
  EXPECT_EQ(Verify(dir_.path(), Path("devices/pi-old.crt")), X509_V_OK);
}

TEST_F(CertsTest, BadInputGetsAClearError) {
  TempDir empty;
  Status s = CertAuthority::Open(Env::Default(), Clock::Default(), empty.path()).status();
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_NE(Message(s).find("sensorpipe certs init --dir"), std::string::npos) << s.ToString();

  s = CertAuthority::Init(Env::Default(), Clock::Default(), dir_.path(), {}).status();
  EXPECT_NE(Message(s).find("already holds a CA"), std::string::npos) << s.ToString();
  const std::string old_ca = ::sp::testing::ReadFile(Path("ca.crt"));
  CertsInitOptions force;
  force.force = true;
  ASSERT_OK_AND_ASSIGN(CertAuthority replaced,
                       CertAuthority::Init(Env::Default(), Clock::Default(), dir_.path(), force));
  EXPECT_NE(::sp::testing::ReadFile(Path("ca.crt")), old_ca);
  EXPECT_EQ(replaced.index().size(), 3u);

  CertsInitOptions bad;
  bad.hosts = {"bad host"};
  EXPECT_NE(Message(CertAuthority::Init(Env::Default(), Clock::Default(), empty.path(), bad).status()).find("--host"),
            std::string::npos);
  bad.hosts = {};
  bad.days = 0;
  EXPECT_NE(Message(CertAuthority::Init(Env::Default(), Clock::Default(), empty.path(), bad).status()).find("--days"),
            std::string::npos);
  EXPECT_FALSE(Env::Default()->FileExists(empty.Sub("ca.key")));

  for (const std::string& id : {std::string(""), std::string("a/b"), std::string("a b"), std::string("sensor/#"),
                                std::string(".."), std::string(129, 'x')}) {
    s = replaced.Issue(id, 30).status();
    EXPECT_NE(Message(s).find("must be 1-128 characters"), std::string::npos) << id << ": " << s.ToString();
  }
  EXPECT_NE(Message(replaced.Issue("sensorpipe", 30).status()).find("sensorpipe's own identity"), std::string::npos);
  EXPECT_NE(Message(replaced.Issue("pi", 40000).status()).find("--days"), std::string::npos);
  EXPECT_NE(Message(replaced.Issue("pi", 3651).status()).find("would outlive the CA"), std::string::npos);

  ASSERT_OK(replaced.Issue("pi", 30).status());
  EXPECT_NE(Message(replaced.Issue("pi", 30).status()).find("already has a live certificate"), std::string::npos);
  s = replaced.Revoke("nobody").status();
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(Message(s).find("unknown device nobody"), std::string::npos);
  ASSERT_OK(replaced.Revoke("pi").status());
  EXPECT_NE(Message(replaced.Revoke("pi").status()).find("already revoked"), std::string::npos);

  // A damaged index names its file and line.
  ASSERT_OK(Env::Default()->WriteFileAtomic(Path("index.txt"),
                                            "# sensorpipe certs index v1\nabc device pi 2030-01-01T00:00:00Z\n"));
  s = CertAuthority::Open(Env::Default(), Clock::Default(), dir_.path()).status();
  EXPECT_NE(Message(s).find("index.txt:2: expected 5 fields"), std::string::npos) << s.ToString();
  ASSERT_OK(Env::Default()->WriteFileAtomic(Path("index.txt"),
                                            "# sensorpipe certs index v1\nabc device pi 2030-13-01T00:00:00Z -\n"));
  s = CertAuthority::Open(Env::Default(), Clock::Default(), dir_.path()).status();
  EXPECT_NE(Message(s).find("index.txt:2:"), std::string::npos) << s.ToString();
}

TEST(BrokerConfig, NeedsACaAndWritesTheAclBesideTheConfig) {
  TempDir dir;
  BrokerConfigOptions options;
  options.certs_dir = dir.Sub("certs");
  options.port = 18883;
  options.out = dir.Sub("broker/mosquitto.conf");
  Status s = WriteBrokerConfig(Env::Default(), options).status();
  EXPECT_NE(Message(s).find("sensorpipe certs init --dir"), std::string::npos) << s.ToString();

  ASSERT_OK(CertAuthority::Init(Env::Default(), Clock::Default(), options.certs_dir, {}).status());
  ASSERT_OK_AND_ASSIGN(BrokerConfigFiles files, WriteBrokerConfig(Env::Default(), options));
  EXPECT_EQ(files.acl, dir.Sub("broker/mosquitto.acl"));
  EXPECT_EQ(files.data_dir, dir.Sub("broker/mosquitto-data"));
  const std::string conf = ::sp::testing::ReadFile(files.conf);
  for (const std::string& line : std::vector<std::string>{
           "listener 18883 127.0.0.1\n", "require_certificate true\n", "use_identity_as_username true\n",
           "use_username_as_clientid true\n", "allow_anonymous false\n", "acl_file " + files.acl + "\n",
           "crlfile " + options.certs_dir + "/crl.pem\n", "persistence true\n", "max_queued_messages 1000000\n"}) {
    EXPECT_NE(conf.find(line), std::string::npos) << line << " in\n" << conf;
  }
  // Listener options before the listener line would open a default listener on 1883 and not apply.
  const size_t listener = conf.find("\nlistener ");
  for (const char* option :
       {"\ncafile", "\nrequire_certificate", "\nuse_identity_as_username", "\nuse_username_as_clientid", "\ncrlfile"}) {
    EXPECT_GT(conf.find(option), listener) << option;
  }
  EXPECT_NE(::sp::testing::ReadFile(files.acl).find("\npattern write sensor/%u/+/#\n"), std::string::npos);
  EXPECT_EQ(AclPathFor("x"), "x.acl");
}

}  // namespace
}  // namespace sp
