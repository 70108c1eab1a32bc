// The checks every message gets before any rule looks at it: size, JSON syntax, NaN/Infinity,
// nesting depth, and that it is an object. Shared by every rule of a message (it is parsed once)
// and the entry point of the payload fuzz target.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <string_view>

#include "rules/rule.h"

namespace sp {

struct PayloadLimits {
  size_t max_payload_bytes = 131072;
  int max_depth = 16;
};

class PayloadParser {
 public:
  explicit PayloadParser(PayloadLimits limits);

  //! Parses payload into *root, a JSON object valid until the next Parse, or fills *rejection and
  //! returns false.
  bool Parse(std::string_view payload, simdjson::dom::element* root, Rejection* rejection);

 private:
  const PayloadLimits limits_;
  simdjson::dom::parser parser_;  // its buffers are reused across messages
};

}  // namespace sp
