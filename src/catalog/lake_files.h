// The lake's current files as the catalog lists them, for the query engine's views: each record
// is in exactly one current file at every instant, so a query never counts one twice.
#pragma once

#include <memory>

#include "catalog/catalog.h"
#include "query/engine.h"
#include "store/object_store.h"

namespace sp {

//! Nothing is owned; both must outlive the result.
std::unique_ptr<LakeFiles> MakeCatalogLakeFiles(Catalog* catalog, ObjectStore* store);

}  // namespace sp
