// `sensorpipe report`: the readings of a period, read from the lake like `sensorpipe query` reads
// it, analysed and rendered by the report stage (report/).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "query/engine.h"

namespace sp {

struct ReportArgs {
  std::string from, to;  // as given: ISO 8601 with an offset, a wall time in tz, or epoch seconds
  std::string tz = "UTC";
  std::string device;  // empty: every device, each on its own
  std::string format = "md";
  std::string out;  // empty: stdout
};

//! A --from/--to value as UTC micros: ISO 8601 with an offset ("2022-07-14T00:00:00+09:00"), a
//! wall time without one (read in zone), or epoch seconds ("1657724400").
Result<int64_t> ParseReportTime(const std::string& text, const std::string& zone);

//! Fetches [from, to) through engine, analyses and writes the report. Returns the exit code.
int RunReport(QueryEngine* engine, const ReportArgs& args);

}  // namespace sp
