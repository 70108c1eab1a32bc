#include "compact/catalog_lake_files.h"

namespace sp {

namespace {

class CatalogLakeFiles final : public LakeFiles {
 public:
  CatalogLakeFiles(Catalog* catalog, ObjectStore* store) : catalog_(catalog), store_(store) {}

  Result<LakeSnapshot> Current() override {
    // One read of the catalog: a consistent set even while compaction swaps files.
    SP_ASSIGN_OR_RETURN(std::vector<DataFile> files, catalog_->CurrentFiles(""));
    LakeSnapshot out;
    for (const DataFile& f : files) {
      if (f.view == "readings") {
        (f.format == "parquet" ? out.readings_parquet : out.readings_json).push_back(store_->Locate(f.path));
      } else if (f.view == "errors") {
        out.errors_json.push_back(store_->Locate(f.path));
      }
    }
    return out;
  }

 private:
  Catalog* catalog_;
  ObjectStore* store_;
};

}  // namespace

std::unique_ptr<LakeFiles> MakeCatalogLakeFiles(Catalog* catalog, ObjectStore* store) {
  return std::make_unique<CatalogLakeFiles>(catalog, store);
}

}  // namespace sp
