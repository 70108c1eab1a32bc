#include "query/engine.h"

#include <duckdb.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "common/reading_columns.h"

namespace sp {

namespace {

// The columns of the views, fixed so types never depend on what DuckDB would infer from the
// files (and an empty lake has the same columns). The readings' are common/reading_columns.h's, as
// read_json's column map and as an empty SELECT, made once.
struct ReadingSql {
  std::string columns = "{";
  std::string empty = "SELECT ";
  ReadingSql() {
    for (size_t i = 0; i < kReadingViewColumns.size(); ++i) {
      const std::string name(kReadingViewColumns[i].name), type(SqlType(kReadingViewColumns[i].kind));
      const std::string separator = i == 0 ? "" : ", ";
      columns += separator + name + ": '" + type + "'";
      empty += separator + "NULL::" + type + " AS " + name;
    }
    columns += "}";
    empty += " WHERE false";
  }
};
const ReadingSql& Readings() {
  static const ReadingSql sql;
  return sql;
}
constexpr const char* kErrorColumns =
    "{received_at: 'TIMESTAMP', topic: 'VARCHAR', rule: 'VARCHAR', reason: 'VARCHAR', detail: 'VARCHAR', "
    "raw: 'VARCHAR', raw_base64: 'VARCHAR', raw_truncated: 'BOOLEAN', payload_size: 'BIGINT'}";
constexpr const char* kErrorEmpty =
    "SELECT NULL::TIMESTAMP AS received_at, NULL::VARCHAR AS topic, NULL::VARCHAR AS rule, NULL::VARCHAR AS reason, "
    "NULL::VARCHAR AS detail, NULL::VARCHAR AS raw, NULL::VARCHAR AS raw_base64, NULL::BOOLEAN AS raw_truncated, "
    "NULL::BIGINT AS payload_size WHERE false";

// A QoS 1 message whose acknowledgement a crash or reconnect cut off is delivered again and may
// be in the log, and so in the lake, twice; readings shows it once, as first received. The key is
// the dedup key of docs/architecture.md's "Contracts" (a device's count restarts at 0 when it
// reboots, hence the time).
constexpr const char* kReadingDedup =
    " QUALIFY row_number() OVER (PARTITION BY device, seq, ts ORDER BY received_at) = 1";

std::string FileList(const std::vector<std::string>& files) {
  std::string sql = "[";
  for (size_t i = 0; i < files.size(); ++i) {
    if (i) sql += ',';
    sql += SqlString(files[i]);
  }
  return sql + "]";
}

// compression 'auto_detect' picks zstd or gzip from the file name. The lake's folders look like
// Hive partitions (dt=.../hour=...), from which DuckDB would add columns dt and hour of its own
// inference; the views' columns are the fixed ones only.
std::string ReadJson(const std::vector<std::string>& files, const std::string& columns) {
  return "SELECT * FROM read_json(" + FileList(files) +
         ", format = 'newline_delimited', compression = 'auto_detect', hive_partitioning = false, columns = " +
         columns + ")";
}

std::string ViewSql(const char* name, const std::string& select) {
  return std::string("CREATE OR REPLACE TEMP VIEW ") + name + " AS " + select;
}

// How a column's values are kept: typed where an int64 or a double holds them exactly, as DuckDB
// renders them otherwise.
Cell::Type CellTypeOf(duckdb_result* res, idx_t column) {
  switch (duckdb_column_type(res, column)) {
    case DUCKDB_TYPE_BOOLEAN:
      return Cell::Type::kBool;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
      return Cell::Type::kInt;
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
      return Cell::Type::kDouble;
    case DUCKDB_TYPE_DECIMAL: {
      // A double holds every decimal of up to 15 digits (DBL_DIG) and prints it back the same.
      duckdb_logical_type logical = duckdb_column_logical_type(res, column);
      const uint8_t width = duckdb_decimal_width(logical);
      duckdb_destroy_logical_type(&logical);
      return width <= 15 ? Cell::Type::kDouble : Cell::Type::kNumber;
    }
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
      return Cell::Type::kNumber;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return Cell::Type::kTimestamp;  // the session zone is UTC
    case DUCKDB_TYPE_DATE:
      return Cell::Type::kDate;
    default:
      return Cell::Type::kString;
  }
}

std::string ValueText(duckdb_result* res, idx_t column, idx_t row) {
  char* text = duckdb_value_varchar(res, column, row);
  std::string out = text ? text : "";
  duckdb_free(text);
  return out;
}

// A DECIMAL's text without the zeros its scale pads it with (12.50 -> 12.5, 8100.00 -> 8100), the
// shortest exact form, as doubles are written.
std::string ExactNumber(std::string text) {
  if (text.find('.') == std::string::npos) return text;
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text;
}

class DirectoryLakeFiles final : public LakeFiles {
 public:
  DirectoryLakeFiles(Env* env, std::string lake_dir) : env_(env), lake_dir_(std::move(lake_dir)) {}
  Result<LakeSnapshot> Current() override {
    LakeSnapshot out;
    SP_ASSIGN_OR_RETURN(out.readings_json, Scan(JoinPath(lake_dir_, "raw")));
    SP_ASSIGN_OR_RETURN(out.errors_json, Scan(JoinPath(lake_dir_, "errors")));
    return out;
  }

 private:
  Result<std::vector<std::string>> Scan(const std::string& root) {
    std::vector<std::string> out;
    if (!env_->FileExists(root)) return out;
    SP_RETURN_IF_ERROR(Walk(root, &out));
    std::sort(out.begin(), out.end());
    return out;
  }
  Status Walk(const std::string& dir, std::vector<std::string>* out) {
    auto children = env_->GetChildren(dir);
    if (!children.ok()) {
      // A partition folder removed between listing and reading is not an error.
      return children.status().IsNotFound() ? Status::OK() : children.status();
    }
    for (const auto& name : *children) {
      const std::string path = JoinPath(dir, name);
      if (name.ends_with(".ndjson.zst") || name.ends_with(".ndjson.gz")) {
        out->push_back(path);
      } else if (name.starts_with("dt=") || name.starts_with("hour=") || name.starts_with("device=")) {
        SP_RETURN_IF_ERROR(Walk(path, out));
      }
    }
    return Status::OK();
  }
  Env* env_;
  std::string lake_dir_;
};

}  // namespace

std::string SqlString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string ReadingsSelect(const std::vector<std::string>& json_files, const std::vector<std::string>& parquet_files,
                           const std::vector<std::string>& unique_files) {
  auto read_parquet = [](const std::vector<std::string>& files) {
    return "SELECT * FROM read_parquet(" + FileList(files) + ", hive_partitioning = false)";
  };
  std::string deduplicated;
  if (!json_files.empty() || !parquet_files.empty()) {
    deduplicated = "SELECT * FROM (";
    if (!json_files.empty()) deduplicated += ReadJson(json_files, Readings().columns);
    if (!json_files.empty() && !parquet_files.empty()) deduplicated += " UNION ALL BY NAME ";
    if (!parquet_files.empty()) deduplicated += read_parquet(parquet_files);
    deduplicated += std::string(")") + kReadingDedup;
  }
  if (unique_files.empty()) return deduplicated.empty() ? Readings().empty : deduplicated;
  if (deduplicated.empty()) return read_parquet(unique_files);
  return read_parquet(unique_files) + " UNION ALL BY NAME (" + deduplicated + ")";
}

std::unique_ptr<LakeFiles> MakeDirectoryLakeFiles(Env* env, std::string lake_dir) {
  return std::make_unique<DirectoryLakeFiles>(env, std::move(lake_dir));
}

struct QueryEngine::Handles {
  duckdb_database db = nullptr;
  duckdb_connection conn = nullptr;
  ~Handles() {
    if (conn) duckdb_disconnect(&conn);
    if (db) duckdb_close(&db);
  }
};

QueryEngine::QueryEngine(std::unique_ptr<LakeFiles> files, QueryOptions options, std::unique_ptr<Handles> handles)
    : files_(std::move(files)), options_(options), h_(std::move(handles)) {}
QueryEngine::~QueryEngine() = default;

Result<std::unique_ptr<QueryEngine>> QueryEngine::Open(Env* env, const std::string& lake_dir, QueryOptions options) {
  const std::string absolute = AbsolutePath(lake_dir);
  return Open(MakeDirectoryLakeFiles(env, absolute), absolute, options);
}

Result<std::unique_ptr<QueryEngine>> QueryEngine::Open(std::unique_ptr<LakeFiles> files, const std::string& lake_dir,
                                                       QueryOptions options) {
  auto h = std::make_unique<Handles>();
  char* error = nullptr;
  if (duckdb_open_ext(nullptr, &h->db, nullptr, &error) != DuckDBSuccess) {
    std::string msg = error ? error : "unknown error";
    duckdb_free(error);
    return Status::Unavailable("cannot open DuckDB: " + msg);
  }
  if (duckdb_connect(h->db, &h->conn) != DuckDBSuccess) return Status::Unavailable("cannot connect to DuckDB");
  std::unique_ptr<QueryEngine> engine(new QueryEngine(std::move(files), options, std::move(h)));
  // Everything the lake stores is UTC, so date_trunc and friends work in UTC.
  std::vector<std::string> setup = {"SET TimeZone = 'UTC'"};
  setup.insert(setup.end(), options.settings.begin(), options.settings.end());
  if (options.read_only_sql) {
    // SQL from outside may read the lake and nothing else; once off, external access cannot be
    // switched back on in this instance (FACTS.md).
    setup.push_back("SET allowed_directories = [" + SqlString(lake_dir + "/") + "]");
    setup.push_back("SET enable_external_access = false");
    setup.push_back("SET lock_configuration = true");
  }
  for (const auto& sql : setup) {
    auto r = engine->Execute(sql);
    if (!r.ok()) return r.status().WithContext(sql);
  }
  return engine;
}

Status QueryEngine::RefreshViews() {
  SP_ASSIGN_OR_RETURN(LakeSnapshot files, files_->Current());
  auto r = Execute(
      ViewSql("readings", ReadingsSelect(files.readings_json, files.readings_parquet, files.readings_unique)));
  if (!r.ok()) return r.status();
  r = Execute(ViewSql("errors", files.errors_json.empty() ? kErrorEmpty : ReadJson(files.errors_json, kErrorColumns)));
  return r.status();
}

Status QueryEngine::Check(const std::string& sql) {
  // DuckDB's own parse, never a look at the text. A parse error comes from here, where its message
  // shows the LINE and caret once; duckdb_query's repeats them (DuckDB 1.4, duckdb/duckdb#19070).
  duckdb_extracted_statements extracted = nullptr;
  const idx_t n = duckdb_extract_statements(h_->conn, sql.c_str(), &extracted);
  const char* error = n == 0 ? duckdb_extract_statements_error(extracted) : nullptr;
  Status status = n == 0 ? Status::InvalidArgument(error ? error : "no SQL statement") : Status::OK();
  duckdb_destroy_extracted(&extracted);
  if (!status.ok() || !options_.read_only_sql) return status;
  if (n > 1) return Status::InvalidArgument("only one statement is allowed" + options_.refusal_hint);
  // The kind of statement is taken from the parse too, not from a prepared statement: binding
  // already acts for some (preparing EXPORT DATABASE creates its folder). json_serialize_sql
  // parses without binding and serialises SELECT statements only, with error = true for any other.
  SP_ASSIGN_OR_RETURN(QueryResult parsed, Execute("SELECT json_serialize_sql(" + SqlString(sql) + ")::JSON->>'error'"));
  if (parsed.rows.size() != 1 || parsed.rows[0][0].s != "false") {
    return Status::InvalidArgument(
        "only a SELECT statement is allowed (no COPY, EXPORT, ATTACH, CREATE, DROP, SET, ...)" + options_.refusal_hint);
  }
  return Status::OK();
}

Result<QueryResult> QueryEngine::Run(const std::string& sql) {
  // The views first: they are what the statement reads.
  SP_RETURN_IF_ERROR(RefreshViews());
  SP_RETURN_IF_ERROR(Check(sql));

  // There is no statement timeout in DuckDB: a timer interrupts the connection instead.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool timed_out = false;
  std::thread timer;
  if (options_.timeout_ms > 0) {
    timer = std::thread([&] {
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, std::chrono::milliseconds(options_.timeout_ms), [&] { return done; })) {
        timed_out = true;
        duckdb_interrupt(h_->conn);
      }
    });
  }
  auto result = Execute(sql);
  if (timer.joinable()) {
    {
      std::lock_guard lock(mu);
      done = true;
    }
    cv.notify_all();
    timer.join();
  }
  if (timed_out && !result.ok()) {
    return Status::Aborted("the query ran longer than " + std::to_string(options_.timeout_ms) + " ms");
  }
  return result;
}

Status QueryEngine::ForEachRow(const std::string& sql, const std::function<void(const std::vector<Cell>&)>& fn) {
  SP_RETURN_IF_ERROR(RefreshViews());
  duckdb_result res;
  if (duckdb_query(h_->conn, sql.c_str(), &res) != DuckDBSuccess) {
    std::string msg = duckdb_result_error(&res) ? duckdb_result_error(&res) : "query failed";
    duckdb_destroy_result(&res);
    return Status::InvalidArgument(msg);
  }
  const idx_t cols = duckdb_column_count(&res);
  std::vector<duckdb_type> types(cols);
  for (idx_t c = 0; c < cols; ++c) types[c] = duckdb_column_type(&res, c);
  std::vector<Cell> row(cols);
  Status status;
  for (duckdb_data_chunk chunk; status.ok() && (chunk = duckdb_fetch_chunk(res)) != nullptr;) {
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    std::vector<void*> data(cols);
    std::vector<uint64_t*> validity(cols);
    for (idx_t c = 0; c < cols; ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
      data[c] = duckdb_vector_get_data(v);
      validity[c] = duckdb_vector_get_validity(v);
    }
    for (idx_t r = 0; r < n && status.ok(); ++r) {
      for (idx_t c = 0; c < cols; ++c) {
        Cell& cell = row[c];
        cell.type = Cell::Type::kNull;
        if (validity[c] && !duckdb_validity_row_is_valid(validity[c], r)) continue;
        switch (types[c]) {
          case DUCKDB_TYPE_BOOLEAN: cell = {Cell::Type::kBool, static_cast<bool*>(data[c])[r]}; break;
          case DUCKDB_TYPE_INTEGER: cell = {Cell::Type::kInt, static_cast<int32_t*>(data[c])[r]}; break;
          case DUCKDB_TYPE_BIGINT: cell = {Cell::Type::kInt, static_cast<int64_t*>(data[c])[r]}; break;
          case DUCKDB_TYPE_DOUBLE:
            cell.type = Cell::Type::kDouble;
            cell.d = static_cast<double*>(data[c])[r];
            break;
          case DUCKDB_TYPE_VARCHAR: {
            duckdb_string_t* str = &static_cast<duckdb_string_t*>(data[c])[r];
            cell.type = Cell::Type::kString;
            cell.s.assign(duckdb_string_t_data(str), duckdb_string_t_length(*str));
            break;
          }
          default:
            status = Status::InvalidArgument("ForEachRow: column " + std::to_string(c) + " has an unsupported type");
        }
      }
      if (status.ok()) fn(row);
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  duckdb_destroy_result(&res);
  return status;
}

Result<QueryResult> QueryEngine::Execute(const std::string& sql) {
  duckdb_result res;
  if (duckdb_query(h_->conn, sql.c_str(), &res) != DuckDBSuccess) {
    std::string msg = duckdb_result_error(&res) ? duckdb_result_error(&res) : "query failed";
    // A file outside the lake (enable_external_access = false).
    if (duckdb_result_error_type(&res) == DUCKDB_ERROR_PERMISSION) msg += options_.refusal_hint;
    duckdb_destroy_result(&res);
    return Status::InvalidArgument(msg);
  }
  QueryResult out;
  const idx_t cols = duckdb_column_count(&res);
  for (idx_t c = 0; c < cols; ++c) out.columns.emplace_back(duckdb_column_name(&res, c));
  idx_t rows = duckdb_row_count(&res);
  if (options_.row_limit > 0 && rows > static_cast<idx_t>(options_.row_limit)) {
    rows = static_cast<idx_t>(options_.row_limit);
    out.truncated = true;
  }
  out.rows.resize(rows);
  // The materialised-result accessors handle every type (DECIMAL, HUGEINT, LIST, ...) through
  // DuckDB's own casts; typed cells keep numbers and times exact for the formatters.
  for (idx_t c = 0; c < cols; ++c) {
    const Cell::Type type = CellTypeOf(&res, c);
    for (idx_t r = 0; r < rows; ++r) {
      Cell& cell = out.rows[r].emplace_back();
      if (duckdb_value_is_null(&res, c, r)) continue;
      cell.type = type;
      switch (type) {
        case Cell::Type::kBool:
          cell.i = duckdb_value_boolean(&res, c, r);
          break;
        case Cell::Type::kInt:
          cell.i = duckdb_value_int64(&res, c, r);
          break;
        case Cell::Type::kDouble:
          cell.d = duckdb_value_double(&res, c, r);
          break;
        case Cell::Type::kTimestamp:
          cell.i = duckdb_value_timestamp(&res, c, r).micros;
          break;
        case Cell::Type::kDate:
          cell.i = duckdb_value_date(&res, c, r).days;
          break;
        case Cell::Type::kNumber:
          cell.s = ExactNumber(ValueText(&res, c, r));
          break;
        case Cell::Type::kNull:
        case Cell::Type::kString:
          cell.s = ValueText(&res, c, r);
          break;
      }
    }
  }
  duckdb_destroy_result(&res);
  return out;
}

}  // namespace sp
