// The default object store: a folder on the local disk (data_dir/lake). Keys are paths below it.
#pragma once

#include <string>

#include "common/env.h"
#include "store/object_store.h"

namespace sp {

class FsObjectStore final : public ObjectStore {
 public:
  FsObjectStore(Env* env, std::string root) : env_(env), root_(std::move(root)) {}

  Status Put(const std::string& key, std::string_view data) override;
  //! Syncs the file and renames it into place (same file system), or copies it when it cannot.
  Status PutFile(const std::string& key, const std::string& local_path) override;
  Result<std::string> Get(const std::string& key) override;
  Status GetFile(const std::string& key, const std::string& path) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Locate(const std::string& key) const override { return JoinPath(root_, key); }
  //! The objects' own files, nothing copied: a deleted object's file goes at once (compaction
  //! waits delete_after_s for that reason).
  Result<PinnedFiles> Pin(const std::vector<ObjectInfo>& objects) override;

 private:
  //! Creates dir and its missing parents, syncing the folder above each one created, so the new
  //! entries survive a power cut along with the object inside them.
  Status CreateDurableDirs(const std::string& dir);
  Status Walk(const std::string& dir, const std::string& key_prefix, std::vector<ObjectInfo>* out);

  Env* env_;
  const std::string root_;
};

}  // namespace sp
