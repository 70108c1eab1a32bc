// The lake as the daemon and the tools open it: the object store under data_dir/lake and the
// catalog beside it. Also the `lake ls` and `compact` subcommands.
#pragma once

#include <memory>
#include <string>

#include "common/config.h"
#include "compact/catalog.h"
#include "compact/compactor.h"
#include "delivery/object_store.h"

namespace sp {

struct Lake {
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<Catalog> catalog;
};

//! Opens the lake of a config, creating its folders and catalog when absent.
Result<Lake> OpenLake(const Config& config, Clock* clock);

//! The compactor's options from [compaction].
CompactorOptions CompactorOptionsFrom(const Config& config);

//! `sensorpipe lake ls`: partitions, objects, rows, bytes and compaction state. Returns the exit code.
int LakeList(const Config& config);

//! `sensorpipe compact`: compacts now, with progress on stderr. Returns the exit code.
int CompactNow(const Config& config, const CompactSelection& selection);

}  // namespace sp
