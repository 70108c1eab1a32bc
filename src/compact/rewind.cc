#include <algorithm>
#include <limits>

#include "catalog/catalog.h"
#include "store/object_store.h"

namespace sp {

Result<Rewound> RewindView(Catalog* catalog, ObjectStore* store, const std::string& consumer, const std::string& view,
                           std::vector<uint64_t> from, const std::vector<uint64_t>& oldest) {
  SP_ASSIGN_OR_RETURN(std::vector<DataFile> files, catalog->CurrentFiles(view));
  // Offsets of one shard interleave across partitions, so moving a shard's resume point back to
  // an ended file's first record can put it inside another file: repeat until no file that stays
  // holds a record at or after its shard's resume point. Every record that will be read again is
  // then in no current file.
  std::vector<bool> ends(files.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < files.size(); ++i) {
      if (ends[i]) continue;
      bool hit = false;
      for (const OffsetRange& r : files[i].offsets) hit |= r.shard < from.size() && r.last >= from[r.shard];
      if (!hit) continue;
      ends[i] = changed = true;
      for (const OffsetRange& r : files[i].offsets) {
        if (r.shard < from.size()) from[r.shard] = std::min(from[r.shard], r.first);
      }
    }
  }
  for (size_t shard = 0; shard < from.size() && shard < oldest.size(); ++shard) {
    if (from[shard] < oldest[shard]) {
      return Status::OutOfRange("rebuilding " + view + " from there would drop lake files holding records of shard " +
                                std::to_string(shard) + " from offset " + std::to_string(from[shard]) +
                                ", but the log keeps only those from " + std::to_string(oldest[shard]) +
                                " (retention); nothing was changed");
    }
  }
  std::vector<int64_t> ended;
  for (size_t i = 0; i < files.size(); ++i) {
    if (ends[i]) ended.push_back(files[i].id);
  }
  std::map<uint32_t, uint64_t> next;
  for (size_t shard = 0; shard < from.size(); ++shard) next[static_cast<uint32_t>(shard)] = from[shard];
  SP_RETURN_IF_ERROR(catalog->Rewind(consumer, ended, next));
  // No daemon runs, so nothing reads these files: delete them, and every other scheduled file, now.
  // A rewritten object gets the name of one ended here; no old schedule may delete it later.
  SP_ASSIGN_OR_RETURN(std::vector<ScheduledDeletion> due, catalog->DeletionsDue(std::numeric_limits<int64_t>::max()));
  std::vector<int64_t> done;
  for (const ScheduledDeletion& d : due) {
    SP_RETURN_IF_ERROR(store->Delete(d.path));
    done.push_back(d.data_file_id);
  }
  SP_RETURN_IF_ERROR(catalog->DeletionsDone(done));
  return Rewound{from, ended.size()};
}

}  // namespace sp
