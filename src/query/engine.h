// The query stage, in place of Athena: DuckDB SQL over the lake through the views `readings` and
// `errors`. Each QueryEngine owns an in-memory DuckDB database; the views are rebuilt from the
// lake's current file list before every query, so a long-lived engine (the web server's) sees new
// objects, and a query never reads a half-written one (objects appear by atomic rename).
// One thread at a time may Run.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace sp {

//! The files that hold the lake's rows at one instant, as paths DuckDB can read.
struct LakeSnapshot {
  std::vector<std::string> readings_json;     // raw objects: zstd or gzip NDJSON
  std::vector<std::string> readings_parquet;  // compacted files of partitions that also hold raw ones
  //! Compacted files of partitions that hold nothing else: their rows are unique already (one
  //! Parquet file per partition, deduplicated when written; the key's ts fixes the partition).
  std::vector<std::string> readings_unique;
  std::vector<std::string> errors_json;
};

//! Which files hold the lake's rows now: the catalog's current set (catalog/lake_files.h),
//! or a directory scan for a lake without a catalog.
class LakeFiles {
 public:
  virtual ~LakeFiles() = default;
  virtual Result<LakeSnapshot> Current() = 0;
};

//! Scans lake_dir/raw and lake_dir/errors for *.ndjson.zst and *.ndjson.gz objects.
std::unique_ptr<LakeFiles> MakeDirectoryLakeFiles(Env* env, std::string lake_dir);

//! A SELECT of the readings in the given files, one row per (device, seq, ts), the first received:
//! the `readings` view, and what compaction writes. unique_files are Parquet files whose rows need
//! no deduplication (LakeSnapshot::readings_unique); the window that deduplicates the others is
//! most of a query's time.
std::string ReadingsSelect(const std::vector<std::string>& json_files, const std::vector<std::string>& parquet_files,
                           const std::vector<std::string>& unique_files = {});

//! s quoted as an SQL string literal.
std::string SqlString(const std::string& s);

// Every member has an initializer, so that designated initializers naming a few leave the others
// as they are here without -Wmissing-field-initializers.
struct QueryOptions {
  int64_t row_limit = 0;   // 0: no limit; otherwise rows past it are dropped and `truncated` set
  int64_t timeout_ms = 0;  // 0: none; otherwise the query is interrupted after it
  //! For SQL from outside (HTTP, the CLI by default): one SELECT only, and no file access beyond
  //! the lake. Otherwise any SQL DuckDB runs, several statements too.
  bool read_only_sql = false;
  //! Appended to the message when read_only_sql refuses a statement or a file: where to go instead.
  std::string refusal_hint = {};
  //! More settings, run at open: "SET memory_limit = '512MB'", ...
  std::vector<std::string> settings = {};
};

//! One value of a result.
struct Cell {
  //! kNumber: a number that fits neither int64 nor a double exactly (HUGEINT such as sum(seq),
  //! UHUGEINT, UBIGINT, DECIMAL wider than 15 digits), kept as its exact decimal text in s.
  enum class Type { kNull, kBool, kInt, kDouble, kString, kTimestamp, kDate, kNumber };
  Type type = Type::kNull;
  int64_t i = 0;  // kBool (0/1), kInt, kTimestamp (UTC micros), kDate (days since the epoch)
  double d = 0;   // kDouble
  // kString, kNumber, and every other DuckDB type rendered by DuckDB as text. Its initializer lets
  // {type, i} leave it empty without -Wmissing-field-initializers.
  std::string s = {};
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;
  bool truncated = false;  // the row limit cut the result
};

class QueryEngine {
 public:
  //! An engine over the lake lake_dir without a catalog (every object env finds in its folders).
  static Result<std::unique_ptr<QueryEngine>> Open(Env* env, const std::string& lake_dir, QueryOptions options);
  static Result<std::unique_ptr<QueryEngine>> Open(std::unique_ptr<LakeFiles> files, const std::string& lake_dir,
                                                   QueryOptions options);
  ~QueryEngine();

  //! Runs one statement (several, unless read_only_sql). SQL errors and refusals are InvalidArgument
  //! with DuckDB's message; a timeout is Aborted.
  Result<QueryResult> Run(const std::string& sql);
  //! Runs one statement of our own and calls fn with each row, a chunk at a time, for results too
  //! large to hold as Cells (a Cell is ten times a DuckDB value). Columns must be BOOLEAN,
  //! integers, DOUBLE or VARCHAR (cast others in the SQL); InvalidArgument otherwise. No row limit.
  Status ForEachRow(const std::string& sql, const std::function<void(const std::vector<Cell>&)>& fn);

 private:
  struct Handles;
  QueryEngine(std::unique_ptr<LakeFiles> files, QueryOptions options, std::unique_ptr<Handles> handles);
  Status RefreshViews();
  //! Parses sql; with read_only_sql, refuses all but exactly one SELECT, before anything is bound.
  Status Check(const std::string& sql);
  Result<QueryResult> Execute(const std::string& sql);

  std::unique_ptr<LakeFiles> files_;
  const QueryOptions options_;
  std::unique_ptr<Handles> h_;
};

}  // namespace sp
