// The error output's record: a rejected message with its reason and raw bytes, appended to the
// "errors" stream and delivered under lake/errors (docs/format/record.md).
#pragma once

#include <string_view>

#include "rules/rule.h"

namespace sp {

//! The record for a rejected message. When the payload was cut short on receipt (oversize),
//! original_size is the size on the wire and the line says raw_truncated; else pass 0.
Record MakeErrorRecord(const Message& msg, std::string_view rule_name, const Rejection& rejection,
                       size_t original_size = 0);

}  // namespace sp
