// A real S3-compatible server for tests: @20minutes/s3rver (scripts/fetch-test-tools.sh installs it,
// pinned, under .cache/s3-server) run by node on a free loopback port, keeping its objects in its
// own folder. It checks SigV4 signatures of path-style requests, so a wrong key fails as on AWS.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace sp::testing {

class S3Server {
 public:
  struct Options {
    std::vector<std::string> buckets;  // created at start
    //! s3rver computes virtual-host requests' signatures over "/bucket/key" where AWS signs "/key",
    //! so tests of virtual-host addressing must turn its signature check off.
    bool allow_mismatched_signatures = false;
  };
  //! Starts the server with its objects and log under dir (created if absent).
  static Result<std::unique_ptr<S3Server>> Start(const std::string& dir, const Options& options);
  ~S3Server();

  int port() const { return port_; }
  //! The path-style endpoint, http://127.0.0.1:port.
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  //! An endpoint for virtual-host requests: libcurl resolves every *.localhost name to loopback
  //! itself, and the server reads the bucket from "<bucket>.s3.localhost".
  std::string vhost_endpoint() const { return "http://s3.localhost:" + std::to_string(port_); }
  //! The only key pair the server knows.
  static constexpr const char* kAccessKeyId = "S3RVER";
  static constexpr const char* kSecretAccessKey = "S3RVER";
  std::string Log() const;

 private:
  S3Server(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  std::string dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

//! The server the tests of a suite share, since node takes a moment to start: Start() from
//! SetUpTestSuite, Stop() from TearDownTestSuite. In between Get() is the server, or null when it
//! did not start and Error() says why; Dir() is a folder for the tests' own files, which Stop()
//! removes with the server's.
class SharedS3Server {
 public:
  static void Start(const S3Server::Options& options);
  static void Stop();
  static S3Server* Get();
  static const std::string& Error();
  static const std::string& Dir();
};

}  // namespace sp::testing
