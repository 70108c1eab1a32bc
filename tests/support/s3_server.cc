#include "support/s3_server.h"

#include <signal.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace sp::testing {

namespace {

// Starts the package's server class with the options given as JSON in argv.
constexpr const char* kLauncher =
    "const S3rver = require(process.argv[1]);"
    "new S3rver(JSON.parse(process.argv[2])).run().then("
    "  ({address, port}) => console.log(`s3rver listening on ${address}:${port}`),"
    "  (err) => { console.error(err); process.exit(1); });";

struct Shared {
  std::string dir;
  std::unique_ptr<S3Server> server;
  std::string error;
};
Shared& TheShared() {
  static Shared shared;
  return shared;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Result<std::unique_ptr<S3Server>> S3Server::Start(const std::string& dir, const Options& options) {
  const char* source = std::getenv("SP_SOURCE_DIR");
  const std::string package = std::string(source ? source : ".") + "/.cache/s3-server/node_modules/@20minutes/s3rver";
  if (!std::filesystem::exists(package + "/package.json")) {
    return Status::NotFound("no S3 test server at " + package + ": run scripts/fetch-test-tools.sh");
  }
  std::filesystem::create_directories(dir + "/data");
  std::unique_ptr<S3Server> server(new S3Server(dir, FreePort()));
  std::string buckets;
  for (const std::string& b : options.buckets)
    buckets += (buckets.empty() ? "" : ",") + ("{\"name\":" + JsonString(b) + "}");
  const std::string config = "{\"address\":\"127.0.0.1\",\"port\":" + std::to_string(server->port_) +
                             ",\"directory\":" + JsonString(dir + "/data") +
                             // Virtual-host requests name the bucket in <bucket>.s3.localhost.
                             ",\"serviceEndpoint\":\"localhost\",\"allowMismatchedSignatures\":" +
                             (options.allow_mismatched_signatures ? "true" : "false") + ",\"configureBuckets\":[" +
                             buckets + "]}";
  // Its ListObjectsV2 continuation tokens are DES-encrypted, which OpenSSL 3 offers only in its
  // legacy provider.
  SP_ASSIGN_OR_RETURN(
      server->process_,
      Process::Start({"node", "--openssl-legacy-provider", "-e", kLauncher, package, config}, dir + "/s3rver.log"));
  if (!WaitUntil([&] { return PortOpen(server->port_) || !server->process_->Running(); }, std::chrono::seconds(30)) ||
      !server->process_->Running()) {
    return Status::Unavailable("the S3 test server did not start: " + server->Log());
  }
  return server;
}

S3Server::~S3Server() {
  if (process_ && process_->Running() && process_->Signal(SIGTERM).ok()) (void)process_->Wait(std::chrono::seconds(10));
}

std::string S3Server::Log() const {
  std::ifstream in(dir_ + "/s3rver.log");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void SharedS3Server::Start(const S3Server::Options& options) {
  Shared& s = TheShared();
  std::string tmpl = (std::filesystem::temp_directory_path() / "sensorpipe-s3-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    s.error = "mkdtemp " + tmpl + " failed";
    return;
  }
  s.dir = tmpl;
  auto server = S3Server::Start(s.dir + "/s3", options);
  if (server.ok()) {
    s.server = std::move(server).value();
  } else {
    s.error = server.status().ToString();
  }
}

void SharedS3Server::Stop() {
  Shared& s = TheShared();
  s.server.reset();
  std::error_code ec;
  if (!s.dir.empty()) std::filesystem::remove_all(s.dir, ec);
  s = Shared();
}

S3Server* SharedS3Server::Get() {
  return TheShared().server.get();
}

const std::string& SharedS3Server::Error() {
  return TheShared().error;
}

const std::string& SharedS3Server::Dir() {
  return TheShared().dir;
}

}  // namespace sp::testing
