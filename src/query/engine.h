// The query stage, in place of Athena: DuckDB SQL over the lake through the views `readings` and
// `errors`. Each QueryEngine owns an in-memory DuckDB database; the views are rebuilt from the
// lake's current file list before every query, so a long-lived engine (the web server's) sees new
// objects, and a query never reads a half-written one (objects appear by atomic rename).
// One thread at a time may Run.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace sp {

//! Which files hold the lake's rows now. The directory scan is today's source; the catalog of
//! the lake issue becomes another implementation.
class LakeFiles {
 public:
  virtual ~LakeFiles() = default;
  virtual Result<std::vector<std::string>> RawFiles() = 0;
  virtual Result<std::vector<std::string>> ErrorFiles() = 0;
};

//! Scans lake_dir/raw and lake_dir/errors for *.ndjson.zst objects.
std::unique_ptr<LakeFiles> MakeDirectoryLakeFiles(Env* env, std::string lake_dir);

struct QueryOptions {
  int64_t row_limit = 0;   // 0: no limit; otherwise rows past it are dropped and `truncated` set
  int64_t timeout_ms = 0;  // 0: none; otherwise the query is interrupted after it
  //! For SQL from outside (HTTP): one SELECT only, and no file access beyond the lake.
  bool read_only_sql = false;
};

//! One value of a result.
struct Cell {
  enum class Type { kNull, kBool, kInt, kDouble, kString, kTimestamp, kDate };
  Type type = Type::kNull;
  int64_t i = 0;  // kBool (0/1), kInt, kTimestamp (UTC micros), kDate (days since the epoch)
  double d = 0;   // kDouble
  std::string s;  // kString, and every other DuckDB type rendered by DuckDB as text
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;
  bool truncated = false;  // the row limit cut the result
};

class QueryEngine {
 public:
  static Result<std::unique_ptr<QueryEngine>> Open(const std::string& lake_dir, QueryOptions options);
  static Result<std::unique_ptr<QueryEngine>> Open(std::unique_ptr<LakeFiles> files, const std::string& lake_dir,
                                                   QueryOptions options);
  ~QueryEngine();

  //! Runs one statement. SQL errors are InvalidArgument with DuckDB's message; a timeout is Aborted.
  Result<QueryResult> Run(const std::string& sql);

 private:
  struct Handles;
  QueryEngine(std::unique_ptr<LakeFiles> files, QueryOptions options, std::unique_ptr<Handles> handles);
  Status RefreshViews();
  Result<QueryResult> Execute(const std::string& sql);

  std::unique_ptr<LakeFiles> files_;
  const QueryOptions options_;
  std::unique_ptr<Handles> h_;
};

}  // namespace sp
