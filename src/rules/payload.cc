#include "rules/payload.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace sp {

namespace {

// Distinguishes what JSON cannot say from what is simply broken: Python's json module writes NaN
// and Infinity for failed sensor reads, and 1e999 overflows a double. Those are non_finite;
// everything else that fails to parse is malformed_json. Scans tokens outside strings; runs only
// for payloads that already failed to parse.
bool HasNonFiniteToken(std::string_view s) {
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (s.compare(i, 3, "NaN") == 0 || s.compare(i, 8, "Infinity") == 0) {
      return true;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '-' || s[j] == '+' ||
                              s[j] == '.' || s[j] == 'e' || s[j] == 'E')) {
        ++j;
      }
      std::string number(s.substr(i, j - i));
      if (std::isinf(std::strtod(number.c_str(), nullptr))) return true;
      i = j - 1;
    }
  }
  return false;
}

}  // namespace

PayloadParser::PayloadParser(PayloadLimits limits) : limits_(limits) {
  // simdjson stops at the depth limit itself, so nothing deeper is ever built, let alone walked.
  // Its depth counts one more level than ours (where the message object is depth 1). If this small
  // allocation fails, the first parse retries it and reports the failure.
  if (parser_.allocate(4096, static_cast<size_t>(limits_.max_depth) + 1) != simdjson::SUCCESS) return;
}

bool PayloadParser::Parse(std::string_view payload, simdjson::dom::element* root, Rejection* rejection) {
  if (payload.size() > limits_.max_payload_bytes) {
    return Reject(rejection, Reason::kOversize,
                  "payload of " + std::to_string(payload.size()) + " bytes is over the limit of " +
                      std::to_string(limits_.max_payload_bytes));
  }
  // The DOM parser validates the whole document before anything is read, so trailing garbage or
  // a malformation anywhere is caught.
  simdjson::dom::element doc;
  if (auto err = parser_.parse(payload.data(), payload.size()).get(doc)) {
    if (err == simdjson::DEPTH_ERROR) {
      return Reject(rejection, Reason::kTooDeep,
                    "arrays and objects nested deeper than the limit of " + std::to_string(limits_.max_depth));
    }
    if (HasNonFiniteToken(payload))
      return Reject(rejection, Reason::kNonFinite, "NaN, Infinity or a number out of range");
    return Reject(rejection, Reason::kMalformedJson, simdjson::error_message(err));
  }
  if (!doc.is_object()) {
    return Reject(rejection, Reason::kNotObject, "the message is not a JSON object");
  }
  *root = doc;
  return true;
}

}  // namespace sp
