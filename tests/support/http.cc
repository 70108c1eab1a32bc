#include "support/http.h"

#include <httplib.h>

namespace sp::testing {

Result<HttpResponse> HttpGet(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  auto res = client.Get(path);
  if (!res) return Status::Unavailable("GET " + path + ": " + httplib::to_string(res.error()));
  return HttpResponse{res->status, res->body, res->get_header_value("Content-Type")};
}

Result<HttpResponse> HttpPost(int port, const std::string& path, const std::string& body, const std::string& token,
                              const std::string& content_type) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(60);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto res = client.Post(path, headers, body, content_type);
  if (!res) return Status::Unavailable("POST " + path + ": " + httplib::to_string(res.error()));
  return HttpResponse{res->status, res->body, res->get_header_value("Content-Type")};
}

}  // namespace sp::testing
