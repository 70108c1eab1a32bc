// The lake as the daemon and the tools open it: the object store (the folder data_dir/lake, or an
// S3 bucket behind the local cache data_dir/cache when [s3] bucket is set) and the catalog beside
// it. Also the `lake ls` and `compact` subcommands.
#pragma once

#include <memory>
#include <string>

#include "app/settings.h"
#include "catalog/catalog.h"
#include "compact/compactor.h"
#include "store/object_store.h"

namespace sp {

struct Lake {
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<Catalog> catalog;
  //! The absolute folder of the files store->Pin gives (the lake's, or the cache's): the only one
  //! DuckDB may read for SQL from outside.
  std::string local_dir;
};

//! Opens the lake of a config, creating its folders and catalog when absent. An S3 lake is
//! checked with one listing, so a wrong endpoint, key or bucket stops start-up with S3's answer.
//! metrics may be null (the tools); otherwise the S3 requests and the cache are counted.
Result<Lake> OpenLake(const DaemonConfig& config, Clock* clock, Metrics* metrics = nullptr);

//! Gauges computed from the catalog at scrape time: files and bytes per view and format, and when
//! the last compaction committed. Call RemoveLakeMetrics before the catalog goes.
void ExportLakeMetrics(Catalog* catalog, Metrics* metrics);
void RemoveLakeMetrics(Metrics* metrics);

//! `sensorpipe lake ls`: partitions, objects, rows, bytes and compaction state. Returns the exit code.
int LakeList(const DaemonConfig& config);

//! `sensorpipe compact`: compacts now, with progress on stderr. Returns the exit code.
int CompactNow(const DaemonConfig& config, const CompactSelection& selection);

}  // namespace sp
