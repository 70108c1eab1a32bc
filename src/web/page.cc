// The dashboard: GET / is the page, GET /assets/<name> its script, styles, chart library and font,
// all embedded in the binary (assets.h), so the page makes no request outside the daemon. The
// page draws everything from the JSON API (docs/api.md) in the browser.
#include <httplib.h>

#include <string>

#include "web/assets.h"
#include "web/server.h"

namespace sp {

namespace {

// The names are not versioned, so a browser must ask again each time (no-cache) but may reuse
// its copy when the ETag still matches: an upgraded daemon never serves a stale page, and an
// unchanged one answers 304 without a body.
void Serve(const Asset& asset, const httplib::Request& req, httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("ETag", std::string(asset.etag));
  res.set_header("X-Content-Type-Options", "nosniff");
  if (req.get_header_value("If-None-Match") == asset.etag) {
    res.status = 304;
    return;
  }
  res.set_content(asset.body.data(), asset.body.size(), std::string(asset.content_type));
}

}  // namespace

void WebServer::RegisterPage() {
  server_->Get("/", [this](const httplib::Request& req, httplib::Response& res) {
    requests_->Inc();
    const Asset* page = FindAsset("/index.html");
    if (page == nullptr) {
      res.status = 500;
      return;
    }
    // The page loads nothing from elsewhere; say so to the browser too.
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; "
                   "frame-ancestors 'none'");
    Serve(*page, req, res);
  });
  server_->Get(R"(/assets/[^/]+)", [this](const httplib::Request& req, httplib::Response& res) {
    requests_->Inc();
    const Asset* asset = FindAsset(req.path);
    if (asset == nullptr) {
      res.status = 404;
      res.set_content("{\"error\":\"no such asset\"}\n", "application/json");
      return;
    }
    Serve(*asset, req, res);
  });
}

}  // namespace sp
