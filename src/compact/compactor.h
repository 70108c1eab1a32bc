// The compaction stage, in place of the original's Lambda, DynamoDB counter and Athena CTAS: when a
// partition (one event hour) of `readings` holds enough raw objects, or has gone quiet, DuckDB
// merges all of its current files into one Parquet file, deduplicated and sorted by device and
// time, and one catalog transaction swaps it in. Inputs are deleted only after that, and only
// after a grace period for queries that listed them. Every step survives a crash: a compaction
// that did not commit is rolled back at the next start (docs/format/catalog.md).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "catalog/catalog.h"
#include "common/env.h"
#include "common/metrics.h"
#include "query/engine.h"
#include "store/object_store.h"

namespace sp {

struct CompactorOptions {
  size_t objects = 20;                 // raw files that make a partition due
  int grace_s = 300;                   // a partition whose hour ended and newest file are older is due with > 1 file
  int delete_after_s = 300;            // how long replaced files stay for queries that listed them
  std::string tmp_dir;                 // local folder for Parquet files being written (same file system as the lake)
  std::string lock_path;               // flock'ed while compacting, so one process compacts a data folder
  std::string memory_limit = "1GB";    // DuckDB's, per worker
  int64_t row_group_rows = 1'000'000;  // Parquet row group size
  int workers = 2;                     // partitions compacted at once, each by its own DuckDB
};

//! Which partitions a round looks at, and whether thresholds apply.
struct CompactSelection {
  bool now = false;       // compact every partition with more than one file, or with a raw one
  std::string partition;  // only partitions starting with this ("dt=2022-07-14" or ".../hour=06")
};

struct CompactProgress {
  size_t index = 0, total = 0;  // this compaction is index of total (1-based)
  std::string partition;
  size_t input_files = 0;
  uint64_t input_records = 0, output_records = 0;
  int64_t elapsed_us = 0;
  bool done = false;  // false: starting; true: committed
};

//! What a compaction of a partition takes in, given its current files.
enum class CompactionScope {
  kNone,
  //! The raw files only, into one more Parquet file: the hour is still being written, and merging
  //! its earlier Parquet files each time would rewrite its rows over and over.
  kRawFiles,
  //! Every file, into the partition's one Parquet file: the hour is quiet (ended grace_s ago and
  //! no new file for grace_s), or `now` was asked for.
  kAllFiles,
};
//! kRawFiles when `objects` raw files wait; kAllFiles when a quiet partition or, with now, any
//! partition holds more than its one Parquet file (docs/format/catalog.md). `partition` is one
//! partition's current files, counted per format.
CompactionScope CompactionDue(std::span<const FileGroup> partition, int64_t now_us, const CompactorOptions& options,
                              bool now);

class Compactor {
 public:
  //! Nothing is owned; all must outlive the Compactor. env holds tmp_dir, where DuckDB writes the
  //! Parquet files before they are put into the store.
  static Result<std::unique_ptr<Compactor>> Open(Catalog* catalog, ObjectStore* store, Env* env, Clock* clock,
                                                 Metrics* metrics, CompactorOptions options);
  ~Compactor();

  //! Runs rounds in a background thread (after each delivery commit it is woken, and every second)
  //! until Stop.
  void Start();
  void Stop();
  //! Wakes the background thread for a round now.
  void Notify();

  //! One round under the compaction lock: recovery of what a crash left, the due compactions,
  //! the due deletions. Returns the compactions done. wait: block for the lock (else skip the
  //! round when another process holds it).
  Result<size_t> RunOnce(const CompactSelection& selection, bool wait,
                         const std::function<void(const CompactProgress&)>& progress = nullptr);

 private:
  Compactor(Catalog* catalog, ObjectStore* store, Env* env, Clock* clock, Metrics* metrics, CompactorOptions options,
            std::vector<std::unique_ptr<QueryEngine>> engines);
  Status Recover();
  Status Compact(QueryEngine* engine, const std::string& partition, const std::vector<DataFile>& inputs,
                 CompactProgress* p);
  Status DeleteDue();
  void Loop();

  Catalog* catalog_;
  ObjectStore* store_;
  Env* env_;
  Clock* clock_;
  const CompactorOptions options_;
  std::vector<std::unique_ptr<QueryEngine>> engines_;  // one DuckDB per worker, each with the memory limit
  bool recovered_ = false;

  Counter* compactions_;
  Counter* failures_;
  Counter* rows_in_;
  Counter* rows_out_;
  Counter* deleted_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sp
