#include "mqtt/transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sp {

namespace {

class TcpTransport final : public MqttTransport {
 public:
  explicit TcpTransport(int fd) : fd_(fd) {}
  ~TcpTransport() override { ::close(fd_); }

  Result<size_t> Read(char* buf, size_t n) override {
    while (true) {
      const ssize_t got = ::recv(fd_, buf, n, 0);
      if (got > 0) return static_cast<size_t>(got);
      if (got == 0) return Status::Unavailable("the broker closed the connection");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
      return Status::FromErrno("recv from the broker", errno);
    }
  }

  Result<size_t> Write(std::string_view bytes) override {
    while (true) {
      const ssize_t put = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (put >= 0) return static_cast<size_t>(put);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
      return Status::FromErrno("send to the broker", errno);
    }
  }

  int fd() const override { return fd_; }

 private:
  const int fd_;
};

}  // namespace

short MqttTransport::ReadEvents() const {
  return POLLIN;
}

WaitResult WaitFd(int fd, short events, int wake_fd, int64_t deadline_us, Clock* clock) {
  while (true) {
    pollfd p[2] = {{wake_fd, POLLIN, 0}, {fd, events, 0}};
    const int64_t left_us = deadline_us - clock->MonotonicMicros();
    if (left_us <= 0) return WaitResult::kTimeout;
    // Round up, so a wait of 300 us does not spin as 0 ms polls.
    const int ms = static_cast<int>(std::min<int64_t>((left_us + 999) / 1000, 60'000));
    const int n = ::poll(p, fd >= 0 ? 2 : 1, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0 && (p[0].revents & POLLIN)) {
      uint64_t v;
      (void)!::read(wake_fd, &v, sizeof v);
      return WaitResult::kWoken;
    }
    // Errors and hang-ups count as ready: the next read or write reports them.
    if (n > 0 && fd >= 0 && (p[1].revents & (events | POLLHUP | POLLERR | POLLNVAL))) return WaitResult::kReady;
  }
}

Result<std::unique_ptr<MqttTransport>> ConnectTcp(const std::string& host, int port, std::chrono::milliseconds timeout,
                                                  int wake_fd, Clock* clock) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const std::string where = host + ":" + service;
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    return Status::Unavailable("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  const int64_t deadline = clock->MonotonicMicros() + timeout.count() * 1000;
  Status last = Status::Unavailable("no address for " + host);
  std::unique_ptr<MqttTransport> out;
  for (addrinfo* ai = res; ai != nullptr && out == nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = Status::FromErrno("socket", errno);
      continue;
    }
    auto transport = std::make_unique<TcpTransport>(fd);  // closes fd on every early exit
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = Status::FromErrno("connect to " + where, errno);
      continue;
    }
    const WaitResult w = WaitFd(fd, POLLOUT, wake_fd, deadline, clock);
    if (w == WaitResult::kWoken) {
      last = Status::Aborted("connect interrupted by Wakeup");
      break;
    }
    if (w == WaitResult::kTimeout) {
      last = Status::Unavailable("connect to " + where + " timed out");
      continue;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      last = Status::FromErrno("connect to " + where, err);
      continue;
    }
    out = std::move(transport);
  }
  ::freeaddrinfo(res);
  if (out == nullptr) return last;
  return out;
}

}  // namespace sp
