// FaultInjectionEnv: an Env for tests that can simulate what real disks do on a power cut and
// what a crash does mid-operation, which a real file system cannot be made to do on demand.
// - DropUnsyncedData(): a power loss. Every file goes back to the size it had at its last Sync, and
//   bytes overwritten since then (zeros written ahead by Preallocate and overwritten by Append)
//   get back what they held at that Sync; files created, and renames made, since the last SyncDir
//   of their folder are undone.
// - SetCrashAfter(n): after n more mutating operations (write, sync, create, rename, remove,
//   truncate, folder sync), every mutating operation fails, as if the process had died there.
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"

namespace sp {

class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  //! n more mutating operations succeed, then all fail; -1 lifts the limit.
  void SetCrashAfter(int64_t n);
  bool crashed() const;
  //! Simulates the power cut (see above) and lifts the crash.
  Status DropUnsyncedData();

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    return base_->NewRandomAccessFile(path);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Result<uint64_t> GetFileSize(const std::string& path) override { return base_->GetFileSize(path); }
  Result<int64_t> GetModificationMicros(const std::string& path) override {
    return base_->GetModificationMicros(path);
  }
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override { return base_->GetChildren(dir); }
  Status CreateDirs(const std::string& dir) override;
  Status RemoveFile(const std::string& path) override;
  Status RemoveDir(const std::string& dir) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status SyncDir(const std::string& dir) override;

  // Used by the file wrapper.
  Status BeforeMutation();
  //! Called before n bytes are written at offset of path: keeps what they overwrite of the synced
  //! file, for DropUnsyncedData to put back.
  Status BeforeWrite(const std::string& path, uint64_t offset, uint64_t n);
  void Synced(const std::string& path);

 private:
  struct Rename {
    std::string from, to;
    std::optional<std::string> replaced;  // what `to` held before, if anything
  };
  Result<std::unique_ptr<WritableFile>> Wrap(const std::string& path, Result<std::unique_ptr<WritableFile>> file,
                                             bool created);

  Env* const base_;
  mutable std::mutex mu_;
  int64_t budget_ = -1;
  struct Overwrite {
    uint64_t offset;
    std::string old;  // the synced bytes it replaced
  };
  std::map<std::string, uint64_t> synced_size_;            // files written through this Env
  std::map<std::string, std::vector<Overwrite>> overwrites_;   // unsynced writes inside synced bytes
  std::map<std::string, std::vector<std::string>> new_files_;  // folder -> files created since its last SyncDir
  std::map<std::string, std::vector<Rename>> renames_;        // folder of `to` -> renames since its last SyncDir
};

}  // namespace sp
