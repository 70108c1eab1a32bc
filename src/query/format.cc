#include "query/format.h"

#include <algorithm>

#include "common/json_writer.h"
#include "common/time.h"

namespace sp {

namespace {

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Display width in terminal columns: UTF-8 continuation bytes take none.
size_t Width(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// RFC 4180: every record, the header's too, ends with CRLF (a line break inside a quoted field
// stays as it is).
std::string Csv(const QueryResult& r) {
  std::string out;
  for (size_t c = 0; c < r.columns.size(); ++c) out += (c ? "," : "") + CsvField(r.columns[c]);
  out += "\r\n";
  for (const auto& row : r.rows) {
    for (size_t c = 0; c < row.size(); ++c) out += (c ? "," : "") + CsvField(CellText(row[c]));
    out += "\r\n";
  }
  return out;
}

std::string Json(const QueryResult& r) {
  std::string out = "[";
  for (size_t i = 0; i < r.rows.size(); ++i) {
    out += i ? ",{" : "{";
    for (size_t c = 0; c < r.columns.size(); ++c) {
      if (c) out += ',';
      AppendJsonString(out, r.columns[c]);
      out += ':';
      AppendJsonCell(out, r.rows[i][c]);
    }
    out += '}';
  }
  return out + "]\n";
}

std::string Table(const QueryResult& r) {
  const size_t n = r.columns.size();
  std::vector<size_t> width(n);
  std::vector<bool> numeric(n, false);
  std::vector<std::vector<std::string>> text;
  for (size_t c = 0; c < n; ++c) width[c] = Width(r.columns[c]);
  for (const auto& row : r.rows) {
    auto& t = text.emplace_back();
    for (size_t c = 0; c < n; ++c) {
      t.push_back(CellText(row[c]));
      // Newlines would break the grid; show them escaped.
      for (size_t p; (p = t.back().find('\n')) != std::string::npos;) t.back().replace(p, 1, "\\n");
      width[c] = std::max(width[c], Width(t.back()));
      numeric[c] = numeric[c] || row[c].type == Cell::Type::kInt || row[c].type == Cell::Type::kDouble ||
                   row[c].type == Cell::Type::kNumber;
    }
  }
  auto pad = [&](const std::string& s, size_t c) {
    std::string fill(width[c] - Width(s), ' ');
    return numeric[c] ? fill + s : s + fill;
  };
  std::string out, rule;
  for (size_t c = 0; c < n; ++c) {
    out += (c ? " | " : "") + pad(r.columns[c], c);
    rule += (c ? "-+-" : "") + std::string(width[c], '-');
  }
  out += "\n" + rule + "\n";
  for (const auto& t : text) {
    for (size_t c = 0; c < n; ++c) out += (c ? " | " : "") + pad(t[c], c);
    out += '\n';
  }
  out += "(" + std::to_string(r.rows.size()) + (r.rows.size() == 1 ? " row" : " rows") +
         (r.truncated ? ", truncated by the row limit" : "") + ")\n";
  return out;
}

}  // namespace

void AppendJsonCell(std::string& out, const Cell& cell) {
  switch (cell.type) {
    case Cell::Type::kNull: out += "null"; break;
    case Cell::Type::kBool: out += cell.i ? "true" : "false"; break;
    case Cell::Type::kInt: out += std::to_string(cell.i); break;
    case Cell::Type::kDouble: AppendDouble(out, cell.d); break;
    case Cell::Type::kNumber:  // DuckDB's digits: a valid JSON number
      out += cell.s;
      break;
    default: AppendJsonString(out, CellText(cell));
  }
}

Result<OutputFormat> ParseOutputFormat(std::string_view name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  return Status::InvalidArgument("unknown format '" + std::string(name) + "' (expected table, csv or json)");
}

std::string CellText(const Cell& cell) {
  switch (cell.type) {
    case Cell::Type::kNull: return "";
    case Cell::Type::kBool: return cell.i ? "true" : "false";
    case Cell::Type::kInt: return std::to_string(cell.i);
    case Cell::Type::kDouble: {
      std::string s;
      AppendDouble(s, cell.d);
      return s == "null" ? (cell.d != cell.d ? "nan" : cell.d > 0 ? "inf" : "-inf") : s;
    }
    case Cell::Type::kTimestamp: return FormatTimestamp(cell.i);
    case Cell::Type::kDate: return FormatTimestamp(cell.i * 86'400'000'000).substr(0, 10);
    case Cell::Type::kString:
    case Cell::Type::kNumber:
      return cell.s;
  }
  return "";
}

std::string Format(const QueryResult& result, OutputFormat format) {
  switch (format) {
    case OutputFormat::kCsv: return Csv(result);
    case OutputFormat::kJson: return Json(result);
    case OutputFormat::kTable: return Table(result);
  }
  return "";
}

}  // namespace sp
