#include "common/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace sp {

std::string JsonError(std::string_view message) {
  std::string out = "{\"error\":";
  AppendJsonString(out, message);
  return out + "}\n";
}

void AppendJsonString(std::string& out, std::string_view s) {
  const size_t at = out.size();
  out.resize(at + JsonStringRoom(s));
  out.resize(static_cast<size_t>(WriteJsonString(out.data() + at, s) - out.data()));
}

char* WriteJsonString(char* p, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  *p++ = '"';
  // Runs that need no escape (all of a device id or a topic, as a rule) are copied whole.
  size_t run = 0;
  auto copy_run = [&](size_t end) {
    std::memcpy(p, s.data() + run, end - run);
    p += end - run;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) continue;
    copy_run(i);
    run = i + 1;
    *p++ = '\\';
    switch (c) {
      case '"': *p++ = '"'; break;
      case '\\': *p++ = '\\'; break;
      case '\n': *p++ = 'n'; break;
      case '\r': *p++ = 'r'; break;
      case '\t': *p++ = 't'; break;
      default:
        *p++ = 'u';
        *p++ = '0';
        *p++ = '0';
        *p++ = kHex[c >> 4];
        *p++ = kHex[c & 0xf];
    }
  }
  copy_run(s.size());
  *p++ = '"';
  return p;
}

void AppendDouble(std::string& out, double v) {
  char buf[kMaxDoubleChars];
  out.append(buf, WriteDouble(buf, v));
}

char* WriteDouble(char* p, double v) {
  char* const end = p + kMaxDoubleChars;
  if (!std::isfinite(v)) {
    std::memcpy(p, "null", 4);
    return p + 4;
  }
  // Sensors send a few decimals ("60.912"): those are printed directly, as to_chars would print
  // them but at a fraction of its cost (it was a sixth of ingest's CPU). Below 1e5 with at most
  // three decimals, that decimal is the only one of so few digits that reads back as v, and the
  // fixed form is never longer than the exponent form; json_writer_test checks it against to_chars.
  if (std::fabs(v) < 1e5) {
    const int64_t m = std::llround(v * 1000);
    if (static_cast<double>(m) / 1000 == v && !(m == 0 && std::signbit(v))) {
      const uint64_t a = m < 0 ? static_cast<uint64_t>(-m) : static_cast<uint64_t>(m);
      if (m < 0) *p++ = '-';
      p = std::to_chars(p, end, a / 1000).ptr;
      if (const uint64_t frac = a % 1000; frac != 0) {
        *p++ = '.';
        *p++ = static_cast<char>('0' + frac / 100);
        *p++ = static_cast<char>('0' + frac / 10 % 10);
        *p++ = static_cast<char>('0' + frac % 10);
        while (p[-1] == '0') --p;
      }
      return p;
    }
  }
  // Large whole numbers in exponent form: the shortest form of 2^64 as a double is the 20 digits
  // "18446744073709551616", which readers such as simdjson refuse as an integer out of range.
  return std::fabs(v) >= 1e16 ? std::to_chars(p, end, v, std::chars_format::scientific).ptr
                              : std::to_chars(p, end, v).ptr;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::string Base64Encode(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == data.size()) {
    uint32_t v = p[i] << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace sp
