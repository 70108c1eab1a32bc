// The dashboard's files, embedded into the binary at build time (embed_assets.cmake): our page
// (page/index.html, app.js, app.css), the uPlot chart library and the Inter font, both from npm
// (scripts/fetch-web-deps.sh). The daemon serves them itself, so the page needs no outside network.
#pragma once

#include <string_view>

namespace sp {

struct Asset {
  std::string_view path;          // the URL path it is served at: "/index.html", "/assets/app.js"
  std::string_view content_type;  // with charset for text
  std::string_view body;
  std::string_view etag;          // quoted, from the file's SHA-256
};

//! The embedded file served at path, or nullptr.
const Asset* FindAsset(std::string_view path);

}  // namespace sp
