#include "store/s3_object_store.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <random>
#include <thread>

#include "common/env.h"
#include "common/json_writer.h"

namespace sp {

namespace {

constexpr uint64_t kMinPartBytes = 5ULL << 20;  // S3's limits for multipart uploads
constexpr uint64_t kMaxPartBytes = 5ULL << 30;
constexpr uint64_t kMaxParts = 10'000;
constexpr size_t kMaxIdleHandles = 8;
constexpr int kMaxListPage = 1000;
constexpr const char* kOctetStream = "application/octet-stream";
constexpr const char* kOperations[] = {"PutObject",
                                       "GetObject",
                                       "DeleteObject",
                                       "ListObjectsV2",
                                       "CreateMultipartUpload",
                                       "UploadPart",
                                       "CompleteMultipartUpload",
                                       "AbortMultipartUpload"};

struct S3Error {
  std::string code;
  std::string message;
};

// The <Error> document S3 answers a failed request with; empty when the body is something else.
S3Error ParseS3Error(const std::string& body) {
  auto xml = s3::ParseXml(body);
  if (!xml.ok() || xml->name != "Error") return {};
  return {xml->ChildText("Code"), xml->ChildText("Message")};
}

// Failures of the network or of the peer's moment, which the same request may get past later.
bool RetryableCurl(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool RetryableS3(long status, const std::string& code) {
  if (code == "SlowDown" || code == "RequestTimeout" || code == "InternalError" || code == "ServiceUnavailable" ||
      code == "Throttling" || code == "ThrottlingException" || code == "RequestLimitExceeded") {
    return true;
  }
  return status == 429 || (status >= 500 && status != 501);  // 501 NotImplemented stays so
}

// What the caller branches on: NotFound for 404, Unavailable when waiting may help, InvalidArgument
// when the configuration (keys, rights) is wrong, IOError for the rest.
Status ErrorStatus(const std::string& what, const s3::HttpResponse& r, const S3Error& err, int attempts) {
  std::string msg = what + ": ";
  if (r.curl_code != CURLE_OK) {
    msg += r.curl_error;
  } else {
    msg += "HTTP " + std::to_string(r.status);
    if (!err.code.empty()) msg += " " + err.code;
    if (!err.message.empty()) msg += ": " + err.message;
  }
  msg += " (" + std::to_string(attempts) + (attempts == 1 ? " attempt)" : " attempts)");
  if (r.curl_code != CURLE_OK) return RetryableCurl(r.curl_code) ? Status::Unavailable(msg) : Status::IOError(msg);
  if (RetryableS3(r.status, err.code)) return Status::Unavailable(msg);
  if (r.status == 404) return Status::NotFound(msg);
  if (r.status == 401 || r.status == 403) return Status::InvalidArgument(msg);
  return Status::IOError(msg);
}

// A random wait between half and all of base * 2^(retry-1), capped: the jitter keeps clients that
// failed together from retrying together, the lower half bound keeps a retry from coming at once.
std::chrono::milliseconds Backoff(int retry, std::chrono::milliseconds base, std::chrono::milliseconds max) {
  const double cap = std::min(static_cast<double>(max.count()),
                              static_cast<double>(base.count()) * std::ldexp(1.0, std::min(retry - 1, 30)));
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> pick(cap / 2, cap);
  return std::chrono::milliseconds(std::llround(pick(rng)));
}

Status CheckKey(const std::string& key) {
  if (key.empty() || key[0] == '/') return Status::InvalidArgument("bad object key '" + key + "'");
  return Status::OK();
}

bool ValidBucketName(std::string_view b) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (b.size() < 3 || b.size() > 63 || !alnum(b.front()) || !alnum(b.back())) return false;
  return std::all_of(b.begin(), b.end(), [&](char c) { return alnum(c) || c == '.' || c == '-'; });
}

// The region goes into curl's "aws:amz:<region>:s3", which splits at ':' and takes 64 bytes a part.
bool ValidRegion(std::string_view r) {
  return !r.empty() && r.size() <= 64 && std::all_of(r.begin(), r.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// Credentials travel in header lines; a CR or LF would end the line early.
bool HasControlChars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool IsIpLiteral(const std::string& host) {
  in_addr addr;
  return (!host.empty() && host[0] == '[') || ::inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

struct Endpoint {
  std::string scheme;
  std::string host;
  std::string port;  // empty: the scheme's default
};

Result<Endpoint> ParseEndpoint(const std::string& url) {
  auto bad = [&](const std::string& why) { return Status::InvalidArgument("s3: endpoint '" + url + "' " + why); };
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u) return Status::IOError("curl_url: out of memory");
  const CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0);
  if (rc != CURLUE_OK) return bad(std::string("is not a URL: ") + curl_url_strerror(rc));
  auto part = [&](CURLUPart which) {
    char* value = nullptr;
    if (curl_url_get(u.get(), which, &value, 0) != CURLUE_OK) return std::string();
    std::string out(value);
    curl_free(value);
    return out;
  };
  Endpoint ep{part(CURLUPART_SCHEME), part(CURLUPART_HOST), part(CURLUPART_PORT)};
  if (ep.scheme != "http" && ep.scheme != "https") return bad("must start with http:// or https://");
  const std::string path = part(CURLUPART_PATH);
  if ((!path.empty() && path != "/") || !part(CURLUPART_QUERY).empty() || !part(CURLUPART_USER).empty()) {
    return bad("must be scheme://host[:port] alone, without a path, query or user");
  }
  return ep;
}

std::string Trim(std::string_view s, char c) {
  while (!s.empty() && s.front() == c) s.remove_prefix(1);
  while (!s.empty() && s.back() == c) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? std::nullopt : std::optional<std::string>(value);
}

void ApplyAwsEnvironment(S3Options* options, const EnvLookup& env) {
  auto first = [&](std::initializer_list<const char*> names) {
    for (const char* name : names) {
      std::optional<std::string> value = env(name);
      if (value && !value->empty()) return *value;
    }
    return std::string();
  };
  if (options->access_key_id.empty() && options->secret_access_key.empty()) {
    options->access_key_id = first({"AWS_ACCESS_KEY_ID"});
    options->secret_access_key = first({"AWS_SECRET_ACCESS_KEY"});
    if (options->session_token.empty()) options->session_token = first({"AWS_SESSION_TOKEN"});
  }
  if (options->region.empty()) options->region = first({"AWS_REGION", "AWS_DEFAULT_REGION"});
  if (options->endpoint.empty()) options->endpoint = first({"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"});
}

// One S3 operation on the bucket (full_key empty) or on one object. Every field has a default so
// that GCC 12 does not warn about the designated initializers that leave some out.
struct S3ObjectStore::Call {
  const char* op = "";
  std::string method{};
  std::string full_key{};
  s3::QueryParams query{};
  std::string_view body{};
  std::string content_type{};  // empty: none sent
  bool missing_ok = false;     // a 404 other than NoSuchBucket is success (DeleteObject)
  bool error_in_200 = false;   // a 200 may carry an <Error> (CompleteMultipartUpload does)
  // GetFile: each attempt starts the file afresh, then the body of a 2xx goes to sink.
  std::function<Status()> before_attempt{};
  std::function<bool(std::string_view)> sink{};
};

Result<std::unique_ptr<S3ObjectStore>> S3ObjectStore::Open(S3Options o, Env* env, Metrics* metrics) {
  auto invalid = [](const std::string& why) { return Status::InvalidArgument("s3: " + why); };
  if (o.bucket.empty()) return invalid("no bucket: set [s3] bucket");
  if (!ValidBucketName(o.bucket)) {
    return invalid("bucket '" + o.bucket +
                   "' is not a valid S3 bucket name (3 to 63 lower-case letters, digits, '.' and '-', starting and "
                   "ending with a letter or digit)");
  }
  if (o.region.empty()) return invalid("no region: set [s3] region, or AWS_REGION");
  if (!ValidRegion(o.region)) return invalid("region '" + o.region + "' may hold only letters, digits, '-' and '_'");
  if (o.access_key_id.empty() || o.secret_access_key.empty()) {
    return invalid(
        "no credentials: set [s3] access_key_id and secret_access_key, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY");
  }
  if (HasControlChars(o.access_key_id) || HasControlChars(o.secret_access_key) || HasControlChars(o.session_token)) {
    return invalid("the credentials hold control characters");
  }
  if (o.multipart_bytes < kMinPartBytes || o.multipart_bytes > kMaxPartBytes) {
    return invalid("multipart_bytes " + std::to_string(o.multipart_bytes) +
                   " is outside S3's part sizes, 5 MiB to 5 GiB");
  }
  if (o.max_retries < 0 || o.list_page_size < 1 || o.list_page_size > kMaxListPage || o.connect_timeout.count() <= 0 ||
      o.request_timeout.count() < 0 || o.retry_base_delay.count() < 0 || o.retry_max_delay < o.retry_base_delay) {
    return invalid("max_retries, list_page_size (1 to 1000), timeouts or retry delays out of range");
  }
  if (o.endpoint.empty()) o.endpoint = "https://s3." + o.region + ".amazonaws.com";
  SP_ASSIGN_OR_RETURN(Endpoint ep, ParseEndpoint(o.endpoint));
  if (!o.path_style && IsIpLiteral(ep.host)) {
    return invalid("endpoint '" + o.endpoint +
                   "' is an IP address, which cannot carry the bucket in its host name: set [s3] path_style = true");
  }
  std::string base = ep.scheme + "://" + (o.path_style ? "" : o.bucket + ".") + ep.host;
  if (!ep.port.empty()) base += ":" + ep.port;
  o.prefix = Trim(o.prefix, '/');

  // curl_global_init is not thread-safe in libcurl 7.88; once per process is enough.
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) return Status::IOError(std::string("curl_global_init: ") + curl_easy_strerror(init));
  return std::unique_ptr<S3ObjectStore>(new S3ObjectStore(std::move(o), env, std::move(base), metrics));
}

S3ObjectStore::S3ObjectStore(S3Options options, Env* env, std::string base_url, Metrics* metrics)
    : options_(std::move(options)),
      env_(env),
      base_url_(std::move(base_url)),
      prefix_slash_(options_.prefix.empty() ? "" : options_.prefix + "/"),
      signer_{options_.access_key_id, options_.secret_access_key, options_.region, "s3"} {
  if (metrics == nullptr) return;
  for (const char* op : kOperations) {
    counters_[op] = {
        metrics->GetCounter("sensorpipe_s3_requests_total",
                            "HTTP requests sent to the S3 store, retries included, by operation", {{"operation", op}}),
        metrics->GetCounter("sensorpipe_s3_retries_total",
                            "S3 requests sent again after a network error, 5xx, 429 or SlowDown, by operation",
                            {{"operation", op}})};
  }
}

S3ObjectStore::~S3ObjectStore() = default;

std::string S3ObjectStore::Url(const std::string& full_key) const {
  const std::string bucket_path = options_.path_style ? "/" + options_.bucket : "";
  // The bucket itself is "/bucket" path-style: S3 signs it without a slash after the name.
  if (full_key.empty()) return base_url_ + (bucket_path.empty() ? "/" : bucket_path);
  return base_url_ + bucket_path + "/" + s3::UriEncode(full_key, true);
}

std::string S3ObjectStore::Locate(const std::string& key) const {
  return "s3://" + options_.bucket + "/" + FullKey(key);
}

S3ObjectStore::CurlHandle S3ObjectStore::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      CurlHandle curl = std::move(idle_.back());
      idle_.pop_back();
      return curl;
    }
  }
  return CurlHandle(curl_easy_init());
}

void S3ObjectStore::Release(CurlHandle curl) {
  // Reset drops the options but keeps the handle's open connection for the next call.
  curl_easy_reset(curl.get());
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(curl));
}

Result<s3::HttpResponse> S3ObjectStore::Send(const Call& call) {
  s3::HttpRequest request;
  request.method = call.method;
  request.url = Url(call.full_key);
  if (!call.query.empty()) request.url += "?" + s3::CanonicalQuery(call.query);
  request.body = call.body;
  request.sink = call.sink;
  // S3 requires the payload's hash in x-amz-content-sha256, and libcurl 7.88 signs that header's
  // value as the payload hash. Signing the real hash, not UNSIGNED-PAYLOAD, makes S3 refuse a body
  // damaged on the way, over plain http too.
  request.headers.push_back("x-amz-content-sha256: " + s3::Sha256Hex(call.body));
  if (!options_.session_token.empty()) request.headers.push_back("x-amz-security-token: " + options_.session_token);
  if (!call.content_type.empty()) request.headers.push_back("Content-Type: " + call.content_type);

  const auto counters = counters_.find(call.op);
  const std::string what = std::string("s3 ") + call.op + " s3://" + options_.bucket + "/" + call.full_key;
  for (int attempt = 1;; ++attempt) {
    if (counters != counters_.end()) counters->second.requests->Inc();
    if (call.before_attempt) SP_RETURN_IF_ERROR(call.before_attempt());
    CurlHandle curl = Acquire();
    if (!curl) return Status::IOError(what + ": curl_easy_init failed");
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    Result<s3::HttpResponse> performed = s3::Perform(curl.get(), signer_, request);
    Release(std::move(curl));
    if (!performed.ok()) return performed.status().WithContext(what);
    s3::HttpResponse& r = *performed;

    S3Error err;
    bool retry;
    if (r.curl_code != CURLE_OK) {
      retry = RetryableCurl(r.curl_code);
    } else {
      const bool ok = r.status >= 200 && r.status < 300;
      if (!ok || call.error_in_200) err = ParseS3Error(r.body);
      if (ok && err.code.empty()) return std::move(r);
      if (r.status == 404 && call.missing_ok && err.code != "NoSuchBucket") return std::move(r);
      retry = RetryableS3(r.status, err.code);
    }
    if (!retry || attempt > options_.max_retries) return ErrorStatus(what, r, err, attempt);
    if (counters != counters_.end()) counters->second.retries->Inc();
    std::this_thread::sleep_for(Backoff(attempt, options_.retry_base_delay, options_.retry_max_delay));
  }
}

Status S3ObjectStore::Put(const std::string& key, std::string_view data) {
  SP_RETURN_IF_ERROR(CheckKey(key));
  return Upload(FullKey(key), data.size(),
                [&](uint64_t offset, uint64_t n) -> Result<std::string_view> { return data.substr(offset, n); });
}

Status S3ObjectStore::PutFile(const std::string& key, const std::string& local_path) {
  SP_RETURN_IF_ERROR(CheckKey(key));
  SP_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, env_->NewRandomAccessFile(local_path));
  SP_ASSIGN_OR_RETURN(const uint64_t size, file->Size());
  std::string part;  // at most multipart_bytes (or one part of the largest objects), reused
  const PartReader read = [&](uint64_t offset, uint64_t n) -> Result<std::string_view> {
    part.resize(n);
    for (size_t got = 0; got < n;) {
      SP_ASSIGN_OR_RETURN(const size_t r, file->Read(offset + got, n - got, part.data() + got));
      if (r == 0) return Status::Corruption(local_path + " got shorter while it was being uploaded");
      got += r;
    }
    return std::string_view(part);
  };
  SP_RETURN_IF_ERROR(Upload(FullKey(key), size, read));
  return env_->RemoveFile(local_path);
}

Status S3ObjectStore::Upload(const std::string& full_key, uint64_t size, const PartReader& read) {
  if (size > options_.multipart_bytes) return PutMultipart(full_key, size, read);
  SP_ASSIGN_OR_RETURN(const std::string_view body, read(0, size));
  return Send({.op = "PutObject", .method = "PUT", .full_key = full_key, .body = body, .content_type = kOctetStream})
      .status();
}

Status S3ObjectStore::PutMultipart(const std::string& full_key, uint64_t size, const PartReader& read) {
  SP_ASSIGN_OR_RETURN(s3::HttpResponse created, Send({.op = "CreateMultipartUpload",
                                                      .method = "POST",
                                                      .full_key = full_key,
                                                      .query = {{"uploads", ""}},
                                                      .content_type = kOctetStream}));
  auto xml = s3::ParseXml(created.body);
  const std::string upload_id = xml.ok() ? xml->ChildText("UploadId") : "";
  if (upload_id.empty()) {
    return Status::Corruption("s3 CreateMultipartUpload s3://" + options_.bucket + "/" + full_key +
                              ": no UploadId in the answer: " + created.body.substr(0, 200));
  }
  // Parts of multipart_bytes, but never more than S3's 10000 of them.
  const uint64_t part_bytes = std::max<uint64_t>(options_.multipart_bytes, (size + kMaxParts - 1) / kMaxParts);
  const Status s = [&]() -> Status {
    std::string complete = "<CompleteMultipartUpload>";
    uint64_t number = 1;
    for (uint64_t offset = 0; offset < size; offset += part_bytes, ++number) {
      SP_ASSIGN_OR_RETURN(const std::string_view body, read(offset, std::min(part_bytes, size - offset)));
      SP_ASSIGN_OR_RETURN(s3::HttpResponse part,
                          Send({.op = "UploadPart",
                                .method = "PUT",
                                .full_key = full_key,
                                .query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}},
                                .body = body}));
      if (part.etag.empty()) return Status::Corruption("s3 UploadPart: no ETag for part " + std::to_string(number));
      complete += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" + XmlEscape(part.etag) +
                  "</ETag></Part>";
    }
    complete += "</CompleteMultipartUpload>";
    return Send({.op = "CompleteMultipartUpload",
                 .method = "POST",
                 .full_key = full_key,
                 .query = {{"uploadId", upload_id}},
                 .body = complete,
                 .content_type = "application/xml",
                 .error_in_200 = true})
        .status();
  }();
  if (!s.ok()) {
    // The parts of an upload that is neither completed nor aborted stay stored (and billed).
    const Status aborted = Send({.op = "AbortMultipartUpload",
                                 .method = "DELETE",
                                 .full_key = full_key,
                                 .query = {{"uploadId", upload_id}}})
                               .status();
    if (!aborted.ok())
      spdlog::warn("{}; upload {} stays until a lifecycle rule removes it", aborted.ToString(), upload_id);
  }
  return s;
}

Result<std::string> S3ObjectStore::Get(const std::string& key) {
  SP_RETURN_IF_ERROR(CheckKey(key));
  SP_ASSIGN_OR_RETURN(s3::HttpResponse r, Send({.op = "GetObject", .method = "GET", .full_key = FullKey(key)}));
  return std::move(r.body);
}

Status S3ObjectStore::GetFile(const std::string& key, const std::string& path) {
  SP_RETURN_IF_ERROR(CheckKey(key));
  std::unique_ptr<WritableFile> file;
  Status written;
  // Every attempt truncates the file: a transfer cut off half-way and retried leaves no piece of
  // the first try behind.
  const auto start = [&]() -> Status {
    SP_ASSIGN_OR_RETURN(file, env_->NewWritableFile(path));
    return Status::OK();
  };
  const auto write = [&](std::string_view piece) {
    written = file->Append(piece);
    return written.ok();
  };
  const Status got =
      Send({.op = "GetObject", .method = "GET", .full_key = FullKey(key), .before_attempt = start, .sink = write})
          .status();
  SP_RETURN_IF_ERROR(written);  // the disk's error, not curl's "failed writing received data"
  SP_RETURN_IF_ERROR(got);
  return file->Close();
}

Status S3ObjectStore::Delete(const std::string& key) {
  SP_RETURN_IF_ERROR(CheckKey(key));
  return Send({.op = "DeleteObject", .method = "DELETE", .full_key = FullKey(key), .missing_ok = true}).status();
}

Result<std::vector<ObjectInfo>> S3ObjectStore::List(const std::string& prefix) {
  const std::string what = "s3 ListObjectsV2 s3://" + options_.bucket + "/" + FullKey(prefix);
  std::vector<ObjectInfo> out;
  std::string token;
  do {
    s3::QueryParams query = {
        {"list-type", "2"}, {"max-keys", std::to_string(options_.list_page_size)}, {"prefix", FullKey(prefix)}};
    if (!token.empty()) query.emplace_back("continuation-token", token);
    SP_ASSIGN_OR_RETURN(s3::HttpResponse page, Send({.op = "ListObjectsV2", .method = "GET", .query = query}));
    auto xml = s3::ParseXml(page.body);
    if (!xml.ok()) return xml.status().WithContext(what);
    for (const s3::XmlElement& e : xml->children) {
      if (e.name != "Contents") continue;
      const std::string key = e.ChildText("Key");
      const std::string size_text = e.ChildText("Size");
      uint64_t size = 0;
      const auto parsed = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
      if (parsed.ec != std::errc() || parsed.ptr != size_text.data() + size_text.size() ||
          key.compare(0, prefix_slash_.size(), prefix_slash_) != 0) {
        return Status::Corruption(what + ": bad entry '" + key + "' of size '" + size_text + "'");
      }
      out.push_back({key.substr(prefix_slash_.size()), size});
    }
    const bool truncated = xml->ChildText("IsTruncated") == "true";
    token = truncated ? xml->ChildText("NextContinuationToken") : "";
    if (truncated && token.empty()) return Status::Corruption(what + ": a truncated page without a continuation token");
  } while (!token.empty());
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status S3ObjectStore::Check() {
  return Send({.op = "ListObjectsV2",
               .method = "GET",
               .query = {{"list-type", "2"}, {"max-keys", "1"}, {"prefix", prefix_slash_}}})
      .status();
}

}  // namespace sp
