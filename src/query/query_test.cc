#include <gtest/gtest.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>

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

std::string Csv(QueryEngine& e, const std::string& sql) {
  auto r = e.Run(sql);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? Format(*r, OutputFormat::kCsv) : "";
}

TEST(QueryEngine, EmptyLakeHasTypedViews) {
  testing::TempDir lake;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(lake.path(), {}));
  EXPECT_EQ(Csv(*e, "SELECT count(*) AS n FROM readings"), "n\n0\n");
  EXPECT_EQ(Csv(*e, "SELECT string_agg(column_name || ' ' || column_type, '; ') AS c FROM (DESCRIBE readings)"),
            "c\ndevice VARCHAR; ts TIMESTAMP; temperature DOUBLE; humidity DOUBLE; pressure DOUBLE; pitch DOUBLE; "
            "roll DOUBLE; yaw DOUBLE; seq BIGINT; topic VARCHAR; received_at TIMESTAMP; extra JSON\n");
  EXPECT_EQ(Csv(*e, "SELECT count(*) AS n FROM errors"), "n\n0\n");
}

TEST(QueryEngine, ReadsObjectsAndSeesNewOnes) {
  testing::TempDir lake;
  WriteObject(lake.Sub("raw/dt=2022-07-13/hour=15/readings-0000-00000000000000000000-00000000000000000001.ndjson.zst"),
              R"({"device":"pi","ts":"2022-07-13 15:00:00","received_at":"2026-11-25 00:00:00.5","topic":"sensor/data","seq":0,"temperature":39.743,"humidity":45.259})"
              "\n"
              R"({"device":"pi","ts":"2022-07-13 15:30:00","received_at":"2026-11-25 00:00:01","topic":"sensor/data","seq":1,"temperature":40.257,"extra":{"a":1}})"
              "\n");
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(lake.path(), {}));
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
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(lake.path(), {}));
  EXPECT_EQ(Csv(*e, "SELECT ts, received_at FROM readings ORDER BY ts"),
            "ts,received_at\n2022-07-13 15:00:00,2026-11-25 00:00:01\n2022-07-13 15:20:00,2026-11-25 00:00:10\n");
}

TEST(Format, CsvJsonAndTable) {
  testing::TempDir lake;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(lake.path(), {}));
  ASSERT_OK_AND_ASSIGN(QueryResult r, e->Run("SELECT 1 AS i, 0.1::DOUBLE AS d, 1e-7::DOUBLE AS tiny, 'a,\"b\"' AS s, "
                                              "E'two\\nlines' AS nl, NULL AS n, TIMESTAMP '2022-07-13 15:00:00.25' AS t, "
                                              "DATE '2022-07-13' AS day, true AS b, 1.50::DECIMAL(4,2) AS dec"));
  EXPECT_EQ(Format(r, OutputFormat::kCsv),
            "i,d,tiny,s,nl,n,t,day,b,dec\n1,0.1,1e-07,\"a,\"\"b\"\"\",\"two\nlines\",,2022-07-13 15:00:00.250000,"
            "2022-07-13,true,1.5\n");
  EXPECT_EQ(Format(r, OutputFormat::kJson),
            "[{\"i\":1,\"d\":0.1,\"tiny\":1e-07,\"s\":\"a,\\\"b\\\"\",\"nl\":\"two\\nlines\",\"n\":null,"
            "\"t\":\"2022-07-13 15:00:00.250000\",\"day\":\"2022-07-13\",\"b\":true,\"dec\":1.5}]\n");
  std::string table = Format(r, OutputFormat::kTable);
  EXPECT_NE(table.find("two\\nlines"), std::string::npos) << table;
  EXPECT_NE(table.find("(1 row)"), std::string::npos) << table;
  EXPECT_FALSE(ParseOutputFormat("xml").ok());
}

TEST(QueryEngine, ReadOnlySqlAcceptsOneSelectOnly) {
  testing::TempDir lake;
  QueryOptions options;
  options.read_only_sql = true;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(lake.path(), options));
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

TEST(QueryEngine, TimeoutInterruptsAndRowLimitTruncates) {
  testing::TempDir lake;
  QueryOptions options;
  options.timeout_ms = 200;
  options.row_limit = 3;
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(lake.path(), options));
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
  ASSERT_OK_AND_ASSIGN(auto e, QueryEngine::Open(lake.path(), {}));
  auto r = e->Run("SELEC 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("syntax error"), std::string_view::npos) << r.status().ToString();
}

}  // namespace
}  // namespace sp
