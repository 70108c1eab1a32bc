// The byte stream under the MQTT client. Plain TCP today; TLS (OpenSSL on the same non-blocking
// socket, server verification, optional client certificate) is a second implementation of this
// interface, so the client and the codec do not change when it comes (issue 4).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/env.h"
#include "common/status.h"

namespace sp {

class MqttTransport {
 public:
  virtual ~MqttTransport() = default;
  //! Reads what is available without blocking: the bytes read (0 when none are ready now), or
  //! Unavailable when the peer closed, IOError on a socket error.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  //! Writes without blocking: the bytes taken (maybe fewer than given, 0 when the buffer is full).
  virtual Result<size_t> Write(std::string_view bytes) = 0;
  //! The descriptor to poll().
  virtual int fd() const = 0;
  //! poll() events that mean Read can make progress (TLS may need POLLOUT during a renegotiation).
  virtual short ReadEvents() const;
  //! True when bytes are buffered inside the transport, which poll() cannot see (TLS records).
  virtual bool HasPending() const { return false; }
};

//! Outcome of waiting on a descriptor alongside the client's wakeup eventfd.
enum class WaitResult { kReady, kTimeout, kWoken };
//! Waits until fd has one of events, deadline_us (monotonic, of clock) passes, or wake_fd is
//! readable (then drained). fd < 0 waits on wake_fd alone.
WaitResult WaitFd(int fd, short events, int wake_fd, int64_t deadline_us, Clock* clock);

//! Opens a TCP connection: TCP_NODELAY set before connect() (else Nagle and delayed ACKs put a
//! 40 ms floor under latency), a non-blocking socket, at most `timeout` to connect. Aborted when
//! wake_fd fires meanwhile.
Result<std::unique_ptr<MqttTransport>> ConnectTcp(const std::string& host, int port, std::chrono::milliseconds timeout,
                                                  int wake_fd, Clock* clock);

}  // namespace sp
