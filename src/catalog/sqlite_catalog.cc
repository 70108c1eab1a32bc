// The embedded catalog: one SQLite file in WAL mode, so the daemon writes while `sensorpipe query`
// and `lake ls` read from other processes. synchronous=FULL makes a committed transaction survive
// a power cut, which the lake's guarantees build on (a checkpoint is never ahead of the catalog).
#include <sqlite3.h>

#include <mutex>

#include "catalog/catalog.h"

namespace sp {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS metadata(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO metadata VALUES ('format_version', '1');
CREATE TABLE IF NOT EXISTS snapshot(snapshot_id INTEGER PRIMARY KEY, snapshot_time INTEGER NOT NULL,
  changes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS data_file(data_file_id INTEGER PRIMARY KEY, view TEXT NOT NULL,
  partition TEXT NOT NULL, path TEXT NOT NULL, format TEXT NOT NULL, record_count INTEGER NOT NULL,
  file_size_bytes INTEGER NOT NULL, min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL,
  begin_snapshot INTEGER NOT NULL, end_snapshot INTEGER);
CREATE UNIQUE INDEX IF NOT EXISTS data_file_current_path ON data_file(path) WHERE end_snapshot IS NULL;
CREATE INDEX IF NOT EXISTS data_file_current ON data_file(view, partition) WHERE end_snapshot IS NULL;
CREATE TABLE IF NOT EXISTS file_offsets(data_file_id INTEGER NOT NULL, shard INTEGER NOT NULL,
  first_offset INTEGER NOT NULL, last_offset INTEGER NOT NULL, PRIMARY KEY(data_file_id, shard));
CREATE TABLE IF NOT EXISTS delivery_offset(consumer TEXT NOT NULL, shard INTEGER NOT NULL,
  next_offset INTEGER NOT NULL, PRIMARY KEY(consumer, shard));
CREATE TABLE IF NOT EXISTS compaction(compaction_id INTEGER PRIMARY KEY, view TEXT NOT NULL,
  partition TEXT NOT NULL, output_path TEXT NOT NULL, state TEXT NOT NULL, started_at INTEGER NOT NULL,
  finished_at INTEGER, input_files INTEGER NOT NULL, input_records INTEGER NOT NULL, output_records INTEGER);
CREATE TABLE IF NOT EXISTS compaction_input(compaction_id INTEGER NOT NULL, data_file_id INTEGER NOT NULL,
  PRIMARY KEY(compaction_id, data_file_id));
CREATE TABLE IF NOT EXISTS files_scheduled_for_deletion(data_file_id INTEGER PRIMARY KEY, path TEXT NOT NULL,
  schedule_start INTEGER NOT NULL);
)sql";

// One prepared statement, finalized when it goes out of scope. Bind and read by 1-based /
// 0-based index, as SQLite does.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  //! SQLITE_ROW, SQLITE_DONE, or an error code.
  int Step() { return rc_ == SQLITE_OK ? sqlite3_step(s_) : rc_; }
  int64_t Int(int col) { return sqlite3_column_int64(s_, col); }
  std::string Text(int col) {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

class SqliteCatalog final : public Catalog {
 public:
  SqliteCatalog(sqlite3* db, Clock* clock) : db_(db), clock_(clock) {}
  ~SqliteCatalog() override { sqlite3_close(db_); }

  Status Init() {
    // WAL lets readers in other processes go on while a transaction commits; FULL syncs the WAL
    // at every commit. A busy timeout rather than SQLITE_BUSY errors: the compactor of
    // `sensorpipe compact` and the daemon's delivery both write, briefly.
    SP_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    SP_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
    sqlite3_busy_timeout(db_, 10'000);
    return Exec(kSchema);
  }

  Result<std::map<uint32_t, uint64_t>> DeliveryOffsets(const std::string& consumer) override {
    std::lock_guard lock(mu_);
    std::map<uint32_t, uint64_t> out;
    Stmt q(db_, "SELECT shard, next_offset FROM delivery_offset WHERE consumer = ?");
    q.Bind(1, consumer);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out[static_cast<uint32_t>(q.Int(0))] = static_cast<uint64_t>(q.Int(1));
    SP_RETURN_IF_ERROR(Check(rc, "reading delivery offsets"));
    return out;
  }

  Status CommitDelivery(const std::string& consumer, const std::vector<DataFile>& files,
                        const std::map<uint32_t, uint64_t>& next_offsets) override {
    std::lock_guard lock(mu_);
    return Transaction("delivered:" + consumer + ":" + std::to_string(files.size()), [&](int64_t snapshot) -> Status {
      for (const DataFile& f : files) {
        // A redelivered object has the name and bytes of one that never committed, so a current
        // row with its path cannot exist; if it does, the unique index stops the transaction.
        SP_RETURN_IF_ERROR(Insert(f, snapshot).status());
      }
      return SetOffsets(consumer, next_offsets);
    });
  }

  Status Rewind(const std::string& consumer, const std::vector<int64_t>& ended,
                const std::map<uint32_t, uint64_t>& next_offsets) override {
    std::lock_guard lock(mu_);
    return Transaction("rewound:" + consumer, [&](int64_t snapshot) -> Status {
      for (int64_t id : ended) {
        Stmt end(db_, "UPDATE data_file SET end_snapshot = ? WHERE data_file_id = ? AND end_snapshot IS NULL");
        end.Bind(1, snapshot).Bind(2, id);
        SP_RETURN_IF_ERROR(Check(end.Step(), "ending a file"));
        Stmt del(db_,
                 "INSERT OR REPLACE INTO files_scheduled_for_deletion SELECT data_file_id, path, 0 "
                 "FROM data_file WHERE data_file_id = ?");
        del.Bind(1, id);
        SP_RETURN_IF_ERROR(Check(del.Step(), "scheduling a deletion"));
      }
      return SetOffsets(consumer, next_offsets);
    });
  }

  Result<std::set<std::string>> KnownPaths(const std::string& prefix) override {
    std::lock_guard lock(mu_);
    std::set<std::string> out;
    Stmt q(db_,
           "SELECT path FROM data_file WHERE end_snapshot IS NULL AND substr(path, 1, length(?1)) = ?1 "
           "UNION SELECT path FROM files_scheduled_for_deletion WHERE substr(path, 1, length(?1)) = ?1");
    q.Bind(1, prefix);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.insert(q.Text(0));
    SP_RETURN_IF_ERROR(Check(rc, "listing paths"));
    return out;
  }

  Result<std::vector<DataFile>> CurrentFiles(const std::string& view) override {
    std::lock_guard lock(mu_);
    return Files("d.end_snapshot IS NULL AND (?1 = '' OR d.view = ?1)", {view});
  }

  Result<std::vector<DataFile>> PartitionFiles(const std::string& view, const std::string& partition) override {
    std::lock_guard lock(mu_);
    return Files("d.end_snapshot IS NULL AND d.view = ?1 AND d.partition = ?2", {view, partition});
  }

  Result<std::vector<FileGroup>> CurrentFileGroups(const std::string& view) override {
    std::lock_guard lock(mu_);
    std::vector<FileGroup> out;
    Stmt q(db_,
           "SELECT d.view, d.partition, d.format, count(*), sum(d.record_count), sum(d.file_size_bytes), "
           "min(d.min_ts), max(s.snapshot_time) FROM data_file d JOIN snapshot s ON s.snapshot_id = d.begin_snapshot "
           "WHERE d.end_snapshot IS NULL AND (?1 = '' OR d.view = ?1) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
    q.Bind(1, view);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      out.push_back({q.Text(0), q.Text(1), q.Text(2), static_cast<uint64_t>(q.Int(3)), static_cast<uint64_t>(q.Int(4)),
                     static_cast<uint64_t>(q.Int(5)), q.Int(6), q.Int(7)});
    }
    SP_RETURN_IF_ERROR(Check(rc, "counting files"));
    return out;
  }

  Result<std::vector<CompactionRecord>> RecentCompactions(size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<CompactionRecord> out;
    Stmt q(db_,
           "SELECT compaction_id, partition, state, started_at, coalesce(finished_at, 0), input_files, "
           "input_records, coalesce(output_records, 0) FROM compaction ORDER BY compaction_id DESC LIMIT ?");
    q.Bind(1, static_cast<int64_t>(limit));
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      out.push_back({q.Int(0), q.Text(1), q.Text(2), q.Int(3), q.Int(4), static_cast<uint64_t>(q.Int(5)),
                     static_cast<uint64_t>(q.Int(6)), static_cast<uint64_t>(q.Int(7))});
    }
    SP_RETURN_IF_ERROR(Check(rc, "listing compactions"));
    return out;
  }

  Result<Compaction> BeginCompaction(const std::string& view, const std::string& partition,
                                     const std::vector<DataFile>& inputs, const std::string& output_dir) override {
    std::lock_guard lock(mu_);
    Compaction c{0, view, partition, "", inputs};
    uint64_t records = 0;
    for (const DataFile& f : inputs) records += f.records;
    SP_RETURN_IF_ERROR(Transaction("compaction-begin:" + view + ":" + partition, [&](int64_t) -> Status {
      SP_RETURN_IF_ERROR(CheckCurrent(inputs));
      Stmt q(db_,
             "INSERT INTO compaction(view, partition, output_path, state, started_at, input_files, input_records) "
             "VALUES (?, ?, '', 'running', ?, ?, ?)");
      q.Bind(1, view).Bind(2, partition).Bind(3, clock_->NowMicros());
      q.Bind(4, static_cast<int64_t>(inputs.size())).Bind(5, static_cast<int64_t>(records));
      SP_RETURN_IF_ERROR(Check(q.Step(), "recording a compaction"));
      c.id = sqlite3_last_insert_rowid(db_);
      c.output_path = output_dir + "/" + view + "-" + Padded(c.id) + ".parquet";
      Stmt u(db_, "UPDATE compaction SET output_path = ? WHERE compaction_id = ?");
      u.Bind(1, c.output_path).Bind(2, c.id);
      SP_RETURN_IF_ERROR(Check(u.Step(), "recording a compaction"));
      for (const DataFile& f : inputs) {
        Stmt i(db_, "INSERT INTO compaction_input VALUES (?, ?)");
        i.Bind(1, c.id).Bind(2, f.id);
        SP_RETURN_IF_ERROR(Check(i.Step(), "recording a compaction's inputs"));
      }
      return Status::OK();
    }));
    return c;
  }

  Status CommitCompaction(const Compaction& c, DataFile output) override {
    std::lock_guard lock(mu_);
    return Transaction("compacted:" + c.view + ":" + c.partition, [&](int64_t snapshot) -> Status {
      SP_RETURN_IF_ERROR(CheckCurrent(c.inputs));
      const int64_t now = clock_->NowMicros();
      for (const DataFile& f : c.inputs) {
        Stmt end(db_, "UPDATE data_file SET end_snapshot = ? WHERE data_file_id = ?");
        end.Bind(1, snapshot).Bind(2, f.id);
        SP_RETURN_IF_ERROR(Check(end.Step(), "ending a compacted file"));
        Stmt del(db_, "INSERT INTO files_scheduled_for_deletion VALUES (?, ?, ?)");
        del.Bind(1, f.id).Bind(2, f.path).Bind(3, now);
        SP_RETURN_IF_ERROR(Check(del.Step(), "scheduling a deletion"));
      }
      SP_RETURN_IF_ERROR(Insert(output, snapshot).status());
      Stmt q(db_,
             "UPDATE compaction SET state = 'committed', finished_at = ?, output_records = ? "
             "WHERE compaction_id = ? AND state = 'running'");
      q.Bind(1, now).Bind(2, static_cast<int64_t>(output.records)).Bind(3, c.id);
      SP_RETURN_IF_ERROR(Check(q.Step(), "committing a compaction"));
      if (sqlite3_changes(db_) != 1) return Status::Aborted("compaction " + std::to_string(c.id) + " is not running");
      return Status::OK();
    });
  }

  Status AbortCompaction(int64_t compaction_id) override {
    std::lock_guard lock(mu_);
    return Transaction("compaction-abort:" + std::to_string(compaction_id), [&](int64_t) -> Status {
      Stmt q(db_,
             "UPDATE compaction SET state = 'aborted', finished_at = ? WHERE compaction_id = ? AND state = 'running'");
      q.Bind(1, clock_->NowMicros()).Bind(2, compaction_id);
      return Check(q.Step(), "aborting a compaction");
    });
  }

  Result<std::vector<Compaction>> RunningCompactions() override {
    std::lock_guard lock(mu_);
    std::vector<Compaction> out;
    Stmt q(db_, "SELECT compaction_id, view, partition, output_path FROM compaction WHERE state = 'running'");
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back({q.Int(0), q.Text(1), q.Text(2), q.Text(3), {}});
    SP_RETURN_IF_ERROR(Check(rc, "listing running compactions"));
    for (Compaction& c : out) {
      SP_ASSIGN_OR_RETURN(
          c.inputs, Files("d.data_file_id IN (SELECT data_file_id FROM compaction_input WHERE compaction_id = ?1)",
                          {std::to_string(c.id)}));
    }
    return out;
  }

  Result<std::vector<ScheduledDeletion>> DeletionsDue(int64_t scheduled_before_us) override {
    std::lock_guard lock(mu_);
    std::vector<ScheduledDeletion> out;
    Stmt q(db_,
           "SELECT data_file_id, path, schedule_start FROM files_scheduled_for_deletion WHERE schedule_start <= ? "
           "ORDER BY data_file_id");
    q.Bind(1, scheduled_before_us);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back({q.Int(0), q.Text(1), q.Int(2)});
    SP_RETURN_IF_ERROR(Check(rc, "listing deletions"));
    return out;
  }

  Status DeletionsDone(const std::vector<int64_t>& ids) override {
    std::lock_guard lock(mu_);
    return Transaction("deleted:" + std::to_string(ids.size()), [&](int64_t) -> Status {
      for (int64_t id : ids) {
        Stmt q(db_, "DELETE FROM files_scheduled_for_deletion WHERE data_file_id = ?");
        q.Bind(1, id);
        SP_RETURN_IF_ERROR(Check(q.Step(), "forgetting a deletion"));
      }
      return Status::OK();
    });
  }

 private:
  static std::string Padded(int64_t id) {
    std::string s = std::to_string(id);
    return std::string(s.size() < 12 ? 12 - s.size() : 0, '0') + s;
  }

  Status Check(int rc, const char* what) {
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::OK();
    return Status::IOError(std::string("catalog: ") + what + ": " + sqlite3_errmsg(db_));
  }

  Status Exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) == SQLITE_OK) return Status::OK();
    std::string msg = error ? error : "unknown error";
    sqlite3_free(error);
    return Status::IOError("catalog: " + msg);
  }

  // Runs body inside BEGIN IMMEDIATE ... COMMIT with a new snapshot row; rolls back if it fails.
  // IMMEDIATE takes the write lock at once, so two writers queue instead of failing at COMMIT.
  template <typename Body>
  Status Transaction(const std::string& changes, Body body) {
    SP_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Stmt q(db_, "INSERT INTO snapshot(snapshot_time, changes) VALUES (?, ?)");
    q.Bind(1, clock_->NowMicros()).Bind(2, changes);
    Status s = Check(q.Step(), "adding a snapshot");
    if (s.ok()) s = body(sqlite3_last_insert_rowid(db_));
    if (s.ok()) s = Exec("COMMIT");
    if (!s.ok()) Exec("ROLLBACK");  // a failed COMMIT may leave the transaction open
    return s;
  }

  Status SetOffsets(const std::string& consumer, const std::map<uint32_t, uint64_t>& next_offsets) {
    for (const auto& [shard, next] : next_offsets) {
      Stmt q(db_, "INSERT OR REPLACE INTO delivery_offset VALUES (?, ?, ?)");
      q.Bind(1, consumer).Bind(2, shard).Bind(3, static_cast<int64_t>(next));
      SP_RETURN_IF_ERROR(Check(q.Step(), "setting delivery offsets"));
    }
    return Status::OK();
  }

  Status CheckCurrent(const std::vector<DataFile>& files) {
    for (const DataFile& f : files) {
      Stmt q(db_, "SELECT 1 FROM data_file WHERE data_file_id = ? AND end_snapshot IS NULL");
      q.Bind(1, f.id);
      int rc = q.Step();
      SP_RETURN_IF_ERROR(Check(rc, "checking a file"));
      if (rc != SQLITE_ROW) return Status::Aborted(f.path + " is no longer current");
    }
    return Status::OK();
  }

  Result<int64_t> Insert(const DataFile& f, int64_t snapshot) {
    Stmt q(db_,
           "INSERT INTO data_file(view, partition, path, format, record_count, file_size_bytes, min_ts, max_ts, "
           "begin_snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, f.view).Bind(2, f.partition).Bind(3, f.path).Bind(4, f.format);
    q.Bind(5, static_cast<int64_t>(f.records)).Bind(6, static_cast<int64_t>(f.bytes));
    q.Bind(7, f.min_ts).Bind(8, f.max_ts).Bind(9, snapshot);
    SP_RETURN_IF_ERROR(Check(q.Step(), ("registering " + f.path).c_str()));
    const int64_t id = sqlite3_last_insert_rowid(db_);
    for (const OffsetRange& r : f.offsets) {
      Stmt o(db_, "INSERT INTO file_offsets VALUES (?, ?, ?, ?)");
      o.Bind(1, id).Bind(2, r.shard).Bind(3, static_cast<int64_t>(r.first)).Bind(4, static_cast<int64_t>(r.last));
      SP_RETURN_IF_ERROR(Check(o.Step(), "registering offsets"));
    }
    return id;
  }

  // Files matching a condition on data_file d, with ?1, ?2, ... bound to args, and their offsets.
  Result<std::vector<DataFile>> Files(const std::string& where, const std::vector<std::string>& args) {
    std::vector<DataFile> out;
    Stmt q(db_, ("SELECT d.data_file_id, d.view, d.partition, d.path, d.format, d.record_count, d.file_size_bytes, "
                 "d.min_ts, d.max_ts, s.snapshot_time FROM data_file d JOIN snapshot s ON "
                 "s.snapshot_id = d.begin_snapshot WHERE " +
                 where + " ORDER BY d.view, d.partition, d.path")
                    .c_str());
    for (size_t i = 0; i < args.size(); ++i) q.Bind(static_cast<int>(i + 1), args[i]);
    int rc;
    std::map<int64_t, size_t> at;
    while ((rc = q.Step()) == SQLITE_ROW) {
      DataFile f{q.Int(0),
                 q.Text(1),
                 q.Text(2),
                 q.Text(3),
                 q.Text(4),
                 static_cast<uint64_t>(q.Int(5)),
                 static_cast<uint64_t>(q.Int(6)),
                 q.Int(7),
                 q.Int(8),
                 q.Int(9),
                 {}};
      at[f.id] = out.size();
      out.push_back(std::move(f));
    }
    SP_RETURN_IF_ERROR(Check(rc, "listing files"));
    if (out.empty()) return out;
    Stmt o(db_, ("SELECT o.data_file_id, o.shard, o.first_offset, o.last_offset FROM file_offsets o JOIN data_file d "
                 "ON d.data_file_id = o.data_file_id WHERE " +
                 where + " ORDER BY o.data_file_id, o.shard")
                    .c_str());
    for (size_t i = 0; i < args.size(); ++i) o.Bind(static_cast<int>(i + 1), args[i]);
    while ((rc = o.Step()) == SQLITE_ROW) {
      out[at[o.Int(0)]].offsets.push_back(
          {static_cast<uint32_t>(o.Int(1)), static_cast<uint64_t>(o.Int(2)), static_cast<uint64_t>(o.Int(3))});
    }
    SP_RETURN_IF_ERROR(Check(rc, "listing offsets"));
    return out;
  }

  sqlite3* db_;
  Clock* clock_;
  std::mutex mu_;  // one connection, used by delivery and compaction threads in turn
};

}  // namespace

Result<std::unique_ptr<Catalog>> OpenSqliteCatalog(const std::string& path, Clock* clock) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::IOError("cannot open the catalog " + path + ": " + msg);
  }
  auto catalog = std::make_unique<SqliteCatalog>(db, clock);
  SP_RETURN_IF_ERROR(catalog->Init().WithContext(path));
  return std::unique_ptr<Catalog>(std::move(catalog));
}

}  // namespace sp
