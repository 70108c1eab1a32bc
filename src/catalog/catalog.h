// The lake's catalog, in place of the original's DynamoDB file counter: which objects the lake
// holds, which are current, the log positions delivery has written up to, and compactions in
// flight. Every change is one transaction, so delivery, compaction and queries never see half of
// a change (docs/format/catalog.md). SQLite under data_dir is the embedded implementation; a
// PostgreSQL catalog for several machines is a second implementation of this interface.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace sp {

//! The first and last log offset of a file's records in one shard.
struct OffsetRange {
  uint32_t shard = 0;
  uint64_t first = 0, last = 0;
};

struct DataFile {
  int64_t id = 0;         // assigned by the catalog
  std::string view;       // readings, errors, or a rule's stream
  std::string partition;  // dt=YYYY-MM-DD/hour=HH or dt=YYYY-MM-DD
  std::string path;       // object key
  std::string format;     // ndjson.zst, ndjson.gz or parquet
  uint64_t records = 0, bytes = 0;
  int64_t min_ts = 0, max_ts = 0;  // event time, µs UTC
  int64_t added_us = 0;            // when it became current (read only)
  std::vector<OffsetRange> offsets;
};

//! The current files of one view, partition and format, counted: what compaction decides by and the
//! lake's gauges show, without listing every file (a busy lake holds thousands).
struct FileGroup {
  std::string view, partition, format;
  uint64_t files = 0, records = 0, bytes = 0;
  int64_t min_ts = 0;           // the earliest event time in them, µs UTC
  int64_t newest_added_us = 0;  // when the latest of them became current
};

struct Compaction {
  int64_t id = 0;
  std::string view, partition, output_path;
  std::vector<DataFile> inputs;
};

struct ScheduledDeletion {
  int64_t data_file_id = 0;
  std::string path;
  int64_t since_us = 0;
};

struct CompactionRecord {
  int64_t id = 0;
  std::string partition, state;
  int64_t started_us = 0, finished_us = 0;
  uint64_t input_files = 0, input_records = 0, output_records = 0;
};

class Catalog {
 public:
  virtual ~Catalog() = default;

  // Delivery.
  //! The next offset per shard a delivery consumer committed; empty when it never committed here.
  virtual Result<std::map<uint32_t, uint64_t>> DeliveryOffsets(const std::string& consumer) = 0;
  //! Makes files current and moves the consumer's offsets, in one transaction.
  virtual Status CommitDelivery(const std::string& consumer, const std::vector<DataFile>& files,
                                const std::map<uint32_t, uint64_t>& next_offsets) = 0;
  //! For a replay: ends the given files, schedules them for deletion at once, and sets the
  //! consumer's offsets, in one transaction.
  virtual Status Rewind(const std::string& consumer, const std::vector<int64_t>& ended,
                        const std::map<uint32_t, uint64_t>& next_offsets) = 0;
  //! Every path the catalog names under prefix: current files and files waiting to be deleted.
  virtual Result<std::set<std::string>> KnownPaths(const std::string& prefix) = 0;

  // Reading.
  //! The current files of a view (every view when empty), ordered by partition and path.
  virtual Result<std::vector<DataFile>> CurrentFiles(const std::string& view) = 0;
  //! The current files of one partition of a view, ordered by path.
  virtual Result<std::vector<DataFile>> PartitionFiles(const std::string& view, const std::string& partition) = 0;
  //! The current files of a view (every view when empty) counted per view, partition and format,
  //! in that order.
  virtual Result<std::vector<FileGroup>> CurrentFileGroups(const std::string& view) = 0;
  //! The latest compactions, newest first.
  virtual Result<std::vector<CompactionRecord>> RecentCompactions(size_t limit) = 0;

  // Compaction.
  //! Records a running compaction of the given current files; fails if one is no longer current.
  virtual Result<Compaction> BeginCompaction(const std::string& view, const std::string& partition,
                                             const std::vector<DataFile>& inputs, const std::string& output_dir) = 0;
  //! Swaps the inputs for the output and schedules the inputs for deletion, in one transaction.
  //! Aborted when an input stopped being current meanwhile (nothing changes then).
  virtual Status CommitCompaction(const Compaction& c, DataFile output) = 0;
  virtual Status AbortCompaction(int64_t compaction_id) = 0;
  //! Compactions begun and never committed or aborted (after a crash).
  virtual Result<std::vector<Compaction>> RunningCompactions() = 0;
  virtual Result<std::vector<ScheduledDeletion>> DeletionsDue(int64_t scheduled_before_us) = 0;
  //! Forgets deletions done (their objects are gone).
  virtual Status DeletionsDone(const std::vector<int64_t>& data_file_ids) = 0;
};

//! Rewinds the view a delivery consumer feeds so that it is rebuilt from the log from `from` (per
//! shard): ends and deletes every current file of the view holding a record at or after the
//! resume point of its shard, moving that point back to the file's first record until nothing
//! changes (docs/format/catalog.md, Replay). Refuses, changing nothing, when a file to end holds
//! records older than `oldest` (no longer in the log). Only while no daemon runs on the data folder.
struct Rewound {
  std::vector<uint64_t> resume;  // per shard: where delivery starts again
  size_t files_removed = 0;
};
Result<Rewound> RewindView(Catalog* catalog, class ObjectStore* store, const std::string& consumer,
                           const std::string& view, std::vector<uint64_t> from, const std::vector<uint64_t>& oldest);

//! Opens (creating when absent) the SQLite catalog at path.
Result<std::unique_ptr<Catalog>> OpenSqliteCatalog(const std::string& path, Clock* clock);

}  // namespace sp
