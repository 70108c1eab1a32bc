// TLS under the MQTT client (mqtts://): OpenSSL on the same non-blocking socket as plain TCP.
// The broker's certificate is verified against ca_file (or the system's trust store) and its name
// or IP against the host connected to; cert_file and key_file add a client certificate for
// brokers that require one (mutual TLS, one certificate per device).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "mqtt/transport.h"

namespace sp {

struct TlsOptions {
  std::string ca_file;    // PEM; empty: the system's trust store
  std::string cert_file;  // PEM client certificate (chain); empty: none
  std::string key_file;   // PEM private key of cert_file
};

//! Connects over TCP (ConnectTcp) and completes a TLS handshake within `timeout`.
Result<std::unique_ptr<MqttTransport>> ConnectTls(const std::string& host, int port, const TlsOptions& tls,
                                                  std::chrono::milliseconds timeout, int wake_fd, Clock* clock);

}  // namespace sp
