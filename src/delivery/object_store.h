// ObjectStore: where delivery and compaction put immutable objects, in place of S3. Keys are
// '/'-separated paths relative to the store's root ("raw/dt=2022-07-13/hour=15/x.ndjson.zst").
// The local implementation (fs_object_store.h) is a folder; the S3 one comes with the lake issue.
// Put is atomic and durable: a reader sees the whole object or none, and a successful Put survives
// a crash. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sp {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  //! Creates or replaces key with data, durably.
  virtual Status Put(const std::string& key, std::string_view data) = 0;
  //! Moves a finished local file (a Parquet file DuckDB wrote) into the store under key, durably.
  //! The file is gone afterwards. This default reads it and Puts it.
  virtual Status PutFile(const std::string& key, const std::string& local_path);
  virtual Result<std::string> Get(const std::string& key) = 0;
  //! Every object whose key starts with prefix, sorted by key.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  //! Removes key; OK when it is already gone.
  virtual Status Delete(const std::string& key) = 0;
  //! A path or URL another engine (DuckDB) can read the object at.
  virtual std::string Locate(const std::string& key) const = 0;
};

}  // namespace sp
