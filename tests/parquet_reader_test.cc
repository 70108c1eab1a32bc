// A Parquet file sensorpipe's compaction writes is read correctly by a second, independent reader:
// hyparquet, a Parquet implementation in plain JavaScript from npm (tests/parquet_read.mjs;
// scripts/fetch-test-tools.sh installs it, pinned). Readings go in through HTTP ingest, the
// daemon stops, `sensorpipe compact --now` writes one file per hour, and for every file each row
// and each of the 12 columns must be the same three ways: as hyparquet reads it, as `sensorpipe
// query` reads the same file, and as it was sent. The columns must have the Parquet types the
// readings view has. A control at the end shows that the comparison catches a missing row, a
// changed value and a wrong column type.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "common/env.h"
#include "common/json_writer.h"
#include "common/testing.h"
#include "common/time.h"
#include "support/daemon.h"
#include "support/process.h"

namespace sp::testing {
namespace {

constexpr int64_t k0600 = 1657778400LL * 1'000'000;  // 2022-07-14 06:00:00 UTC
constexpr int64_t kSecond = 1'000'000;

enum class Kind { kString, kTimestamp, kDouble, kInt, kJson };
struct Column {
  const char* name;
  Kind kind;
  const char* type;       // Parquet physical type
  const char* annotated;  // logical type, else converted type, as parquet_read.mjs prints them ("" for none)
};
// The readings view's columns (query/engine.cc) and the Parquet types DuckDB gives them.
const Column kColumns[] = {
    {"device", Kind::kString, "BYTE_ARRAY", "UTF8"},
    {"ts", Kind::kTimestamp, "INT64", "TIMESTAMP(MICROS)"},
    {"temperature", Kind::kDouble, "DOUBLE", ""},
    {"humidity", Kind::kDouble, "DOUBLE", ""},
    {"pressure", Kind::kDouble, "DOUBLE", ""},
    {"pitch", Kind::kDouble, "DOUBLE", ""},
    {"roll", Kind::kDouble, "DOUBLE", ""},
    {"yaw", Kind::kDouble, "DOUBLE", ""},
    {"seq", Kind::kInt, "INT64", "INT_64"},
    {"topic", Kind::kString, "BYTE_ARRAY", "UTF8"},
    {"received_at", Kind::kTimestamp, "INT64", "TIMESTAMP(MICROS)"},
    {"extra", Kind::kJson, "BYTE_ARRAY", "JSON"},
};
constexpr size_t kReceivedAt = 10;
constexpr const char* kNull = "NULL";

std::string DoubleText(double v) {
  std::string s;
  AppendDouble(s, v);
  return s;
}
// The cell of a number as sent in JSON text.
std::string D(const char* text) {
  return DoubleText(std::strtod(text, nullptr));
}

std::string SqlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A row as text, one cell per column, so the three sources compare exactly: doubles in their
// shortest round-trip form (equal text, equal bits), timestamps as sensorpipe prints them.
using Row = std::vector<std::string>;

// What was sent: one message and the row it must become (received_at unknown: kNull here).
struct Sent {
  std::string message;
  Row row;
};

// A message field and the row's cell from one number written with %.3f (or given text).
struct Builder {
  std::string message = "{";
  Row row = Row(std::size(kColumns), kNull);
  void Raw(const std::string& key, const std::string& json) {
    message += (message.size() > 1 ? ", " : "") + ("\"" + key + "\": " + json);
  }
  void Number(const std::string& key, size_t column, const std::string& text) {
    Raw(key, text);
    row[column] = DoubleText(std::strtod(text.c_str(), nullptr));
  }
  Sent Done() { return {message + "}", row}; }
};

std::string Fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// Hour 06: 40 devices x 3,300 seconds in the seed's message shape, arrival order (time outer),
// enough rows for more than one row group; some rows lack a field, have it null, carry an extra
// field or no count, so definition levels vary across pages.
std::vector<Sent> BusyHour() {
  std::vector<Sent> out;
  for (int s = 0, i = 0; s < 3300; ++s) {
    for (int d = 0; d < 40; ++d, ++i) {
      Builder b;
      char device[16];
      std::snprintf(device, sizeof device, "dev-%03d", d);
      const int64_t ts = k0600 + s * kSecond;
      b.Raw("client_id", "\"" + std::string(device) + "\"");
      b.Raw("timestamp", "\"" + FormatTimestamp(ts) + "\"");
      b.row[0] = device;
      b.row[1] = FormatTimestamp(ts);
      if (i % 97 == 0) {
        b.Raw("humidity", "null");  // a sensor that is off
      } else {
        b.Number("humidity", 3, Fixed3(55 + d % 7 + ((i * 31) % 2000) / 1000.0));
      }
      b.Number("temperature", 2, Fixed3(30 + d % 5 + ((s * 7 + d * 13) % 1000) / 1000.0));
      if (i % 89 != 0) b.Number("pressure", 4, Fixed3(1008.2 + ((i * 17) % 600) / 1000.0));
      b.Number("pitch", 5, Fixed3(((i * 7919LL) % 3000) / 1000.0));
      b.Number("roll", 6, Fixed3(358 + ((i * 104729LL) % 2000) / 1000.0));
      b.Number("yaw", 7, Fixed3(180 + ((i * 1299709LL) % 10000) / 1000.0));
      if (i % 113 != 0) {
        b.Raw("count", std::to_string(s));
        b.row[8] = std::to_string(s);
      }
      b.row[9] = "http";
      if (i % 101 == 0) {
        b.Raw("fw", "\"1.2." + std::to_string(i % 7) + "\"");
        b.row[11] = "{\"fw\":\"1.2." + std::to_string(i % 7) + "\"}";
      }
      out.push_back(b.Done());
    }
  }
  return out;
}

// Hour 07: the unusual ones, sent with a topic. Every row is distinct in (device, seq, ts).
std::vector<Sent> OddHour() {
  std::vector<Sent> out;
  auto add = [&](const std::string& message, Row row) {
    row[9] = "site/pi/data";  // no device identity in it: the rows claim several devices
    out.push_back({message, row});
  };
  const std::string device = "pi_07.kitchen:2@home-x";
  // Every field; fractions of a second; an offset; epoch seconds and milliseconds.
  add("{\"client_id\":\"" + device +
          "\",\"timestamp\":\"2022-07-14 07:00:00.123456\",\"temperature\":-40.5,"
          "\"humidity\":0.1,\"pressure\":123456789.125,\"pitch\":1e-7,\"roll\":359.999,\"yaw\":1e300,\"count\":0}",
      {device, "2022-07-14 07:00:00.123456", D("-40.5"), D("0.1"), D("123456789.125"), D("1e-7"), D("359.999"),
       D("1e300"), "0", "", kNull, kNull});
  add("{\"client_id\":\"" + device +
          "\",\"timestamp\":\"2022-07-14T09:30:00.25+02:00\",\"temperature\":21,\"count\":1}",
      {device, "2022-07-14 07:30:00.250000", D("21"), kNull, kNull, kNull, kNull, kNull, "1", "", kNull, kNull});
  add("{\"client_id\":\"" + device + "\",\"timestamp\":1657782001,\"count\":2}",
      {device, "2022-07-14 07:00:01", kNull, kNull, kNull, kNull, kNull, kNull, "2", "", kNull, kNull});
  add("{\"client_id\":\"" + device + "\",\"timestamp\":1657782002500,\"temperature\":null,\"count\":3}",
      {device, "2022-07-14 07:00:02.500000", kNull, kNull, kNull, kNull, kNull, kNull, "3", "", kNull, kNull});
  // A count past 2^53 (a double would round it) and one without a count.
  add("{\"client_id\":\"big\",\"timestamp\":\"2022-07-14 07:59:59\",\"count\":9007199254740993}",
      {"big", "2022-07-14 07:59:59", kNull, kNull, kNull, kNull, kNull, kNull, "9007199254740993", "", kNull, kNull});
  add("{\"client_id\":\"big\",\"timestamp\":\"2022-07-14 07:59:58\",\"temperature\":39.743}",
      {"big", "2022-07-14 07:59:58", D("39.743"), kNull, kNull, kNull, kNull, kNull, kNull, "", kNull, kNull});
  // Extra fields of every JSON kind, with quotes, a backslash and characters beyond ASCII. The
  // JSON column holds the value as DuckDB's JSON type writes it: minified, keys in order, a \u
  // escape of a printable character as the character itself (the same value).
  add("{\"client_id\":\"x\",\"timestamp\":\"2022-07-14 07:10:00\",\"temperature\":1.5,"
      R"("note":"say \"hi\" \\ caf\u00e9 é 温度","n":7,"f":2.5,"ok":true,"none":null,"list":[1,"a",{"b":[]}],"obj":{"k":"v"},)"
      "\"count\":4}",
      {"x", "2022-07-14 07:10:00", D("1.5"), kNull, kNull, kNull, kNull, kNull, "4", "", kNull,
       R"({"note":"say \"hi\" \\ café é 温度","n":7,"f":2.5,"ok":true,"none":null,"list":[1,"a",{"b":[]}],"obj":{"k":"v"}})"});
  return out;
}

std::string Join(const std::vector<std::string>& lines, size_t max = 20) {
  std::string out;
  for (size_t i = 0; i < lines.size() && i < max; ++i) out += lines[i] + "\n";
  if (lines.size() > max) out += "... and " + std::to_string(lines.size() - max) + " more\n";
  return out;
}

// One cell of a parsed JSON document as text in the form Row uses; a value of the wrong JSON
// type comes out as a description that matches nothing sent.
std::string CellText(simdjson::dom::element v, Kind kind, bool from_sensorpipe) {
  if (v.is_null()) return kNull;
  std::string_view text;
  double d;
  int64_t i;
  switch (kind) {
    case Kind::kString:
    case Kind::kJson:
      if (v.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
      break;
    case Kind::kDouble:
      if (v.get_double().get(d) == simdjson::SUCCESS) return DoubleText(d);
      break;
    case Kind::kInt:
      // hyparquet: INT64 as a decimal string; sensorpipe: a JSON integer.
      if (!from_sensorpipe && v.get_string().get(text) == simdjson::SUCCESS &&
          text.find_first_not_of("-0123456789") == std::string_view::npos) {
        return std::string(text);
      }
      if (from_sensorpipe && v.get_int64().get(i) == simdjson::SUCCESS) return std::to_string(i);
      break;
    case Kind::kTimestamp:
      // hyparquet: µs since the epoch as a decimal string; sensorpipe: its printed form.
      if (v.get_string().get(text) != simdjson::SUCCESS) break;
      if (from_sensorpipe) return std::string(text);
      if (!text.empty() && text.find_first_not_of("-0123456789") == std::string_view::npos) {
        return FormatTimestamp(std::stoll(std::string(text)));
      }
      break;
  }
  return "(unexpected JSON " + simdjson::minify(v) + ")";
}

std::string Describe(std::string_view name, std::string_view type, std::string_view annotated) {
  std::string out = std::string(name) + " " + std::string(type);
  if (!annotated.empty()) out += " " + std::string(annotated);
  return out;
}

struct Compared {
  std::vector<std::string> problems;
  size_t rows = 0, row_groups = 0;
  std::vector<Row> rows_read;  // as hyparquet read them
};

// The three-way comparison for one file: hyparquet's schema against the readings view's types;
// hyparquet's rows against `sensorpipe query` over the same file, row by row in file order; and
// both against what was sent (by device and ts), received_at within [begin_us, end_us].
Compared Check(const std::string& config, const std::string& file, const std::vector<Row>& sent, int64_t begin_us,
               int64_t end_us) {
  Compared c;
  auto node = RunCommand(
      {"node", SourceDir() + "/tests/parquet_read.mjs", SourceDir() + "/.cache/parquet-reader", file}, kDeadline);
  if (!node.ok() || node->exit_code != 0) {
    c.problems.push_back("hyparquet failed: " + (node.ok() ? node->err : node.status().ToString()));
    return c;
  }
  // The control's files lie outside the lake: DuckDB unlocked.
  auto query = RunCommand({BinDir() + "/sensorpipe", "query", "--config", config, "--format", "json", "--allow-any-sql",
                           "SELECT * FROM read_parquet(" + SqlQuote(file) + ")"},
                          kDeadline);
  if (!query.ok() || query->exit_code != 0) {
    c.problems.push_back("sensorpipe query failed: " + (query.ok() ? query->err : query.status().ToString()));
    return c;
  }
  simdjson::dom::parser p1, p2;
  simdjson::dom::element hy, sp;
  if (p1.parse(simdjson::padded_string(node->out)).get(hy) != simdjson::SUCCESS ||
      p2.parse(simdjson::padded_string(query->out)).get(sp) != simdjson::SUCCESS) {
    c.problems.push_back("unparsable output: " + node->out.substr(0, 200) + " / " + query->out.substr(0, 200));
    return c;
  }
  try {
    // Types.
    simdjson::dom::array columns = hy["columns"];
    if (columns.size() != std::size(kColumns)) {
      c.problems.push_back("hyparquet sees " + std::to_string(columns.size()) + " columns, expected " +
                           std::to_string(std::size(kColumns)));
    }
    size_t i = 0;
    for (simdjson::dom::element col : columns) {
      if (i >= std::size(kColumns)) break;
      const Column& want = kColumns[i++];
      const std::string_view name = col["name"], type = col["type"];
      const std::string_view annotated = !col["logical"].is_null()     ? std::string_view(col["logical"])
                                         : !col["converted"].is_null() ? std::string_view(col["converted"])
                                                                       : std::string_view();
      if (name != want.name || type != want.type || annotated != want.annotated) {
        c.problems.push_back("column " + std::to_string(i) + " is " + Describe(name, type, annotated) + ", expected " +
                             Describe(want.name, want.type, want.annotated));
      }
    }
    c.row_groups = uint64_t(hy["row_groups"]);
    // hyparquet against sensorpipe, in file order.
    simdjson::dom::array hy_rows = hy["rows"];
    simdjson::dom::array sp_rows = sp;
    c.rows = hy_rows.size();
    if (uint64_t(hy["num_rows"]) != c.rows) c.problems.push_back("hyparquet read fewer rows than the footer says");
    if (hy_rows.size() != sp_rows.size()) {
      c.problems.push_back("hyparquet reads " + std::to_string(hy_rows.size()) + " rows, sensorpipe query " +
                           std::to_string(sp_rows.size()));
    }
    auto sp_it = sp_rows.begin();
    size_t r = 0;
    for (simdjson::dom::array hy_row : hy_rows) {
      Row row;
      size_t k = 0;
      for (simdjson::dom::element v : hy_row) {
        if (k < std::size(kColumns)) row.push_back(CellText(v, kColumns[k].kind, false));
        ++k;
      }
      if (row.size() != std::size(kColumns)) {
        c.problems.push_back("row " + std::to_string(r) + ": hyparquet gives " + std::to_string(k) + " cells");
        row.resize(std::size(kColumns), kNull);
      }
      if (sp_it != sp_rows.end()) {
        simdjson::dom::object sp_row = *sp_it;
        for (size_t k = 0; k < std::size(kColumns); ++k) {
          simdjson::dom::element v;
          const std::string theirs =
              sp_row[kColumns[k].name].get(v) == simdjson::SUCCESS ? CellText(v, kColumns[k].kind, true) : "(absent)";
          if (theirs != row[k]) {
            c.problems.push_back("row " + std::to_string(r) + " " + kColumns[k].name + ": hyparquet " + row[k] +
                                 ", sensorpipe query " + theirs);
          }
        }
        ++sp_it;
      }
      c.rows_read.push_back(std::move(row));
      ++r;
    }
  } catch (const simdjson::simdjson_error& e) {  // a document of another shape than parquet_read.mjs prints
    c.problems.push_back(std::string("unexpected JSON shape: ") + e.what());
    return c;
  }

  // Against what was sent: by (device, ts), since the file is sorted and one message may have
  // been sent twice.
  std::map<std::pair<std::string, std::string>, const Row*> want;
  for (const Row& row : sent) want[{row[0], row[1]}] = &row;
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t r = 0; r < c.rows_read.size(); ++r) {
    Row row = c.rows_read[r];
    const std::pair<std::string, std::string> key{row[0], row[1]};
    if (r > 0 && key < std::pair<std::string, std::string>{c.rows_read[r - 1][0], c.rows_read[r - 1][1]}) {
      c.problems.push_back("row " + std::to_string(r) + " is out of (device, ts) order");
    }
    if (!seen.insert(key).second) c.problems.push_back("row " + std::to_string(r) + " is there twice");
    auto it = want.find(key);
    if (it == want.end()) {
      c.problems.push_back("row " + std::to_string(r) + " (" + key.first + ", " + key.second + ") was never sent");
      continue;
    }
    const std::string received = row[kReceivedAt];
    if (received == kNull || received < FormatTimestamp(begin_us) || received > FormatTimestamp(end_us)) {
      c.problems.push_back("row " + std::to_string(r) + " received_at " + received + " is outside the test");
    }
    row[kReceivedAt] = kNull;
    for (size_t k = 0; k < std::size(kColumns); ++k) {
      if (row[k] != (*it->second)[k]) {
        c.problems.push_back("row " + std::to_string(r) + " (" + key.first + ", " + key.second + ") " +
                             kColumns[k].name + ": read " + row[k] + ", sent " + (*it->second)[k]);
      }
    }
  }
  for (const auto& [key, row] : want) {
    if (!seen.count(key)) c.problems.push_back("missing row (" + key.first + ", " + key.second + ")");
  }
  return c;
}

bool Contains(const std::vector<std::string>& lines, const std::string& what) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(what) != std::string::npos; });
}

// POSTs lines to /v1/ingest in batches; the number of lines the daemon accepted.
size_t Post(const Daemon& daemon, const std::vector<Sent>& sent, const std::string& query = "") {
  size_t accepted = 0;
  for (size_t at = 0; at < sent.size(); at += 10000) {
    std::string body;
    for (size_t i = at; i < std::min(sent.size(), at + 10000); ++i) body += sent[i].message + "\n";
    auto out = RunCommand(
        {"curl", "-s", "-X", "POST", "--data-binary", "@-", "-H", "Content-Type: application/x-ndjson", "-H",
         "Authorization: Bearer t", "http://127.0.0.1:" + std::to_string(daemon.http_port()) + "/v1/ingest" + query},
        kDeadline, body);
    if (!out.ok()) continue;
    const size_t n = out->out.find("\"accepted\":");
    if (n != std::string::npos) accepted += std::stoul(out->out.substr(n + 11));
    EXPECT_NE(out->out.find("\"rejected\":0,"), std::string::npos) << out->out;
  }
  return accepted;
}

TEST(ParquetReader, HyparquetReadsEveryRowAndColumnOfACompactedFileAsSensorpipeDoes) {
  ASSERT_TRUE(std::filesystem::exists(SourceDir() + "/.cache/parquet-reader/node_modules/hyparquet/package.json"))
      << "no Parquet reader in .cache/parquet-reader: run scripts/fetch-test-tools.sh";
  const std::vector<Sent> busy = BusyHour(), odd = OddHour();
  TempDir dir;
  const int64_t begin_us = Clock::Default()->NowMicros() - kSecond;
  // No broker: HTTP ingest only. The daemon's own compactor waits (the hours are old, so only a
  // long grace keeps it from compacting them): the files come from `sensorpipe compact --now`.
  ASSERT_OK_AND_ASSIGN(auto daemon,
                       Daemon::Start(dir.Sub("sp"), NoBrokerUrl(),
                                     "[http]\ntoken = \"t\"\n"
                                     "[compaction]\nobjects = 100000\ngrace_s = 2592000\nrow_group_rows = 50000\n"));
  EXPECT_EQ(Post(*daemon, busy), busy.size());
  EXPECT_EQ(Post(*daemon, odd, "?topic=site%2Fpi%2Fdata"), odd.size());
  // The same message again, in a request of its own: readings (and so compaction) keep one.
  EXPECT_EQ(Post(*daemon, {odd[0]}, "?topic=site%2Fpi%2Fdata"), 1u);
  // A clean stop drains the log into the lake.
  ASSERT_OK_AND_ASSIGN(int code, daemon->Stop());
  ASSERT_EQ(code, 0) << daemon->process().Log();
  // The view has its 12 columns also over raw objects, whose folders look like Hive partitions
  // (DuckDB would add dt and hour from them, and compaction would write those too).
  const std::string describe = "SELECT string_agg(column_name, ' ') AS c FROM (DESCRIBE SELECT * FROM readings)";
  const std::string twelve = "c\ndevice ts temperature humidity pressure pitch roll yaw seq topic received_at extra\n";
  ASSERT_OK_AND_ASSIGN(std::string raw_columns, daemon->Query(describe));
  EXPECT_EQ(raw_columns, twelve);
  ASSERT_OK_AND_ASSIGN(
      CommandOutput compact,
      RunCommand({BinDir() + "/sensorpipe", "compact", "--now", "--config", daemon->config_path()}, kDeadline));
  ASSERT_EQ(compact.exit_code, 0) << compact.err;
  const int64_t end_us = Clock::Default()->NowMicros() + kSecond;

  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.Sub("sp/data/lake/compacted"))) {
    if (e.path().extension() == ".parquet") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 2u) << compact.err;
  ASSERT_NE(files[0].find("/dt=2022-07-14/hour=06/"), std::string::npos) << files[0];
  ASSERT_NE(files[1].find("/dt=2022-07-14/hour=07/"), std::string::npos) << files[1];

  std::vector<Row> busy_rows, odd_rows;
  for (const Sent& s : busy) busy_rows.push_back(s.row);
  for (const Sent& s : odd) odd_rows.push_back(s.row);
  Compared hour06 = Check(daemon->config_path(), files[0], busy_rows, begin_us, end_us);
  EXPECT_TRUE(hour06.problems.empty()) << files[0] << ":\n" << Join(hour06.problems);
  EXPECT_EQ(hour06.rows, busy.size());
  // Enough rows (and small row groups) that the file has more than one row group, so the reader
  // crosses their boundary.
  EXPECT_GE(hour06.row_groups, 2u);
  Compared hour07 = Check(daemon->config_path(), files[1], odd_rows, begin_us, end_us);
  EXPECT_TRUE(hour07.problems.empty()) << files[1] << ":\n" << Join(hour07.problems);
  EXPECT_EQ(hour07.rows, odd.size());
  // And the readings view now reads these files and nothing else.
  ASSERT_OK_AND_ASSIGN(std::string count, daemon->Query("SELECT count(*) AS n FROM readings"));
  EXPECT_EQ(count, "n\n" + std::to_string(busy.size() + odd.size()) + "\n");
  ASSERT_OK_AND_ASSIGN(std::string compacted_columns, daemon->Query(describe));
  EXPECT_EQ(compacted_columns, twelve);

  // The control: files written wrong on purpose from the small good one, by the same DuckDB COPY
  // compaction uses, must each be caught.
  struct Bad {
    const char* what;
    std::string select;
    std::string expect;
  };
  const std::string good = "read_parquet(" + SqlQuote(files[1]) + ")";
  const std::vector<Bad> bad = {
      {"a missing row", "SELECT * FROM " + good + " WHERE device <> 'big' OR seq IS NULL",
       "missing row (big, 2022-07-14 07:59:59)"},
      {"a changed value",
       "SELECT * REPLACE (CASE WHEN device = 'x' THEN temperature + 0.001 ELSE temperature END AS temperature) FROM " +
           good,
       "(x, 2022-07-14 07:10:00) temperature: read 1.501, sent 1.5"},
      {"a FLOAT column", "SELECT * REPLACE (temperature::FLOAT AS temperature) FROM " + good,
       "is temperature FLOAT, expected temperature DOUBLE"},
      {"a timestamp as text", "SELECT * REPLACE (strftime(ts, '%Y-%m-%d %H:%M:%S') AS ts) FROM " + good,
       "is ts BYTE_ARRAY UTF8, expected ts INT64 TIMESTAMP(MICROS)"},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    const std::string path = dir.Sub("bad" + std::to_string(i) + ".parquet");
    ASSERT_OK_AND_ASSIGN(CommandOutput copy, RunCommand({BinDir() + "/sensorpipe", "query", "--config",
                                                         daemon->config_path(), "--allow-any-sql",
                                                         "COPY (" + bad[i].select + ") TO " + SqlQuote(path) +
                                                             " (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2)"},
                                                        kDeadline));
    ASSERT_EQ(copy.exit_code, 0) << copy.err;
    Compared c = Check(daemon->config_path(), path, odd_rows, begin_us, end_us);
    EXPECT_TRUE(Contains(c.problems, bad[i].expect))
        << bad[i].what << " was not caught as \"" << bad[i].expect << "\":\n"
        << Join(c.problems);
  }
}

}  // namespace
}  // namespace sp::testing
