// What a device id may be, everywhere (ingest, the agent, the device CA): 1-128 bytes of
// [A-Za-z0-9._:@-], not "." or "..". It may become part of a file name or a topic, so nothing that
// could escape a folder or add a topic level is allowed.
#pragma once

#include <string_view>

namespace sp {

inline constexpr std::string_view kDeviceIdRule = "1-128 characters of A-Z a-z 0-9 . _ : @ -";

inline bool IsSafeDeviceId(std::string_view id) {
  if (id.empty() || id.size() > 128 || id == "." || id == "..") return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace sp
