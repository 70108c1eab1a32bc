// A scripted HTTP/1.1 server on a loopback port, for what a real server cannot be made to do on
// demand: answer 503, drop a connection, or show the exact bytes a client sent. Each request gets
// its own connection (every answer says Connection: close); requests are served one at a time.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"

namespace sp::testing {

struct CapturedRequest {
  std::string head;  // request line and header lines as received, up to and including the blank line
  std::string body;

  //! "GET", "PUT", ...
  std::string Method() const;
  //! The request target: path and query.
  std::string Target() const;
  //! The value of the first header called name (any case), without surrounding blanks; "" if none.
  std::string Header(std::string_view name) const;
};

class ScriptedHttpServer {
 public:
  //! Returns the raw bytes to answer request number index (from 0) with; empty closes the
  //! connection without an answer.
  using Handler = std::function<std::string(const CapturedRequest& request, int index)>;
  static Result<std::unique_ptr<ScriptedHttpServer>> Start(Handler handler);
  ~ScriptedHttpServer();
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  //! Every request received so far, in order.
  std::vector<CapturedRequest> requests() const;

 private:
  ScriptedHttpServer(int fd, int port, Handler handler) : fd_(fd), port_(port), handler_(std::move(handler)) {}
  void Serve();
  void ServeOne(int conn);

  const int fd_;
  const int port_;
  const Handler handler_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<CapturedRequest> requests_;  // guarded by mu_
  std::thread thread_;
};

//! A whole answer: status line, Content-Length, Connection: close, extra_headers ("Name: value\r\n"
//! each), then body.
std::string HttpAnswer(int status, std::string_view body, std::string_view extra_headers = "");
//! Sends request on to 127.0.0.1:port as it came, but with Connection: close and without Expect,
//! and returns the whole answer; an empty string when the upstream cannot be reached.
std::string ForwardTo(int port, const CapturedRequest& request);

}  // namespace sp::testing
