#include "report/lake_source.h"

#include "common/time.h"

namespace sp {

namespace {

// ts is a UTC TIMESTAMP in the lake; the bounds are written the same way, so DuckDB compares them
// without any time zone of its own.
std::string InRange(int64_t from_us, int64_t to_us) {
  return "ts >= TIMESTAMP " + SqlString(FormatTimestamp(from_us)) + " AND ts < TIMESTAMP " +
         SqlString(FormatTimestamp(to_us));
}

}  // namespace

std::string ReportReadingsSql(int64_t from_us, int64_t to_us, const std::string& device) {
  std::string sql = "SELECT device, ts";
  for (std::string_view m : kMetricNames) (sql += ", ") += m;
  sql += " FROM readings WHERE " + InRange(from_us, to_us);
  if (!device.empty()) sql += " AND device = " + SqlString(device);
  return sql + " ORDER BY device, ts";
}

Result<std::vector<std::string>> DevicesWithReadings(QueryEngine* engine, int64_t from_us, int64_t to_us) {
  SP_ASSIGN_OR_RETURN(QueryResult result, engine->Run("SELECT DISTINCT device FROM readings WHERE " +
                                                      InRange(from_us, to_us) + " ORDER BY device"));
  std::vector<std::string> devices;
  for (const auto& cells : result.rows) devices.push_back(cells[0].s);
  return devices;
}

Result<bool> DeviceKnown(QueryEngine* engine, const std::string& device) {
  SP_ASSIGN_OR_RETURN(QueryResult result,
                      engine->Run("SELECT 1 FROM readings WHERE device = " + SqlString(device) + " LIMIT 1"));
  return !result.rows.empty();
}

Result<std::vector<ReadingRow>> FetchReadings(QueryEngine* engine, int64_t from_us, int64_t to_us,
                                              const std::string& device) {
  SP_ASSIGN_OR_RETURN(QueryResult result, engine->Run(ReportReadingsSql(from_us, to_us, device)));
  std::vector<ReadingRow> rows;
  rows.reserve(result.rows.size());
  for (const auto& cells : result.rows) {
    if (cells.size() != 2 + kMetricCount || cells[1].type != Cell::Type::kTimestamp) {
      return Status::Corruption("the readings view returned an unexpected row shape");
    }
    ReadingRow row;
    row.device = cells[0].s;
    row.ts_us = cells[1].i;
    for (size_t i = 0; i < kMetricCount; ++i) {
      const Cell& c = cells[2 + i];
      if (c.type == Cell::Type::kDouble) row.values[i] = c.d;
      if (c.type == Cell::Type::kInt) row.values[i] = static_cast<double>(c.i);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace sp
