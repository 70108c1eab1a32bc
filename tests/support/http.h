// A tiny HTTP GET for tests of the daemon's listener.
#pragma once

#include <string>

#include "common/status.h"

namespace sp::testing {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
};
//! GET http://127.0.0.1:port/path; Unavailable when nothing answers.
Result<HttpResponse> HttpGet(int port, const std::string& path);
//! POST body to http://127.0.0.1:port/path with a bearer token (when not empty).
Result<HttpResponse> HttpPost(int port, const std::string& path, const std::string& body, const std::string& token,
                              const std::string& content_type = "application/x-ndjson");

}  // namespace sp::testing
