// Rendering of query results for people and programs: an aligned table, RFC 4180 CSV with a
// header (CRLF line ends), and a JSON array of objects. Timestamps are "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC and
// doubles in their shortest round-trip form in all three (docs/architecture.md, "Contracts").
#pragma once

#include <string>
#include <string_view>

#include "query/engine.h"

namespace sp {

enum class OutputFormat { kTable, kCsv, kJson };
Result<OutputFormat> ParseOutputFormat(std::string_view name);

std::string Format(const QueryResult& result, OutputFormat format);
//! One cell as text (NULL as ""), the form CSV and the table use.
std::string CellText(const Cell& cell);
//! One cell as a JSON value: numbers (HUGEINT ones too) and booleans as such, everything else as
//! its text.
void AppendJsonCell(std::string& out, const Cell& cell);

}  // namespace sp
