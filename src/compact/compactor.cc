#include "compact/compactor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "common/crash_point.h"
#include "common/file_lock.h"
#include "common/thread_name.h"
#include "common/time.h"

namespace sp {

namespace {

constexpr int64_t kHourUs = 3'600'000'000;

// The compactor's DuckDB reads the files a compaction names, not the lake's views.
class NoLakeFiles final : public LakeFiles {
 public:
  Result<LakeSnapshot> Current() override { return LakeSnapshot{}; }
};

bool IsParquet(const DataFile& f) {
  return f.format == "parquet";
}

}  // namespace

CompactionScope CompactionDue(std::span<const FileGroup> partition, int64_t now_us, const CompactorOptions& options,
                              bool now) {
  uint64_t raw = 0, files = 0;
  int64_t min_ts = INT64_MAX, newest = 0;
  for (const FileGroup& g : partition) {
    if (g.format != "parquet") raw += g.files;
    files += g.files;
    min_ts = std::min(min_ts, g.min_ts);
    newest = std::max(newest, g.newest_added_us);
  }
  if (raw == 0 && files < 2) return CompactionScope::kNone;  // its one Parquet file, or nothing
  if (now) return CompactionScope::kAllFiles;
  // Quiet: the hour is over and nothing arrived for a while, so what is there will likely stay.
  const int64_t grace = int64_t{options.grace_s} * 1'000'000;
  const int64_t hour_end = (FloorDiv(min_ts, kHourUs) + 1) * kHourUs;
  if (hour_end + grace <= now_us && newest + grace <= now_us) return CompactionScope::kAllFiles;
  return raw >= options.objects ? CompactionScope::kRawFiles : CompactionScope::kNone;
}

Compactor::Compactor(Catalog* catalog, ObjectStore* store, Env* env, Clock* clock, Metrics* metrics,
                     CompactorOptions options, std::vector<std::unique_ptr<QueryEngine>> engines)
    : catalog_(catalog),
      store_(store),
      env_(env),
      clock_(clock),
      options_(std::move(options)),
      engines_(std::move(engines)) {
  compactions_ = metrics->GetCounter("sensorpipe_compactions_total", "Compactions committed.");
  failures_ = metrics->GetCounter("sensorpipe_compaction_failures_total", "Compactions that failed (retried later).");
  rows_in_ = metrics->GetCounter("sensorpipe_compaction_rows_read_total", "Rows read by committed compactions.");
  rows_out_ = metrics->GetCounter("sensorpipe_compaction_rows_written_total",
                                  "Rows written by committed compactions (read minus duplicates).");
  deleted_ = metrics->GetCounter("sensorpipe_lake_objects_deleted_total",
                                 "Lake objects deleted after compaction replaced them.");
}

Compactor::~Compactor() {
  Stop();
}

Result<std::unique_ptr<Compactor>> Compactor::Open(Catalog* catalog, ObjectStore* store, Env* env, Clock* clock,
                                                   Metrics* metrics, CompactorOptions options) {
  SP_RETURN_IF_ERROR(env->CreateDirs(JoinPath(options.tmp_dir, "duckdb")));
  QueryOptions q;
  // Sorting an hour of a busy lake can exceed memory: DuckDB spills to the temp folder instead.
  // Insertion order means nothing to a sorted COPY, and keeping it costs memory.
  q.settings = {"SET memory_limit = " + SqlString(options.memory_limit),
                "SET temp_directory = " + SqlString(JoinPath(options.tmp_dir, "duckdb")),
                "SET preserve_insertion_order = false"};
  // Each worker its own DuckDB: an hour's Parquet file is written by one thread, so a second
  // compaction keeps the other core busy meanwhile. Each takes its share of the cores: more
  // threads than cores only adds switching.
  const int workers = std::max(options.workers, 1);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  q.settings.push_back("SET threads = " + std::to_string(std::max(1, cores / workers)));
  std::vector<std::unique_ptr<QueryEngine>> engines;
  for (int i = 0; i < workers; ++i) {
    SP_ASSIGN_OR_RETURN(auto engine, QueryEngine::Open(std::make_unique<NoLakeFiles>(), options.tmp_dir, q));
    engines.push_back(std::move(engine));
  }
  return std::unique_ptr<Compactor>(
      new Compactor(catalog, store, env, clock, metrics, std::move(options), std::move(engines)));
}

Status Compactor::Recover() {
  // We hold the compaction lock, so a compaction still marked running was left by a process that
  // died. Its inputs were never touched; its output, if it was put, is named by no current row.
  SP_ASSIGN_OR_RETURN(std::vector<Compaction> running, catalog_->RunningCompactions());
  for (const Compaction& c : running) {
    spdlog::warn("compaction {} of {} did not finish; rolling it back", c.id, c.partition);
    SP_RETURN_IF_ERROR(store_->Delete(c.output_path));
    SP_RETURN_IF_ERROR(catalog_->AbortCompaction(c.id));
  }
  if (recovered_) return Status::OK();
  // Once per process: objects under compacted/ no row names (an output put just before a crash
  // whose compaction row was then aborted by an older recovery), and stray temporary files.
  SP_ASSIGN_OR_RETURN(std::set<std::string> known, catalog_->KnownPaths("compacted/"));
  SP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, store_->List("compacted/"));
  for (const ObjectInfo& o : objects) {
    if (known.count(o.key)) continue;
    spdlog::info("compactor: removing {}, which no compaction committed", o.key);
    SP_RETURN_IF_ERROR(store_->Delete(o.key));
  }
  SP_ASSIGN_OR_RETURN(std::vector<std::string> tmp, env_->GetChildren(options_.tmp_dir));
  for (const std::string& name : tmp) {
    if (name.size() > 8 && name.compare(name.size() - 8, 8, ".parquet") == 0) {
      SP_RETURN_IF_ERROR(env_->RemoveFile(JoinPath(options_.tmp_dir, name)));
    }
  }
  recovered_ = true;
  return Status::OK();
}

Result<size_t> Compactor::RunOnce(const CompactSelection& selection, bool wait,
                                  const std::function<void(const CompactProgress&)>& progress) {
  auto lock = FileLock::Acquire(options_.lock_path, wait);
  if (!lock.ok() && lock.status().code() == Status::Code::kUnavailable) return size_t{0};  // another compactor
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(Recover());

  // Which partitions are due is decided from counts; only their files are listed, since a busy
  // lake holds thousands and this runs every second.
  SP_ASSIGN_OR_RETURN(std::vector<FileGroup> groups, catalog_->CurrentFileGroups("readings"));
  const int64_t now = clock_->NowMicros();
  std::vector<std::pair<std::string, CompactionScope>> due;
  for (auto begin = groups.begin(); begin != groups.end();) {
    auto end = std::find_if(begin, groups.end(), [&](const FileGroup& g) { return g.partition != begin->partition; });
    if (begin->partition.starts_with(selection.partition)) {
      const CompactionScope scope = CompactionDue({begin, end}, now, options_, selection.now);
      if (scope != CompactionScope::kNone) due.emplace_back(begin->partition, scope);
    }
    begin = end;
  }

  // Workers take the due partitions in order; catalog transactions serialise among them.
  std::mutex mu;  // guards the three below and the progress callback
  size_t next = 0, done = 0;
  Status first_error;
  auto work = [&](QueryEngine* engine) {
    while (!stopping_) {
      CompactProgress p;
      CompactionScope scope;
      {
        std::lock_guard lock(mu);
        if (next == due.size()) return;
        p.index = ++next;
        p.total = due.size();
        std::tie(p.partition, scope) = due[p.index - 1];
      }
      auto inputs = catalog_->PartitionFiles("readings", p.partition);
      if (inputs.ok() && scope == CompactionScope::kRawFiles) std::erase_if(*inputs, IsParquet);
      if (inputs.ok() && inputs->empty()) continue;  // rewound since counted
      Status s = inputs.status();
      if (s.ok()) {
        p.input_files = inputs->size();
        for (const DataFile& f : *inputs) p.input_records += f.records;
        {
          std::lock_guard lock(mu);
          if (progress) progress(p);
        }
        s = Compact(engine, p.partition, *inputs, &p);
      }
      std::lock_guard lock(mu);
      if (!s.ok()) {
        failures_->Inc();
        spdlog::error("compaction of {} failed: {}", p.partition, s.ToString());
        if (first_error.ok()) first_error = s;
        continue;
      }
      ++done;
      p.done = true;
      if (progress) progress(p);
    }
  };
  std::vector<std::thread> helpers;
  for (size_t w = 1; w < engines_.size() && w < due.size(); ++w) helpers.emplace_back(work, engines_[w].get());
  work(engines_[0].get());
  for (std::thread& t : helpers) t.join();
  SP_RETURN_IF_ERROR(DeleteDue());
  SP_RETURN_IF_ERROR(first_error);
  return done;
}

Status Compactor::Compact(QueryEngine* engine, const std::string& partition, const std::vector<DataFile>& inputs,
                          CompactProgress* p) {
  const int64_t started = clock_->MonotonicMicros();
  // Local files of the inputs, fetched before the compaction begins (a remote store's go through
  // its cache) and kept until DuckDB has read them.
  std::vector<ObjectInfo> objects;
  for (const DataFile& f : inputs) objects.push_back({f.path, f.bytes});
  SP_ASSIGN_OR_RETURN(const PinnedFiles local, store_->Pin(objects));
  SP_ASSIGN_OR_RETURN(Compaction c, catalog_->BeginCompaction("readings", partition, inputs, "compacted/" + partition));
  SP_CRASH_POINT("compact.after_begin");

  std::vector<std::string> json, parquet;
  DataFile out{0, "readings", partition, c.output_path, "parquet", 0, 0, inputs[0].min_ts, inputs[0].max_ts, 0, {}};
  std::map<uint32_t, OffsetRange> hull;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const DataFile& f = inputs[i];
    (IsParquet(f) ? parquet : json).push_back(local.paths()[i]);
    out.min_ts = std::min(out.min_ts, f.min_ts);
    out.max_ts = std::max(out.max_ts, f.max_ts);
    for (const OffsetRange& r : f.offsets) {
      auto [at, added] = hull.try_emplace(r.shard, r);
      at->second.first = std::min(at->second.first, r.first);
      at->second.last = std::max(at->second.last, r.last);
    }
  }
  for (const auto& [shard, r] : hull) out.offsets.push_back(r);

  // One row per (device, seq, ts) as the readings view keeps it, sorted so a device's hour is
  // contiguous. V2 pages keep sorted data small (FACTS.md: the default writer grows it 38 %), and
  // row groups of a million rows rather than DuckDB's 122,880 took 2M seed-shaped rows from 13.5
  // to 9.9 bytes each (fewer dictionaries and page headers), for about 100 MB more while writing;
  // but an hour is then written by one thread (P9 fell from 0.58 to 0.44 of DuckDB's COPY).
  const std::string tmp = JoinPath(options_.tmp_dir, std::to_string(c.id) + ".parquet");
  const std::string sql = "COPY (" + ReadingsSelect(json, parquet) + " ORDER BY device, ts) TO " + SqlString(tmp) +
                          " (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2, ROW_GROUP_SIZE " +
                          std::to_string(options_.row_group_rows) + ")";
  Result<QueryResult> copied = engine->Run(sql);
  Status s = copied.status();
  if (s.ok() && (copied->rows.size() != 1 || copied->rows[0].size() != 1)) s = Status::Corruption("COPY said nothing");
  if (s.ok()) {
    out.records = static_cast<uint64_t>(copied->rows[0][0].i);
    SP_CRASH_POINT("compact.after_write");
    auto size = env_->GetFileSize(tmp);
    s = size.status();
    if (s.ok()) out.bytes = *size;
  }
  if (s.ok()) s = store_->PutFile(c.output_path, tmp);
  if (s.ok()) {
    SP_CRASH_POINT("compact.after_put");
    s = catalog_->CommitCompaction(c, out);
  }
  if (!s.ok()) {
    // Nothing current changed: drop the output and the row, and try again in a later round.
    env_->RemoveFile(tmp);
    Status undo = store_->Delete(c.output_path);
    if (undo.ok()) undo = catalog_->AbortCompaction(c.id);
    if (!undo.ok()) spdlog::error("rolling back compaction {}: {}", c.id, undo.ToString());  // recovery does it
    return s;
  }
  SP_CRASH_POINT("compact.after_commit");
  compactions_->Inc();
  rows_in_->Inc(p->input_records);
  rows_out_->Inc(out.records);
  p->output_records = out.records;
  p->elapsed_us = clock_->MonotonicMicros() - started;
  return Status::OK();
}

Status Compactor::DeleteDue() {
  // Replaced files stay for delete_after_s: a query that listed them just before the swap may
  // still be reading them. The row goes only after the object, so a crash in between deletes again.
  SP_ASSIGN_OR_RETURN(std::vector<ScheduledDeletion> due,
                      catalog_->DeletionsDue(clock_->NowMicros() - int64_t{options_.delete_after_s} * 1'000'000));
  if (due.empty()) return Status::OK();
  std::vector<int64_t> ids;
  for (const ScheduledDeletion& d : due) {
    SP_RETURN_IF_ERROR(store_->Delete(d.path));
    SP_CRASH_POINT("compact.mid_delete");
    ids.push_back(d.data_file_id);
  }
  SP_RETURN_IF_ERROR(catalog_->DeletionsDone(ids));
  deleted_->Inc(ids.size());
  return Status::OK();
}

void Compactor::Start() {
  thread_ = std::thread([this] {
    NameThisThread("sp-compact");
    Loop();
  });
}

void Compactor::Notify() {
  {
    std::lock_guard lock(mu_);
    notified_ = true;
  }
  cv_.notify_one();
}

void Compactor::Stop() {
  stopping_ = true;
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Compactor::Loop() {
  while (!stopping_) {
    auto done = RunOnce(CompactSelection{}, /*wait=*/false);
    if (!done.ok()) spdlog::error("compactor: {}", done.status().ToString());
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(1), [&] { return notified_ || stopping_.load(); });
    notified_ = false;
  }
}

}  // namespace sp
