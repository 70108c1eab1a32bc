#include "store/object_store.h"

#include <utility>

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

Result<PinnedFiles> ObjectStore::Pin(const std::vector<ObjectInfo>& objects) {
  if (objects.empty()) return PinnedFiles();
  return Status::InvalidArgument(Locate(objects[0].key) +
                                 " is not a local file: DuckDB reads this store's objects through an ObjectCache");
}

}  // namespace sp
