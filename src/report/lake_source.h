// Where the report's readings come from: SQL through sp::QueryEngine over the lake's `readings`
// view, the same path as `sensorpipe query`.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "query/engine.h"
#include "report/report.h"

namespace sp {

//! The SELECT of the readings of [from_us, to_us), of one device or of all when device is empty.
std::string ReportReadingsSql(int64_t from_us, int64_t to_us, const std::string& device);

//! Runs ReportReadingsSql on engine: rows by device and time; metrics a reading lacks are NaN.
Result<std::vector<ReadingRow>> FetchReadings(QueryEngine* engine, int64_t from_us, int64_t to_us,
                                              const std::string& device);

//! The devices with readings in [from_us, to_us), by name.
Result<std::vector<std::string>> DevicesWithReadings(QueryEngine* engine, int64_t from_us, int64_t to_us);

//! Whether the lake holds any reading of device, at any time.
Result<bool> DeviceKnown(QueryEngine* engine, const std::string& device);

}  // namespace sp
