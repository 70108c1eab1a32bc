// The columns of a reading (docs/format/record.md), defined once: name, kind, DuckDB type, the
// message field each is taken from, and which are the metrics. The rules' writer of reading lines
// and the rollup's reader of them (rules/reading.h), the query engine's `readings` view and so the
// Parquet files compaction writes, and the metric lists of the rollup, the report and the HTTP API
// all derive theirs from this table. Like common/record.h it is a data format every stage may know;
// it knows no stage.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

namespace sp {

//! How a column is written in a reading line and typed in the lake.
enum class ColumnKind {
  kText,       // a JSON string
  kTimestamp,  // a JSON string "YYYY-MM-DD HH:MM:SS[.ffffff]", UTC
  kInteger,    // a JSON integer
  kNumber,     // a JSON number: a metric
  kAngle,      // a JSON number of degrees: a metric averaged on the circle (common/angle.h)
  kObject,     // a JSON object
};

//! DuckDB's type for a kind: the column's type in the views and the Parquet files.
constexpr std::string_view SqlType(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kText:
      return "VARCHAR";
    case ColumnKind::kTimestamp:
      return "TIMESTAMP";
    case ColumnKind::kInteger:
      return "BIGINT";
    case ColumnKind::kNumber:
    case ColumnKind::kAngle:
      return "DOUBLE";
    case ColumnKind::kObject:
      return "JSON";
  }
  return "";
}

constexpr bool IsMetricKind(ColumnKind kind) {
  return kind == ColumnKind::kNumber || kind == ColumnKind::kAngle;
}

struct ReadingColumn {
  std::string_view name;  // the key in a reading line, the column's name in the lake
  ColumnKind kind;
  std::string_view field;  // the message's field it is taken from; empty for those ingest fills in
  std::string_view unit;   // a metric's unit, as the SenseHAT measures it
  size_t view_position;    // its place in the `readings` view and the Parquet files
};

//! In the order a reading line holds them. The view puts the metrics right after device and ts.
inline constexpr std::array<ReadingColumn, 12> kReadingColumns = {{
    {"device", ColumnKind::kText, "client_id", "", 0},
    {"ts", ColumnKind::kTimestamp, "timestamp", "", 1},
    {"received_at", ColumnKind::kTimestamp, "", "", 10},
    {"topic", ColumnKind::kText, "", "", 9},
    {"seq", ColumnKind::kInteger, "count", "", 8},
    {"temperature", ColumnKind::kNumber, "temperature", "°C", 2},
    {"humidity", ColumnKind::kNumber, "humidity", "%", 3},
    {"pressure", ColumnKind::kNumber, "pressure", "hPa", 4},
    {"pitch", ColumnKind::kAngle, "pitch", "°", 5},
    {"roll", ColumnKind::kAngle, "roll", "°", 6},
    {"yaw", ColumnKind::kAngle, "yaw", "°", 7},
    {"extra", ColumnKind::kObject, "", "", 11},
}};

//! The columns in the `readings` view's order.
inline constexpr std::array<ReadingColumn, kReadingColumns.size()> kReadingViewColumns = [] {
  std::array<ReadingColumn, kReadingColumns.size()> view{};
  for (const ReadingColumn& c : kReadingColumns) view.at(c.view_position) = c;
  return view;
}();
static_assert(std::ranges::all_of(kReadingColumns,
                                  [](const ReadingColumn& c) {
                                    return kReadingViewColumns[c.view_position].name == c.name;
                                  }),
              "view positions are each column's own");

//! The metrics: the columns of kind kNumber or kAngle, in their order.
enum class Metric { kTemperature, kHumidity, kPressure, kPitch, kRoll, kYaw };
inline constexpr size_t kMetricCount = static_cast<size_t>(Metric::kYaw) + 1;

//! Where each column is in kReadingColumns, for code that handles them one by one (the writer and
//! the readers of a line).
enum ReadingColumnIndex : size_t {
  kDeviceColumn,
  kTsColumn,
  kReceivedAtColumn,
  kTopicColumn,
  kSeqColumn,
  kFirstMetricColumn,
  kExtraColumn = kFirstMetricColumn + kMetricCount,
};
constexpr bool ColumnIs(size_t column, std::string_view name, ColumnKind kind) {
  return kReadingColumns[column].name == name && kReadingColumns[column].kind == kind;
}
static_assert(kExtraColumn + 1 == kReadingColumns.size() && ColumnIs(kDeviceColumn, "device", ColumnKind::kText) &&
                  ColumnIs(kTsColumn, "ts", ColumnKind::kTimestamp) &&
                  ColumnIs(kReceivedAtColumn, "received_at", ColumnKind::kTimestamp) &&
                  ColumnIs(kTopicColumn, "topic", ColumnKind::kText) &&
                  ColumnIs(kSeqColumn, "seq", ColumnKind::kInteger) &&
                  ColumnIs(kExtraColumn, "extra", ColumnKind::kObject),
              "ReadingColumnIndex names the table's columns");
static_assert(std::all_of(kReadingColumns.begin() + kFirstMetricColumn, kReadingColumns.begin() + kExtraColumn,
                          [](const ReadingColumn& c) { return IsMetricKind(c.kind); }),
              "the metrics are Metric's, one after the other");

constexpr const ReadingColumn& MetricColumn(Metric m) {
  return kReadingColumns[kFirstMetricColumn + static_cast<size_t>(m)];
}
//! "temperature", ..., "yaw": the key in a reading line and the column in the lake.
constexpr std::string_view MetricName(Metric m) {
  return MetricColumn(m).name;
}
//! "°C", "%", "hPa", "°".
constexpr std::string_view MetricUnit(Metric m) {
  return MetricColumn(m).unit;
}
//! Pitch, roll and yaw are angles in degrees: circular means and arcs (common/angle.h), not sums.
constexpr bool IsAngle(Metric m) {
  return MetricColumn(m).kind == ColumnKind::kAngle;
}
static_assert(MetricName(Metric::kTemperature) == "temperature" && MetricName(Metric::kHumidity) == "humidity" &&
                  MetricName(Metric::kPressure) == "pressure" && MetricName(Metric::kPitch) == "pitch" &&
                  MetricName(Metric::kRoll) == "roll" && MetricName(Metric::kYaw) == "yaw",
              "Metric's names are the table's");

inline constexpr std::array<Metric, kMetricCount> kMetrics = [] {
  std::array<Metric, kMetricCount> all{};
  for (size_t i = 0; i < kMetricCount; ++i) all[i] = static_cast<Metric>(i);
  return all;
}();
inline constexpr std::array<std::string_view, kMetricCount> kMetricNames = [] {
  std::array<std::string_view, kMetricCount> names{};
  for (size_t i = 0; i < kMetricCount; ++i) names[i] = MetricName(static_cast<Metric>(i));
  return names;
}();

}  // namespace sp
