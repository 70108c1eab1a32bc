// The agent's health and metrics over HTTP (`[agent] metrics_listen`): GET /metrics in the
// Prometheus text format, /healthz (the process answers) and /readyz (connected to the broker).
// One thread serving one short request at a time, which is all a scraper needs, so the agent
// stays small on a Pi (the daemon's HTTP server brings a thread pool the agent does not need).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "common/status.h"

namespace sp {

class StatusServer {
 public:
  //! Answers a GET of path with (status, body); runs on the server's thread.
  using Handler = std::function<std::pair<int, std::string>(std::string_view path)>;
  //! Listens on host:port (port 0: any free port) and serves from a thread of its own.
  static Result<std::unique_ptr<StatusServer>> Start(const std::string& host, int port, Handler handler);
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  int port() const { return port_; }

 private:
  StatusServer(int fd, int port, Handler handler) : fd_(fd), port_(port), handler_(std::move(handler)) {}
  void Serve();
  void Answer(int client);

  const int fd_;
  const int port_;
  const Handler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sp
