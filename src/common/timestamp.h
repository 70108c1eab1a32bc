// Event-time normalisation: every accepted timestamp becomes UTC microseconds. Accepted forms:
//   "YYYY-MM-DD HH:MM:SS[.f]" or with 'T' - no offset: wall time in the device's zone (the seed's form)
//   the same followed by Z, +HH:MM, +HHMM or +HH - ISO 8601 / RFC 3339 with an offset
//   a JSON number - epoch seconds, or epoch milliseconds when its magnitude is >= 1e11
//     (1e11 s is the year 5138; 1e11 ms is March 1973), fractions allowed
// Wall times that a DST change skips are read with the offset in force before the change (02:30
// on a spring-forward night becomes 03:30); repeated ones take the earlier instant.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace date {
class time_zone;
}

namespace sp {

class TimestampParser {
 public:
  //! zone is an IANA name ("Asia/Seoul", "UTC"); an unknown one is an InvalidArgument.
  static Result<TimestampParser> Create(const std::string& zone);

  //! Parses text; false when it is not one of the accepted forms or a field is out of range.
  bool ParseText(std::string_view text, int64_t* unix_micros) const;
  //! Epoch seconds or milliseconds (see above); false when out of the years 0001-9999.
  bool ParseEpoch(double value, int64_t* unix_micros) const;

 private:
  TimestampParser(const date::time_zone* zone, std::optional<int64_t> fixed_offset_s)
      : zone_(zone), fixed_offset_s_(fixed_offset_s) {}
  const date::time_zone* zone_;  // owned by the tz database, lives for the process
  std::optional<int64_t> fixed_offset_s_;  // the zone's only offset, when it never changed
};

}  // namespace sp
