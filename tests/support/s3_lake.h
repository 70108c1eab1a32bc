// A lake in the S3 test server (support/s3_server.h) for tests that run the daemon on it: the
// daemon's [s3] table, and the workaround that gives the server S3's semantics for deletes.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "support/s3_server.h"

namespace sp::testing {

//! The [s3] table of a lake under prefix in bucket, path-style, with the server's key.
std::string S3LakeToml(const S3Server& server, const std::string& bucket, const std::string& prefix);

//! The S3 test server keeps objects as files in folders, and its DeleteObject removes a folder it
//! left empty with a recursive rm, which takes along an object put into that folder meanwhile
//! (answered 200, then gone: seen as a committed raw object missing). S3 has no folders. This
//! puts an object that is never deleted into the raw folder of each partition ("dt=.../hour=..")
//! so the folder is never empty and the lake meets S3's semantics. No catalog row names it (no
//! query reads it) and its name holds no stream (delivery's recovery leaves it alone).
Status KeepRawFolders(const S3Server& server, const std::string& bucket, const std::string& prefix,
                      const std::vector<std::string>& partitions);

}  // namespace sp::testing
