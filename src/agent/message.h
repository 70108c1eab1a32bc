// The device message in the seed's field names, with an ISO 8601 timestamp carrying the device's
// offset, e.g. {"client_id":"pi","timestamp":"2026-11-25T11:30:01+09:00","humidity":45.3,...}.
#pragma once

#include <cstdint>
#include <string>

#include "agent/sensors.h"

namespace sp {

//! The payload for one reading. Values are rounded to 3 decimals like the seed's.
std::string FormatMessage(const std::string& device, int64_t now_us, int64_t utc_offset_s, const Reading& r,
                          uint64_t count);
//! The local offset from UTC of the machine's zone (TZ) at now_us, in seconds.
int64_t LocalUtcOffsetSeconds(int64_t now_us);
//! The topic for a device: "{device}" in the template is replaced by the device id.
std::string ExpandTopic(const std::string& topic_template, const std::string& device);

}  // namespace sp
