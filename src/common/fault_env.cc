#include "common/fault_env.h"

#include <algorithm>

namespace sp {

namespace {

class FaultFile final : public WritableFile {
 public:
  FaultFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}
  Status Append(std::string_view data) override {
    SP_RETURN_IF_ERROR(env_->BeforeMutation());
    SP_RETURN_IF_ERROR(env_->BeforeWrite(path_, base_->Size(), data.size()));
    return base_->Append(data);
  }
  Status Preallocate(uint64_t size) override {
    SP_RETURN_IF_ERROR(env_->BeforeMutation());
    return base_->Preallocate(size);  // past the file's end: DropUnsyncedData's truncation undoes it
  }
  Status Sync() override {
    SP_RETURN_IF_ERROR(env_->BeforeMutation());
    SP_RETURN_IF_ERROR(base_->Sync());
    env_->Synced(path_);
    return Status::OK();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }
  void DropCache(uint64_t offset, uint64_t length) override { base_->DropCache(offset, length); }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

void FaultInjectionEnv::SetCrashAfter(int64_t n) {
  std::lock_guard lock(mu_);
  budget_ = n;
}

bool FaultInjectionEnv::crashed() const {
  std::lock_guard lock(mu_);
  return budget_ == 0;
}

Status FaultInjectionEnv::BeforeMutation() {
  std::lock_guard lock(mu_);
  if (budget_ == 0) return Status::IOError("simulated crash");
  if (budget_ > 0) --budget_;
  return Status::OK();
}

Status FaultInjectionEnv::BeforeWrite(const std::string& path, uint64_t offset, uint64_t n) {
  std::lock_guard lock(mu_);
  auto it = synced_size_.find(path);
  if (it == synced_size_.end() || offset >= it->second) return Status::OK();  // appended: truncation undoes it
  std::string old(std::min(n, it->second - offset), '\0');
  SP_ASSIGN_OR_RETURN(auto file, base_->NewRandomAccessFile(path));
  SP_ASSIGN_OR_RETURN(size_t got, file->Read(offset, old.size(), old.data()));
  old.resize(got);
  overwrites_[path].push_back({offset, std::move(old)});
  return Status::OK();
}

void FaultInjectionEnv::Synced(const std::string& path) {
  // The file's size, not the writer's Size(): zeros written ahead by Preallocate are durable too.
  auto size = base_->GetFileSize(path);
  std::lock_guard lock(mu_);
  if (size.ok()) synced_size_[path] = *size;
  overwrites_.erase(path);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::Wrap(const std::string& path,
                                                              Result<std::unique_ptr<WritableFile>> file, bool created) {
  if (!file.ok()) return file.status();
  std::lock_guard lock(mu_);
  if (created) new_files_[DirName(path)].push_back(path);
  if (!synced_size_.count(path) || created) synced_size_[path] = created ? 0 : (*file)->Size();
  return std::unique_ptr<WritableFile>(new FaultFile(this, path, std::move(file).value()));
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(const std::string& path) {
  SP_RETURN_IF_ERROR(BeforeMutation());
  const bool created = !base_->FileExists(path);
  auto file = base_->NewWritableFile(path);
  if (!created && file.ok()) {
    std::lock_guard lock(mu_);
    synced_size_[path] = 0;  // truncated: the old bytes are gone whatever happens next
    overwrites_.erase(path);
  }
  return Wrap(path, std::move(file), created);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewAppendableFile(const std::string& path) {
  SP_RETURN_IF_ERROR(BeforeMutation());
  const bool created = !base_->FileExists(path);
  return Wrap(path, base_->NewAppendableFile(path), created);
}

Status FaultInjectionEnv::CreateDirs(const std::string& dir) {
  SP_RETURN_IF_ERROR(BeforeMutation());
  return base_->CreateDirs(dir);
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  SP_RETURN_IF_ERROR(BeforeMutation());
  SP_RETURN_IF_ERROR(base_->RemoveFile(path));
  std::lock_guard lock(mu_);
  synced_size_.erase(path);
  overwrites_.erase(path);
  return Status::OK();
}

Status FaultInjectionEnv::RemoveDir(const std::string& dir) {
  SP_RETURN_IF_ERROR(BeforeMutation());
  return base_->RemoveDir(dir);
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  SP_RETURN_IF_ERROR(BeforeMutation());
  Rename r{from, to, std::nullopt};
  if (base_->FileExists(to)) {
    auto old = base_->ReadFile(to);
    if (old.ok()) r.replaced = std::move(old).value();
  }
  SP_RETURN_IF_ERROR(base_->RenameFile(from, to));
  std::lock_guard lock(mu_);
  renames_[DirName(to)].push_back(std::move(r));
  auto it = synced_size_.find(from);
  if (it != synced_size_.end()) {
    synced_size_[to] = it->second;
    synced_size_.erase(it);
  }
  overwrites_.erase(to);
  if (auto ow = overwrites_.find(from); ow != overwrites_.end()) {
    overwrites_[to] = std::move(ow->second);
    overwrites_.erase(from);
  }
  for (auto& [dir, files] : new_files_) std::replace(files.begin(), files.end(), from, to);
  return Status::OK();
}

Status FaultInjectionEnv::Truncate(const std::string& path, uint64_t size) {
  SP_RETURN_IF_ERROR(BeforeMutation());
  SP_RETURN_IF_ERROR(base_->Truncate(path, size));
  std::lock_guard lock(mu_);
  auto it = synced_size_.find(path);
  if (it != synced_size_.end()) it->second = std::min(it->second, size);
  return Status::OK();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  SP_RETURN_IF_ERROR(BeforeMutation());
  SP_RETURN_IF_ERROR(base_->SyncDir(dir));
  std::lock_guard lock(mu_);
  new_files_.erase(dir);
  renames_.erase(dir);
  return Status::OK();
}

Status FaultInjectionEnv::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  budget_ = -1;
  // Bytes written after the last sync are lost: overwritten ones get their synced content back
  // (newest write first, so the oldest saved content wins), appended ones go with the truncation
  // below. First, while the paths are still those the writes were made under.
  for (const auto& [path, writes] : overwrites_) {
    auto synced = synced_size_.find(path);
    if (synced == synced_size_.end() || !base_->FileExists(path)) continue;
    SP_ASSIGN_OR_RETURN(std::string bytes, base_->ReadFile(path));
    for (auto w = writes.rbegin(); w != writes.rend(); ++w) {
      if (w->offset >= synced->second || w->offset >= bytes.size()) continue;  // cut by a Truncate since
      const size_t n = std::min({w->old.size(), synced->second - w->offset, bytes.size() - w->offset});
      bytes.replace(w->offset, n, w->old, 0, n);
    }
    auto f = base_->NewWritableFile(path);
    if (!f.ok()) return f.status();
    SP_RETURN_IF_ERROR((*f)->Append(bytes));
    SP_RETURN_IF_ERROR((*f)->Close());
  }
  overwrites_.clear();
  // Renames whose folder was never synced did not reach the disk: undo them, newest first.
  for (auto& [dir, renames] : renames_) {
    for (auto r = renames.rbegin(); r != renames.rend(); ++r) {
      if (base_->FileExists(r->to)) SP_RETURN_IF_ERROR(base_->RenameFile(r->to, r->from));
      for (auto& [d, files] : new_files_) std::replace(files.begin(), files.end(), r->to, r->from);
      if (r->replaced) {
        auto f = base_->NewWritableFile(r->to);
        if (!f.ok()) return f.status();
        SP_RETURN_IF_ERROR((*f)->Append(*r->replaced));
        SP_RETURN_IF_ERROR((*f)->Close());
      }
      auto it = synced_size_.find(r->to);
      if (it != synced_size_.end()) {
        synced_size_[r->from] = it->second;
        synced_size_.erase(it);
      }
      if (r->replaced) synced_size_[r->to] = r->replaced->size();
    }
  }
  renames_.clear();
  for (const auto& [path, size] : synced_size_) {
    auto actual = base_->GetFileSize(path);
    if (actual.ok() && *actual > size) SP_RETURN_IF_ERROR(base_->Truncate(path, size));
  }
  // Files whose creation was never made durable by a sync of their folder disappear.
  for (const auto& [dir, files] : new_files_) {
    for (const auto& f : files) {
      if (base_->FileExists(f)) SP_RETURN_IF_ERROR(base_->RemoveFile(f));
      synced_size_.erase(f);
    }
  }
  new_files_.clear();
  return Status::OK();
}

}  // namespace sp
