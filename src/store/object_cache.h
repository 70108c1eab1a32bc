// ObjectCache: an ObjectStore in front of a remote one (S3) that also hands readers local copies of
// its objects. DuckDB in this build cannot read s3:// URLs (no httpfs extension), so the compactor's
// inputs and the query views' files are fetched into a local folder (data_dir/cache) before a
// statement runs, and pinned there until it is done. Writes, listings and deletes go to the remote
// store; a delete drops the copy too.
//
// Lake objects are immutable: a key is never written again with other records, so a copy stays
// good as long as it exists (its size is checked against the catalog's all the same). A copy at
// dir/<bucket>/<prefix>/<key> is written to dir/.tmp, synced and renamed, so it is whole or absent.
// Past max_bytes the least recently used copies that nothing pins are evicted before a fetch.
//
// Several processes may share the folder (the daemon, `sensorpipe query`, `sensorpipe compact`):
// each holds a shared lock on dir/LOCK while it has the cache open and evicts only while it can
// make that lock exclusive, that is while no other process has the folder open, so no process
// removes a copy another one may be reading. Meanwhile the folder may grow past max_bytes.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/metrics.h"
#include "store/object_store.h"

namespace sp {

struct ObjectCacheOptions {
  std::string dir;                  // data_dir/cache
  uint64_t max_bytes = 1ULL << 30;  // evict beyond this; copies pinned by a running reader stay
};

class ObjectCache final : public ObjectStore {
 public:
  //! Opens (creating) the folder and indexes the copies already there, waiting while another
  //! process evicts. metrics may be null.
  static Result<std::unique_ptr<ObjectCache>> Open(std::unique_ptr<ObjectStore> remote, Env* env, Metrics* metrics,
                                                   ObjectCacheOptions options);
  ~ObjectCache() override;

  Status Put(const std::string& key, std::string_view data) override { return remote_->Put(key, data); }
  Status PutFile(const std::string& key, const std::string& local_path) override {
    return remote_->PutFile(key, local_path);
  }
  Result<std::string> Get(const std::string& key) override { return remote_->Get(key); }
  Status GetFile(const std::string& key, const std::string& path) override { return remote_->GetFile(key, path); }
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override { return remote_->List(prefix); }
  //! Deletes the object, then its copy unless this process has it pinned (eviction gets it later).
  Status Delete(const std::string& key) override;
  std::string Locate(const std::string& key) const override { return remote_->Locate(key); }
  //! Copies of the objects, fetched one after another when absent or of another size than given
  //! (0: any size), after evicting to make room for them. They stay until the result goes.
  Result<PinnedFiles> Pin(const std::vector<ObjectInfo>& objects) override;

  //! Bytes of the copies this process knows of.
  uint64_t bytes() const;

 private:
  struct Entry {
    uint64_t size = 0;
    uint64_t last_use = 0;  // a tick of this process; 0 for copies it has not used
    int pins = 0;
  };
  //! What Pin and the unpin callbacks share, so a PinnedFiles that outlives the cache is harmless.
  struct Index {
    std::mutex mu;
    std::map<std::string, Entry> entries;  // by path below dir_
    uint64_t bytes = 0;
    uint64_t tick = 0;
  };
  class FolderLock;

  ObjectCache(std::unique_ptr<ObjectStore> remote, Env* env, Metrics* metrics, ObjectCacheOptions options,
              std::unique_ptr<FolderLock> lock);
  //! The copy's path below dir_: the object's URL without its scheme (bucket/prefix/key).
  Result<std::string> RelativePath(const std::string& key) const;
  //! Pins rel when its copy on disk has the size wanted (0: any); mu held.
  bool PinIfPresent(const std::string& rel, uint64_t size);
  //! Fetches key into rel and pins it.
  Status Fetch(const std::string& key, const std::string& rel, uint64_t size);
  //! Evicts until incoming more bytes fit, if no other process has the folder open; mu held.
  void MakeRoom(uint64_t incoming);
  //! Reads the folder into the index, keeping the pins and uses of copies still there; mu held.
  Status Rescan();
  Status Walk(const std::string& rel_dir, std::map<std::string, Entry>* out);
  //! Removes the copy at rel and the folders it leaves empty; mu held, rel not pinned.
  void RemoveCopy(const std::string& rel);
  static void Unpin(Index& index, const std::vector<std::string>& rels);
  void UpdateGauge();

  const std::unique_ptr<ObjectStore> remote_;
  Env* const env_;
  const ObjectCacheOptions options_;
  const std::unique_ptr<FolderLock> lock_;
  const std::shared_ptr<Index> index_ = std::make_shared<Index>();
  std::mutex fetch_mu_;                   // one fetch at a time, so two readers of one missing object fetch it once
  uint64_t tmp_seq_;                      // names of this cache's temporary files; guarded by fetch_mu_
  std::unique_ptr<Metrics> own_metrics_;  // when the caller gave none
  Counter* hits_;
  Counter* fetches_;
  Counter* fetched_bytes_;
  Counter* evictions_;
  Counter* deferred_;
  Gauge* bytes_gauge_;
};

}  // namespace sp
