// Small output helpers shared by the rules (normalised records), the query formatter, the web API,
// S3's XML and the report's HTML: JSON and XML escaping, shortest round-trip doubles, UTF-8
// validation and base64.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sp {

//! Appends s as a quoted JSON string; control characters become \u00XX, valid UTF-8 passes
//! through unchanged. The caller checks validity first (IsValidUtf8) when it matters.
void AppendJsonString(std::string& out, std::string_view s);
//! The body of every HTTP error answer (docs/api.md): {"error":"<message>"} and a newline.
std::string JsonError(std::string_view message);
//! Appends the shortest decimal form that reads back as the same double ("39.743", "1e-07").
//! Non-finite values have no JSON form and are written as null.
void AppendDouble(std::string& out, double v);
//! The same written at p, which has room for kMaxDoubleChars; returns the end. With the Write
//! forms a hot path makes room once and writes through a pointer (see ReadingMapper::Map).
inline constexpr size_t kMaxDoubleChars = 32;
char* WriteDouble(char* p, double v);
//! AppendJsonString's text written at p, which has room for JsonStringRoom(s); returns the end.
constexpr size_t JsonStringRoom(std::string_view s) { return 2 + 6 * s.size(); }
char* WriteJsonString(char* p, std::string_view s);
bool IsValidUtf8(std::string_view s);
std::string Base64Encode(std::string_view data);
//! text with & < > " escaped, for XML or HTML text and double-quoted attributes.
std::string XmlEscape(std::string_view text);

}  // namespace sp
