#include "catalog/lake_files.h"

#include <map>
#include <vector>

namespace sp {

namespace {

class CatalogLakeFiles final : public LakeFiles {
 public:
  CatalogLakeFiles(Catalog* catalog, ObjectStore* store) : catalog_(catalog), store_(store) {}

  Result<LakeSnapshot> Current() override {
    // One read of the catalog: a consistent set even while compaction swaps files.
    SP_ASSIGN_OR_RETURN(std::vector<DataFile> files, catalog_->CurrentFiles(""));
    std::erase_if(files, [](const DataFile& f) { return f.view != "readings" && f.view != "errors"; });
    std::vector<ObjectInfo> objects;
    for (const DataFile& f : files) objects.push_back({f.path, f.bytes});
    // The engine runs its statement right after this, on these files: they are fetched now (a
    // remote store's, into its cache) and stay pinned until the next statement. The previous
    // statement is over, so its files are released first: a cache may evict those the new set
    // does not name to make room for it.
    pinned_ = PinnedFiles();
    SP_ASSIGN_OR_RETURN(PinnedFiles local, store_->Pin(objects));
    // A partition of readings holding one file, a compacted one, needs no deduplication (its rows
    // were deduplicated when written, and a duplicate's ts puts it in the same partition).
    std::map<std::string, size_t> files_in;
    for (const DataFile& f : files) {
      if (f.view == "readings") ++files_in[f.partition];
    }
    LakeSnapshot out;
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string& path = local.paths()[i];
      if (files[i].view == "errors") {
        out.errors_json.push_back(path);
      } else if (files[i].format != "parquet") {
        out.readings_json.push_back(path);
      } else {
        (files_in[files[i].partition] > 1 ? out.readings_parquet : out.readings_unique).push_back(path);
      }
    }
    pinned_ = std::move(local);
    return out;
  }

 private:
  Catalog* catalog_;
  ObjectStore* store_;
  PinnedFiles pinned_;  // the files of the latest snapshot
};

}  // namespace

std::unique_ptr<LakeFiles> MakeCatalogLakeFiles(Catalog* catalog, ObjectStore* store) {
  return std::make_unique<CatalogLakeFiles>(catalog, store);
}

}  // namespace sp
