// ObjectStore: where delivery and compaction put immutable objects, in place of S3. Keys are
// '/'-separated paths relative to the store's root ("raw/dt=2022-07-13/hour=15/x.ndjson.zst").
// The local implementation (fs_object_store.h) is a folder; s3_object_store.h is any S3-compatible
// service, which readers get local copies of through object_cache.h. Put is atomic and durable: a
// reader sees the whole object or none, and a successful Put survives a crash. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sp {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

//! Local files holding some objects, in the order asked for, readable while this lives: a cache
//! does not evict them meanwhile. It may outlive the store that made it.
class PinnedFiles {
 public:
  PinnedFiles() = default;
  PinnedFiles(std::vector<std::string> paths, std::function<void()> unpin)
      : paths_(std::move(paths)), unpin_(std::move(unpin)) {}
  PinnedFiles(PinnedFiles&& other) noexcept { *this = std::move(other); }
  PinnedFiles& operator=(PinnedFiles&& other) noexcept;
  ~PinnedFiles();

  const std::vector<std::string>& paths() const { return paths_; }

 private:
  std::vector<std::string> paths_;
  std::function<void()> unpin_;  // empty: nothing to release (files the store keeps locally anyway)
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  //! Creates or replaces key with data, durably.
  virtual Status Put(const std::string& key, std::string_view data) = 0;
  //! Moves a finished local file (a Parquet file DuckDB wrote) into the store under key, durably.
  //! The file is gone afterwards.
  virtual Status PutFile(const std::string& key, const std::string& local_path) = 0;
  virtual Result<std::string> Get(const std::string& key) = 0;
  //! Writes the object to the local file path (created or replaced; not synced).
  virtual Status GetFile(const std::string& key, const std::string& path) = 0;
  //! Every object whose key starts with prefix, sorted by key.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  //! Removes key; OK when it is already gone.
  virtual Status Delete(const std::string& key) = 0;
  //! Where the object is: a local path, or a URL such as s3://bucket/key.
  virtual std::string Locate(const std::string& key) const = 0;
  //! Local files of the objects (sizes as the catalog or a listing gave them) for DuckDB, which
  //! reads only local files in this build (no httpfs extension). The folder store gives its own
  //! files; a remote store needs an ObjectCache in front of it (object_cache.h), and this default
  //! says so.
  virtual Result<PinnedFiles> Pin(const std::vector<ObjectInfo>& objects);
};

}  // namespace sp
