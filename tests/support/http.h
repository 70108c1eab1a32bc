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

}  // namespace sp::testing
