#include <gtest/gtest.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>

#include "common/reading_columns.h"
#include "common/testing.h"
#include "query/engine.h"
#include "query/format.h"

namespace sp {
namespace {

void WriteObject(const std::string& path, const std::string& ndjson) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::string out(ZSTD_compressBound(ndjson.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), ndjson.data(), ndjson.size(), 3);
  ASSERT_FALSE(ZSTD_isError(n));
  std::ofstream(path, std::ios::binary) << out.substr(0, n);
}

// The CSV of sql with its CRLF line ends as "\n" (Format.CsvJsonAndTable checks the CRLF).
std::string Csv(QueryEngine& e, const std::string& sql) {
  auto r = e.Run(sql);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::string csv = r.ok() ? Format(*r, OutputFormat::kCsv) : "";
  for (size_t p; (p = csv.find("\r\n")) != std::string::npos;) csv.erase(p, 1);
  return csv;
}

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string_view::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(QueryEngine, EmptyLakeHasTypedViews) {
  testing::TempDir lake;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(Env::Default(), lake.path(), {}));
  EXPECT_EQ(Csv(*e, "SELECT count(*) AS n FROM readings"), "n\n0\n");
  EXPECT_EQ(Csv(*e, "SELECT string_agg(column_name || ' ' || column_type, '; ') AS c FROM (DESCRIBE readings)"),
            "c\ndevice VARCHAR; ts TIMESTAMP; temperature DOUBLE; humidity DOUBLE; pressure DOUBLE; pitch DOUBLE; "
            "roll DOUBLE; yaw DOUBLE; seq BIGINT; topic VARCHAR; received_at TIMESTAMP; extra JSON\n");
  EXPECT_EQ(Csv(*e, "SELECT count(*) AS n FROM errors"), "n\n0\n");
}

// The readings view and the Parquet files compaction writes with ReadingsSelect have the columns
// of common/reading_columns.h, in its view order, whether the lake is empty or not.
TEST(QueryEngine, ReadingColumnsAreTheColumnsTable) {
  std::string want = "c\n";
  for (const ReadingColumn& c : kReadingViewColumns) {
    want += std::string(want.size() > 2 ? "; " : "") + std::string(c.name) + " " + std::string(SqlType(c.kind));
  }
  want += "\n";
  auto columns = [](QueryEngine& e, const std::string& relation) {
    return Csv(e, "SELECT string_agg(column_name || ' ' || column_type, '; ') AS c FROM (DESCRIBE " + relation + ")");
  };
  testing::TempDir lake;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(Env::Default(), lake.path(), {}));
  EXPECT_EQ(columns(*e, "readings"), want);
  const std::string json =
      lake.Sub("raw/dt=2022-07-13/hour=15/readings-0000-00000000000000000000-00000000000000000000.ndjson.zst");
  WriteObject(json, R"({"device":"pi","ts":"2022-07-13 15:00:00","received_at":"2026-11-25 00:00:00","topic":"t"})"
                    "\n");
  EXPECT_EQ(columns(*e, "readings"), want);
  const std::string parquet = lake.Sub("compacted.parquet");
  ASSERT_OK(
      e->Run("COPY (" + ReadingsSelect({json}, {}) + ") TO " + SqlString(parquet) + " (FORMAT parquet)").status());
  EXPECT_EQ(columns(*e, "SELECT * FROM read_parquet(" + SqlString(parquet) + ")"), want);
}

TEST(QueryEngine, ReadsObjectsAndSeesNewOnes) {
  testing::TempDir lake;
  WriteObject(lake.Sub("raw/dt=2022-07-13/hour=15/readings-0000-00000000000000000000-00000000000000000001.ndjson.zst"),
              R"({"device":"pi","ts":"2022-07-13 15:00:00","received_at":"2026-11-25 00:00:00.5","topic":"sensor/data","seq":0,"temperature":39.743,"humidity":45.259})"
              "\n"
              R"({"device":"pi","ts":"2022-07-13 15:30:00","received_at":"2026-11-25 00:00:01","topic":"sensor/data","seq":1,"temperature":40.257,"extra":{"a":1}})"
              "\n");
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(Env::Default(), lake.path(), {}));
  EXPECT_EQ(Csv(*e, "SELECT date_trunc('hour', ts) AS hour, avg(temperature) AS t, count(humidity) AS h FROM readings "
                    "GROUP BY 1"),
            "hour,t,h\n2022-07-13 15:00:00,40,1\n");
  EXPECT_EQ(Csv(*e, "SELECT received_at, extra->>'a' AS a FROM readings ORDER BY seq"),
            "received_at,a\n2026-11-25 00:00:00.500000,\n2026-11-25 00:00:01,1\n");
  WriteObject(lake.Sub("raw/dt=2022-07-13/hour=16/readings-0001-00000000000000000000-00000000000000000000.ndjson.zst"),
              R"({"device":"pi-2","ts":"2022-07-13 16:00:00","received_at":"2026-11-25 00:00:02","topic":"t"})" "\n");
  WriteObject(lake.Sub("raw/dt=2022-07-13/hour=16/ignored.ndjson.zst.tmp"), "garbage");
  EXPECT_EQ(Csv(*e, "SELECT count(*) AS n FROM readings"), "n\n3\n");
  WriteObject(lake.Sub("errors/dt=2026-11-25/errors-0000-00000000000000000000-00000000000000000000.ndjson.zst"),
              R"({"received_at":"2026-11-25 00:00:00","topic":"sensor/data","rule":"default","reason":"malformed_json","detail":"x","raw":"not json"})" "\n");
  EXPECT_EQ(Csv(*e, "SELECT reason, raw, raw_base64 FROM errors"), "reason,raw,raw_base64\nmalformed_json,not json,\n");
}

// A redelivered message is in the lake twice (here in two objects, as after a crash between the
// append and the acknowledgement); readings has it once, as first received. A reboot's count
// starting again at 0 is a different message: the time tells them apart.
TEST(QueryEngine, ReadingsCountsARedeliveredMessageOnce) {
  testing::TempDir lake;
  const std::string first =
      R"({"device":"pi","ts":"2022-07-13 15:00:00","received_at":"2026-11-25 00:00:01","seq":0,"temperature":20})";
  WriteObject(lake.Sub("raw/dt=2022-07-13/hour=15/readings-0000-00000000000000000000-00000000000000000000.ndjson.zst"),
              first + "\n");
  WriteObject(
      lake.Sub("raw/dt=2022-07-13/hour=15/readings-0000-00000000000000000001-00000000000000000002.ndjson.zst"),
      R"({"device":"pi","ts":"2022-07-13 15:00:00","received_at":"2026-11-25 00:00:09","seq":0,"temperature":20})"
      "\n"
      R"({"device":"pi","ts":"2022-07-13 15:20:00","received_at":"2026-11-25 00:00:10","seq":0,"temperature":21})"
      "\n");
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(Env::Default(), lake.path(), {}));
  EXPECT_EQ(Csv(*e, "SELECT ts, received_at FROM readings ORDER BY ts"),
            "ts,received_at\n2022-07-13 15:00:00,2026-11-25 00:00:01\n2022-07-13 15:20:00,2026-11-25 00:00:10\n");
}

TEST(Format, CsvJsonAndTable) {
  testing::TempDir lake;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(Env::Default(), lake.path(), {}));
  ASSERT_OK_AND_ASSIGN(QueryResult r, e->Run("SELECT 1 AS i, 0.1::DOUBLE AS d, 1e-7::DOUBLE AS tiny, 'a,\"b\"' AS s, "
                                              "E'two\\nlines' AS nl, NULL AS n, TIMESTAMP '2022-07-13 15:00:00.25' AS t, "
                                              "DATE '2022-07-13' AS day, true AS b, 1.50::DECIMAL(4,2) AS dec"));
  // RFC 4180: records end with CRLF; a line break inside a quoted field is the field's own.
  EXPECT_EQ(Format(r, OutputFormat::kCsv),
            "i,d,tiny,s,nl,n,t,day,b,dec\r\n1,0.1,1e-07,\"a,\"\"b\"\"\",\"two\nlines\",,2022-07-13 15:00:00.250000,"
            "2022-07-13,true,1.5\r\n");
  EXPECT_EQ(Format(r, OutputFormat::kJson),
            "[{\"i\":1,\"d\":0.1,\"tiny\":1e-07,\"s\":\"a,\\\"b\\\"\",\"nl\":\"two\\nlines\",\"n\":null,"
            "\"t\":\"2022-07-13 15:00:00.250000\",\"day\":\"2022-07-13\",\"b\":true,\"dec\":1.5}]\n");
  std::string table = Format(r, OutputFormat::kTable);
  EXPECT_NE(table.find("two\\nlines"), std::string::npos) << table;
  EXPECT_NE(table.find("(1 row)"), std::string::npos) << table;
  EXPECT_FALSE(ParseOutputFormat("xml").ok());
}

// sum() of a BIGINT is a HUGEINT: numbers too wide for int64 or a double are JSON numbers with
// every digit, not strings.
TEST(Format, WideNumbersAreExactNumbers) {
  testing::TempDir lake;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(Env::Default(), lake.path(), {}));
  ASSERT_OK_AND_ASSIGN(
      QueryResult r,
      e->Run("SELECT sum(i) AS s, 170141183460469231731687303715884105727::HUGEINT AS h, "
             "-170141183460469231731687303715884105727::HUGEINT AS neg, 18446744073709551615::UBIGINT AS u, "
             "340282366920938463463374607431768211455::UHUGEINT AS uh, 12345678901234567.50::DECIMAL(38,2) AS d, "
             "8100.00::DECIMAL(38,2) AS whole, NULL::HUGEINT AS none FROM range(4) t(i)"));
  EXPECT_EQ(Format(r, OutputFormat::kJson),
            "[{\"s\":6,\"h\":170141183460469231731687303715884105727,\"neg\":-170141183460469231731687303715884105727,"
            "\"u\":18446744073709551615,\"uh\":340282366920938463463374607431768211455,"
            "\"d\":12345678901234567.5,\"whole\":8100,\"none\":null}]\n");
  EXPECT_EQ(Format(r, OutputFormat::kCsv),
            "s,h,neg,u,uh,d,whole,none\r\n6,170141183460469231731687303715884105727,"
            "-170141183460469231731687303715884105727,18446744073709551615,340282366920938463463374607431768211455,"
            "12345678901234567.5,8100,\r\n");
}

TEST(QueryEngine, ReadOnlySqlAcceptsOneSelectOnly) {
  testing::TempDir lake;
  QueryOptions options;
  options.read_only_sql = true;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(Env::Default(), lake.path(), options));
  EXPECT_TRUE(e->Run("SELECT count(*) FROM readings").ok()) << "the views exist before the first statement";
  EXPECT_TRUE(e->Run("SELECT 1").ok());
  EXPECT_TRUE(e->Run("WITH x AS (SELECT 2 AS v) SELECT v FROM x").ok());
  EXPECT_TRUE(e->Run("SELECT count(*) FROM readings").ok());
  for (const char* bad : {"DROP VIEW readings", "SELECT 1; SELECT 2", "COPY (SELECT 1) TO '/tmp/sp-x.csv'",
                          "CREATE TABLE t AS SELECT 1", "INSERT INTO t VALUES (1)", "SET enable_external_access = true",
                          "SELECT * FROM read_csv('/etc/passwd')", "ATTACH '/tmp/x.db'", ""}) {
    auto r = e->Run(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/sp-x.csv"));
}

// Preparing EXPORT DATABASE creates its folder (DuckDB's binder does), and the lake is an allowed
// folder: the statement must be refused on its parse, before anything is bound.
TEST(QueryEngine, ReadOnlySqlRefusesExportBeforeTouchingTheDisk) {
  testing::TempDir lake;
  QueryOptions options;
  options.read_only_sql = true;
  options.refusal_hint = " (hint)";
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(Env::Default(), lake.path(), options));
  for (const std::string& sql : {"EXPORT DATABASE " + SqlString(lake.Sub("x")),
                                 "EXPORT DATABASE " + SqlString(lake.Sub("y")) + " (FORMAT parquet)",
                                 "COPY (SELECT 1) TO " + SqlString(lake.Sub("z.csv"))}) {
    auto r = e->Run(sql);
    ASSERT_FALSE(r.ok()) << sql;
    EXPECT_EQ(r.status().message(),
              "only a SELECT statement is allowed (no COPY, EXPORT, ATTACH, CREATE, DROP, SET, ...) (hint)");
  }
  EXPECT_FALSE(std::filesystem::exists(lake.Sub("x")));
  EXPECT_FALSE(std::filesystem::exists(lake.Sub("y")));
  EXPECT_FALSE(std::filesystem::exists(lake.Sub("z.csv")));
  auto two = e->Run("SELECT 1; SELECT 2");
  EXPECT_EQ(two.status().message(), "only one statement is allowed (hint)");
  // A file outside the lake is refused by DuckDB itself, with the same hint.
  auto passwd = e->Run("SELECT * FROM read_csv('/etc/passwd')");
  EXPECT_NE(passwd.status().message().find("Permission Error"), std::string_view::npos) << passwd.status().ToString();
  EXPECT_TRUE(passwd.status().message().ends_with(" (hint)")) << passwd.status().ToString();
}

// Without read_only_sql (the CLI's --allow-any-sql) DuckDB runs anything, several statements too.
TEST(QueryEngine, AnySqlRunsSeveralStatements) {
  testing::TempDir lake;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(Env::Default(), lake.path(), {}));
  EXPECT_EQ(Csv(*e, "CREATE TABLE t AS SELECT 7 AS a; SELECT a FROM t"), "a\n7\n");
}

TEST(QueryEngine, TimeoutInterruptsAndRowLimitTruncates) {
  testing::TempDir lake;
  QueryOptions options;
  options.timeout_ms = 200;
  options.row_limit = 3;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(Env::Default(), lake.path(), options));
  auto start = std::chrono::steady_clock::now();
  auto slow = e->Run("SELECT sum(hash(i)) FROM range(100000000000) t(i)");
  ASSERT_FALSE(slow.ok());
  EXPECT_TRUE(slow.status().IsAborted()) << slow.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  ASSERT_OK_AND_ASSIGN(QueryResult r, e->Run("SELECT * FROM range(10)"));
  EXPECT_EQ(r.rows.size(), 3u);
  EXPECT_TRUE(r.truncated);
  // The engine still works after an interrupt.
  EXPECT_TRUE(e->Run("SELECT 1").ok());
}

TEST(QueryEngine, SqlErrorsAreInvalidArgument) {
  testing::TempDir lake;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(Env::Default(), lake.path(), {}));
  auto r = e->Run("SELEC 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("syntax error"), std::string_view::npos) << r.status().ToString();
  // The line and caret once (duckdb_query's own message repeats them in DuckDB 1.4).
  EXPECT_EQ(Count(r.status().message(), "LINE 1: SELEC 1"), 1u) << r.status().ToString();
  QueryOptions read_only;
  read_only.read_only_sql = true;
  ASSERT_OK_AND_ASSIGN(auto locked, QueryEngine::Open(Env::Default(), lake.path(), read_only));
  r = locked->Run("SELEC 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Count(r.status().message(), "LINE 1: SELEC 1"), 1u) << r.status().ToString();
  // An empty statement says so.
  EXPECT_EQ(e->Run(" -- nothing").status().message(), "no SQL statement");
}

}  // namespace
}  // namespace sp
