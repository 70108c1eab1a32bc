#include "rules/error_record.h"

#include "common/json_writer.h"
#include "common/time.h"

namespace sp {

Record MakeErrorRecord(const Message& msg, std::string_view rule_name, const Rejection& rejection,
                       size_t original_size) {
  Record r;
  r.key = ReasonName(rejection.reason);
  r.timestamp_us = msg.received_at_us;
  std::string& line = r.value;
  line += "{\"received_at\":\"";
  line += FormatTimestamp(msg.received_at_us);
  line += "\",\"topic\":";
  AppendJsonString(line, msg.topic);
  line += ",\"rule\":";
  AppendJsonString(line, rule_name);
  line += ",\"reason\":\"";
  line += ReasonName(rejection.reason);
  line += "\",\"detail\":";
  AppendJsonString(line, rejection.detail);
  // Raw bytes are kept exactly: as a JSON string when they are UTF-8 (escaping keeps NUL and
  // other control characters intact), as base64 otherwise.
  if (IsValidUtf8(msg.payload)) {
    line += ",\"raw\":";
    AppendJsonString(line, msg.payload);
  } else {
    line += ",\"raw_base64\":\"";
    line += Base64Encode(msg.payload);
    line += '"';
  }
  if (original_size > 0) {
    line += ",\"raw_truncated\":true,\"payload_size\":";
    line += std::to_string(original_size);
  }
  line += '}';
  return r;
}

}  // namespace sp
