// Shared by the fuzz targets: the invariant every record must keep, checked after each input.
#pragma once

#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace sp::fuzz {

//! Aborts (a finding) unless line is one valid JSON object.
inline void CheckJsonObject(std::string_view line, const char* what) {
  static simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(line.data(), line.size()).get(e) != simdjson::SUCCESS || !e.is_object()) {
    std::fprintf(stderr, "%s is not a JSON object: %.*s\n", what, static_cast<int>(line.size()), line.data());
    std::abort();
  }
}

}  // namespace sp::fuzz
