// B-DUCK for bench/lake.sh: DuckDB alone, as a user of DuckDB would run it over the lake's files.
// One SQL statement in a fresh in-memory database of the same libduckdb sensorpipe links
// (.cache/duckdb, session time zone UTC as sensorpipe sets it), and nothing of sensorpipe. The
// result is materialised, as `sensorpipe query` materialises its own.
// Prints one line: seconds rows first_cell (seconds: the statement alone; rows: of the result;
// first_cell: its first value as text, e.g. the rows a COPY wrote).
// Usage: duck_sql SQL
#include <duckdb.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace {

bool Run(duckdb_connection conn, const char* sql, duckdb_result* res) {
  if (duckdb_query(conn, sql, res) == DuckDBSuccess) return true;
  std::fprintf(stderr, "duck_sql: %s\n", duckdb_result_error(res) ? duckdb_result_error(res) : "query failed");
  duckdb_destroy_result(res);
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SQL\n", argv[0]);
    return 2;
  }
  duckdb_database db;
  duckdb_connection conn;
  if (duckdb_open(nullptr, &db) != DuckDBSuccess || duckdb_connect(db, &conn) != DuckDBSuccess) {
    std::fprintf(stderr, "duck_sql: cannot open DuckDB\n");
    return 1;
  }
  duckdb_result res;
  if (!Run(conn, "SET TimeZone = 'UTC'", &res)) return 1;
  duckdb_destroy_result(&res);

  const auto start = std::chrono::steady_clock::now();
  if (!Run(conn, argv[1], &res)) return 1;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const idx_t rows = duckdb_row_count(&res);
  std::string first = "-";
  if (rows > 0 && duckdb_column_count(&res) > 0) {
    char* text = duckdb_value_varchar(&res, 0, 0);
    if (text) {
      first = text;
      duckdb_free(text);
    }
  }
  duckdb_destroy_result(&res);
  std::printf("%.6f %llu %s\n", seconds, static_cast<unsigned long long>(rows), first.c_str());
  duckdb_disconnect(&conn);
  duckdb_close(&db);
  return 0;
}
