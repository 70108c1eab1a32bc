// The scale-out object store: any S3-compatible service (AWS S3, MinIO, Ceph RGW, ...) through
// libcurl, which signs every request with AWS Signature Version 4. Objects live at
// bucket/prefix/key. An object up to multipart_bytes goes up in one PUT, a larger one as a multipart
// upload; S3 shows either only once complete, so readers see the whole object or none. Network
// errors, 5xx, 429, SlowDown and RequestTimeout are retried with exponential backoff and jitter;
// other errors fail at once with the HTTP status and S3's error code and message.
// Thread-safe: every call borrows a curl handle (and its open connection) from a small pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/metrics.h"
#include "store/object_store.h"
#include "store/s3_request.h"

namespace sp {

struct S3Options {
  //! scheme://host[:port] of the service, e.g. "http://127.0.0.1:9000" or
  //! "https://s3.eu-west-1.amazonaws.com"; empty means AWS's endpoint for region.
  std::string endpoint;
  std::string region;
  std::string bucket;
  //! Keys are stored under prefix + "/" + key when prefix is not empty (slashes around it are dropped).
  std::string prefix;
  //! http://host/bucket/key (MinIO and most self-hosted stores) instead of http://bucket.host/key.
  bool path_style = false;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // for temporary credentials (STS); sent as x-amz-security-token
  //! Objects larger than this go up as a multipart upload in parts of this size (S3: 5 MiB to 5 GiB).
  uint64_t multipart_bytes = 16 << 20;
  //! Retries after the first attempt of a request, for the errors the header comment lists.
  int max_retries = 4;
  //! The n-th retry waits a random time between half and all of base * 2^(n-1), capped at max.
  std::chrono::milliseconds retry_base_delay{200};
  std::chrono::milliseconds retry_max_delay{10'000};
  std::chrono::milliseconds connect_timeout{10'000};
  //! The longest one attempt may take, transfer included; 0 means no limit.
  std::chrono::milliseconds request_timeout{300'000};
  //! max-keys of each ListObjectsV2 page (S3 returns at most 1000).
  int list_page_size = 1000;
};

//! Looks up an environment variable; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
//! The process's environment (std::getenv).
std::optional<std::string> ProcessEnv(const std::string& name);

//! Fills what options leave empty from the variables the AWS tools read: AWS_ACCESS_KEY_ID,
//! AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (only when options name neither key, since the three
//! belong together), AWS_REGION or else AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 or else
//! AWS_ENDPOINT_URL. Values already in options (from the config) win.
void ApplyAwsEnvironment(S3Options* options, const EnvLookup& env = ProcessEnv);

class S3ObjectStore final : public ObjectStore {
 public:
  //! Checks options and prepares the client, without contacting the service. env holds the local
  //! files of PutFile and GetFile. metrics may be null; otherwise it counts requests and retries per
  //! operation.
  static Result<std::unique_ptr<S3ObjectStore>> Open(S3Options options, Env* env, Metrics* metrics = nullptr);
  ~S3ObjectStore() override;

  //! One PUT up to multipart_bytes, else a multipart upload, aborted when any step fails.
  Status Put(const std::string& key, std::string_view data) override;
  //! As Put, reading the file one part at a time, so a large file is never all in memory.
  Status PutFile(const std::string& key, const std::string& local_path) override;
  //! NotFound when there is no such object.
  Result<std::string> Get(const std::string& key) override;
  //! Streams the object into the file; a retried transfer starts the file again.
  Status GetFile(const std::string& key, const std::string& path) override;
  //! ListObjectsV2 page by page; keys relative to the store's prefix, sorted, with sizes.
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  //! OK when the object is already gone, but not when the bucket is.
  Status Delete(const std::string& key) override;
  //! "s3://bucket/prefix/key".
  std::string Locate(const std::string& key) const override;

  //! Lists at most one key, to prove that endpoint, credentials and bucket work (e.g. at startup).
  Status Check();
  //! The URL a request for key goes to (path- or virtual-host style), for logs and tests.
  std::string ObjectUrl(const std::string& key) const { return Url(FullKey(key)); }

 private:
  struct Call;
  struct OpCounters {
    Counter* requests = nullptr;
    Counter* retries = nullptr;
  };
  struct CurlCleanup {
    void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
  };
  using CurlHandle = std::unique_ptr<CURL, CurlCleanup>;
  //! The n bytes at offset of an object being uploaded; valid until the next call.
  using PartReader = std::function<Result<std::string_view>(uint64_t offset, uint64_t n)>;

  S3ObjectStore(S3Options options, Env* env, std::string base_url, Metrics* metrics);
  std::string FullKey(const std::string& key) const { return prefix_slash_ + key; }
  //! The URL of the object at full_key, or of the bucket when full_key is empty.
  std::string Url(const std::string& full_key) const;
  //! Sends call, retrying what may succeed later; an error Status carries what S3 said.
  Result<s3::HttpResponse> Send(const Call& call);
  //! Put's and PutFile's upload of size bytes: one PUT or a multipart upload.
  Status Upload(const std::string& full_key, uint64_t size, const PartReader& read);
  Status PutMultipart(const std::string& full_key, uint64_t size, const PartReader& read);
  CurlHandle Acquire();
  void Release(CurlHandle curl);

  const S3Options options_;
  Env* const env_;
  const std::string base_url_;      // scheme://[bucket.]host[:port], no trailing slash
  const std::string prefix_slash_;  // options_.prefix + "/", or "" without a prefix
  const s3::Signer signer_;
  std::map<std::string, OpCounters, std::less<>> counters_;  // by operation; empty without metrics
  std::mutex mu_;
  std::vector<CurlHandle> idle_;  // guarded by mu_
};

}  // namespace sp
