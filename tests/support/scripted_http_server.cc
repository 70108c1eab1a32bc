#include "support/scripted_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "support/process.h"

namespace sp::testing {

namespace {

constexpr std::string_view kEndOfHead = "\r\n\r\n";

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

bool StartsWithIgnoreCase(std::string_view line, std::string_view prefix) {
  return line.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), line.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

}  // namespace

std::string CapturedRequest::Method() const {
  return head.substr(0, head.find(' '));
}

std::string CapturedRequest::Target() const {
  const size_t start = head.find(' ') + 1;
  return head.substr(start, head.find(' ', start) - start);
}

std::string CapturedRequest::Header(std::string_view name) const {
  const std::string prefix = std::string(name) + ":";
  for (size_t pos = head.find("\r\n"); pos != std::string::npos && pos + 2 < head.size();) {
    const size_t start = pos + 2;
    const size_t end = head.find("\r\n", start);
    const std::string_view line = std::string_view(head).substr(start, end - start);
    if (StartsWithIgnoreCase(line, prefix)) {
      std::string_view value = line.substr(prefix.size());
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      return std::string(value);
    }
    pos = end;
  }
  return "";
}

Result<std::unique_ptr<ScriptedHttpServer>> ScriptedHttpServer::Start(Handler handler) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("socket", errno);
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::FromErrno("bind/listen on loopback", err);
  }
  std::unique_ptr<ScriptedHttpServer> server(new ScriptedHttpServer(fd, ntohs(addr.sin_port), std::move(handler)));
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

ScriptedHttpServer::~ScriptedHttpServer() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

std::vector<CapturedRequest> ScriptedHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void ScriptedHttpServer::Serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    ServeOne(conn);
    ::close(conn);
  }
}

void ScriptedHttpServer::ServeOne(int conn) {
  timeval timeout{5, 0};  // a client that stops sending must not hang the tests
  ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string data;
  char buf[65536];
  size_t head_end;
  while ((head_end = data.find(kEndOfHead)) == std::string::npos) {
    const ssize_t n = ::recv(conn, buf, sizeof buf, 0);
    if (n <= 0) return;
    data.append(buf, static_cast<size_t>(n));
  }
  CapturedRequest request;
  request.head = data.substr(0, head_end + kEndOfHead.size());
  request.body = data.substr(request.head.size());
  const std::string length = request.Header("Content-Length");
  const size_t want = length.empty() ? 0 : std::stoul(length);
  // curl holds back a large body until the server agrees to take it.
  if (StartsWithIgnoreCase(request.Header("Expect"), "100-continue") && request.body.size() < want &&
      !SendAll(conn, "HTTP/1.1 100 Continue\r\n\r\n")) {
    return;
  }
  while (request.body.size() < want) {
    const ssize_t n = ::recv(conn, buf, sizeof buf, 0);
    if (n <= 0) return;
    request.body.append(buf, static_cast<size_t>(n));
  }
  int index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = static_cast<int>(requests_.size());
    requests_.push_back(request);
  }
  SendAll(conn, handler_(request, index));
}

std::string HttpAnswer(int status, std::string_view body, std::string_view extra_headers) {
  return "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

std::string ForwardTo(int port, const CapturedRequest& request) {
  std::string head;
  size_t start = 0;
  for (size_t end; (end = request.head.find("\r\n", start)) != std::string::npos; start = end + 2) {
    const std::string_view line = std::string_view(request.head).substr(start, end - start);
    if (line.empty()) break;
    if (StartsWithIgnoreCase(line, "Expect:") || StartsWithIgnoreCase(line, "Connection:")) continue;
    head += std::string(line) + "\r\n";
    if (start == 0) head += "Connection: close\r\n";
  }
  head += "\r\n";
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(port);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && SendAll(fd, head) &&
      SendAll(fd, request.body)) {
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

}  // namespace sp::testing
