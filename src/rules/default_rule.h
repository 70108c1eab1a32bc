// The default rule: maps the seed's device message to a reading (docs/format/record.md) or
// rejects it with a reason code. It stands for `SELECT * FROM 'sensor/#'` with the checks every
// message gets: size, JSON, depth, required and typed fields, finite numbers, timestamp and device
// id. SQL rules (the rules issue) produce records through the same Rule interface.
#pragma once

#include <memory>
#include <string>

#include "rules/rule.h"

namespace sp {

struct DefaultRuleOptions {
  std::string device_time_zone = "UTC";
  size_t max_payload_bytes = 131072;
  int64_t max_future_skew_s = 300;
  int max_depth = 16;
  bool client_id_fallback = false;  // an empty client_id takes the MQTT client id
};

//! Fails only on a bad option (an unknown zone).
Result<std::unique_ptr<Rule>> MakeDefaultRule(const DefaultRuleOptions& options);

//! A device id is safe when it is 1-128 bytes of [A-Za-z0-9._:@-] and not "." or "..": it may
//! become part of a file name or a topic, so nothing that could escape a folder is allowed.
bool IsSafeDeviceId(std::string_view id);

}  // namespace sp
