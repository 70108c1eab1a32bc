#include "mqtt/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

namespace sp {

namespace {

std::string OpenSslError(const std::string& what) {
  std::string msg = what;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  return msg;
}

class TlsTransport final : public MqttTransport {
 public:
  TlsTransport(std::unique_ptr<MqttTransport> tcp, SSL_CTX* ctx, SSL* ssl) : tcp_(std::move(tcp)), ctx_(ctx), ssl_(ssl) {}
  ~TlsTransport() override {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  Result<size_t> Read(char* buf, size_t n) override {
    ERR_clear_error();
    const int got = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(n, 1 << 30)));
    if (got > 0) {
      want_write_ = false;
      return static_cast<size_t>(got);
    }
    return Failure(got, "TLS read");
  }

  Result<size_t> Write(std::string_view bytes) override {
    if (bytes.empty()) return size_t{0};
    ERR_clear_error();
    const int put = SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<size_t>(bytes.size(), 1 << 30)));
    if (put > 0) return static_cast<size_t>(put);
    return Failure(put, "TLS write");
  }

  int fd() const override { return tcp_->fd(); }
  short ReadEvents() const override { return want_write_ ? (POLLIN | POLLOUT) : POLLIN; }
  // Decrypted bytes OpenSSL holds are invisible to poll(): the client must read them first.
  bool HasPending() const override { return SSL_pending(ssl_) > 0; }

 private:
  Result<size_t> Failure(int rc, const char* what) {
    switch (SSL_get_error(ssl_, rc)) {
      case SSL_ERROR_WANT_READ:
        want_write_ = false;
        return size_t{0};
      case SSL_ERROR_WANT_WRITE:
        want_write_ = true;
        return size_t{0};
      case SSL_ERROR_ZERO_RETURN:
        return Status::Unavailable("the broker closed the TLS connection");
      default:
        return Status::IOError(OpenSslError(what));
    }
  }

  std::unique_ptr<MqttTransport> tcp_;  // owns the socket
  SSL_CTX* ctx_;
  SSL* ssl_;
  bool want_write_ = false;
};

}  // namespace

Result<std::unique_ptr<MqttTransport>> ConnectTls(const std::string& host, int port, const TlsOptions& tls,
                                                  std::chrono::milliseconds timeout, int wake_fd, Clock* clock) {
  const int64_t deadline = clock->MonotonicMicros() + timeout.count() * 1000;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Status::IOError(OpenSslError("SSL_CTX_new"));
  auto fail = [&](const std::string& what) {
    SSL_CTX_free(ctx);
    return Status::Unavailable(OpenSslError(what));
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (tls.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx) != 1
                          : SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1) {
    return fail("cannot load the CA certificates " + (tls.ca_file.empty() ? "of the system" : tls.ca_file));
  }
  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.empty() ? tls.cert_file.c_str() : tls.key_file.c_str(),
                                    SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return fail("cannot use the client certificate " + tls.cert_file + " with its key");
    }
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

  auto tcp = ConnectTcp(host, port, timeout, wake_fd, clock);
  if (!tcp.ok()) {
    SSL_CTX_free(ctx);
    return tcp.status();
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, (*tcp)->fd());
  // The certificate must name what we connected to: an IP address, or a host name (also sent as SNI).
  in6_addr addr;
  if (inet_pton(AF_INET, host.c_str(), &addr) == 1 || inet_pton(AF_INET6, host.c_str(), &addr) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set1_host(ssl, host.c_str());
  }
  auto transport = std::make_unique<TlsTransport>(std::move(tcp).value(), ctx, ssl);
  while (true) {
    ERR_clear_error();
    const int rc = SSL_connect(ssl);
    if (rc == 1) break;
    const int err = SSL_get_error(ssl, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      const long verify = SSL_get_verify_result(ssl);
      std::string why = OpenSslError("TLS handshake with " + host + ":" + std::to_string(port));
      if (verify != X509_V_OK) why += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
      return Status::Unavailable(why);
    }
    switch (WaitFd(transport->fd(), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, wake_fd, deadline, clock)) {
      case WaitResult::kReady: break;
      case WaitResult::kTimeout: return Status::Unavailable("TLS handshake with " + host + " timed out");
      case WaitResult::kWoken: return Status::Aborted("woken during the TLS handshake");
    }
  }
  return std::unique_ptr<MqttTransport>(std::move(transport));
}

}  // namespace sp
