// The rules stage, in place of IoT Rules SQL: turns one incoming message (MQTT or HTTP) into one
// log record, or into a rejection with a reason code. Rules are compiled once at start-up and
// applied per message from one thread at a time per Rule object. This issue ships the default
// rule (default_rule.h), which maps the seed's message; the rules issue adds SQL rules behind the
// same interface.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "log/log.h"

namespace sp {

//! Why a message was rejected. The names are a contract (ARCHITECTURE.md, metric label `reason`).
enum class Reason {
  kMalformedJson,
  kNotObject,
  kTooDeep,
  kOversize,
  kMissingField,
  kWrongType,
  kNonFinite,
  kBadTimestamp,
  kTimestampSkew,
  kBadDeviceId,
  kSpoofedDevice,
};
inline constexpr Reason kAllReasons[] = {
    Reason::kMalformedJson, Reason::kNotObject,    Reason::kTooDeep,       Reason::kOversize,
    Reason::kMissingField,  Reason::kWrongType,    Reason::kNonFinite,     Reason::kBadTimestamp,
    Reason::kTimestampSkew, Reason::kBadDeviceId,  Reason::kSpoofedDevice,
};
//! "malformed_json", "not_object", ...
std::string_view ReasonName(Reason r);

//! A message as it arrived.
struct Message {
  std::string_view topic;
  std::string_view payload;
  std::string_view client_id;  // the MQTT client id when the broker exposes it, else empty
  int64_t received_at_us = 0;  // UTC
};

struct Rejection {
  Reason reason;
  std::string detail;  // for humans: which field, what was wrong
};

class Rule {
 public:
  virtual ~Rule() = default;
  virtual const std::string& name() const = 0;
  //! Maps msg to *out and returns true, or fills *rejection and returns false. Never throws.
  //! *out is reused across calls so its strings keep their capacity.
  virtual bool Apply(const Message& msg, Record* out, Rejection* rejection) = 0;
};

}  // namespace sp
