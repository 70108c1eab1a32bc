#include "store/object_store.h"

#include <utility>

#include "common/env.h"

namespace sp {

PinnedFiles& PinnedFiles::operator=(PinnedFiles&& other) noexcept {
  if (this == &other) return *this;
  if (unpin_) unpin_();
  paths_ = std::move(other.paths_);
  unpin_ = std::exchange(other.unpin_, nullptr);
  return *this;
}

PinnedFiles::~PinnedFiles() {
  if (unpin_) unpin_();
}

Status ObjectStore::PutFile(const std::string& key, const std::string& local_path) {
  SP_ASSIGN_OR_RETURN(std::string data, Env::Default()->ReadFile(local_path));
  SP_RETURN_IF_ERROR(Put(key, data));
  return Env::Default()->RemoveFile(local_path);
}

Status ObjectStore::GetFile(const std::string& key, const std::string& path) {
  SP_ASSIGN_OR_RETURN(std::string data, Get(key));
  SP_ASSIGN_OR_RETURN(auto file, Env::Default()->NewWritableFile(path));
  SP_RETURN_IF_ERROR(file->Append(data));
  return file->Close();
}

Result<PinnedFiles> ObjectStore::Pin(const std::vector<ObjectInfo>& objects) {
  if (objects.empty()) return PinnedFiles();
  return Status::InvalidArgument(Locate(objects[0].key) +
                                 " is not a local file: DuckDB reads this store's objects through an ObjectCache");
}

}  // namespace sp
