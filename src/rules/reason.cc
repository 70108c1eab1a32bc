#include "rules/rule.h"

namespace sp {

std::string_view ReasonName(Reason r) {
  switch (r) {
    case Reason::kMalformedJson: return "malformed_json";
    case Reason::kNotObject: return "not_object";
    case Reason::kTooDeep: return "too_deep";
    case Reason::kOversize: return "oversize";
    case Reason::kMissingField: return "missing_field";
    case Reason::kWrongType: return "wrong_type";
    case Reason::kNonFinite: return "non_finite";
    case Reason::kBadTimestamp: return "bad_timestamp";
    case Reason::kTimestampSkew: return "timestamp_skew";
    case Reason::kBadDeviceId: return "bad_device_id";
    case Reason::kSpoofedDevice: return "spoofed_device";
  }
  return "unknown";
}

}  // namespace sp
