#include "support/s3_lake.h"

#include "store/s3_object_store.h"

namespace sp::testing {

std::string S3LakeToml(const S3Server& server, const std::string& bucket, const std::string& prefix) {
  return "[s3]\nendpoint = \"" + server.endpoint() + "\"\nregion = \"us-east-1\"\nbucket = \"" + bucket +
         "\"\nprefix = \"" + prefix + "\"\npath_style = true\naccess_key_id = \"" + S3Server::kAccessKeyId +
         "\"\nsecret_access_key = \"" + S3Server::kSecretAccessKey + "\"\n";
}

Status KeepRawFolders(const S3Server& server, const std::string& bucket, const std::string& prefix,
                      const std::vector<std::string>& partitions) {
  S3Options o;
  o.endpoint = server.endpoint();
  o.region = "us-east-1";
  o.bucket = bucket;
  o.prefix = prefix;
  o.path_style = true;
  o.access_key_id = S3Server::kAccessKeyId;
  o.secret_access_key = S3Server::kSecretAccessKey;
  SP_ASSIGN_OR_RETURN(auto store, S3ObjectStore::Open(o, Env::Default()));
  for (const std::string& partition : partitions) SP_RETURN_IF_ERROR(store->Put("raw/" + partition + "/keep", ""));
  return Status::OK();
}

}  // namespace sp::testing
