#include "delivery/object_store.h"

#include "common/env.h"

namespace sp {

Status ObjectStore::PutFile(const std::string& key, const std::string& local_path) {
  SP_ASSIGN_OR_RETURN(std::string data, Env::Default()->ReadFile(local_path));
  SP_RETURN_IF_ERROR(Put(key, data));
  return Env::Default()->RemoveFile(local_path);
}

}  // namespace sp
