// The daemon's configuration: one TOML file, every key optional, read through one table of
// settings (settings.cc) into the stages' own option structs, which RunDaemon hands to the stages
// as they are. Relative paths resolve against the file's folder; unknown keys and bad values stop
// start-up with "file:line: reason"; a missing file means all defaults. Key names are a contract
// (docs/architecture.md, "Contracts"): add keys, never rename them. `sensorpipe config
// reference` prints the table as docs/configuration.md.
#pragma once

#include <string>
#include <vector>

#include "common/env.h"
#include "common/settings.h"
#include "compact/compactor.h"
#include "delivery/delivery.h"
#include "log/file_log.h"
#include "mqtt/config.h"
#include "query/engine.h"
#include "rollup/rollup.h"
#include "rules/rule.h"
#include "store/object_cache.h"
#include "store/s3_object_store.h"
#include "web/server.h"

namespace sp {

//! [http]: the web stage's listener, which WebServer takes as arguments.
struct HttpOptions {
  std::string listen;  // host:port
  std::string token;   // bearer token for POST /v1/ingest; empty: no HTTP ingest
  int64_t max_body_bytes = 0;
  TlsFiles tls;  // both set: HTTPS
};

struct DaemonConfig {
  std::string path;  // the file it came from; empty for defaults
  std::string data_dir;
  MqttConfig mqtt;
  RuleOptions ingest;
  std::vector<RuleSpec> rules;  // none: the default rule, SELECT * FROM '#' into readings
  FileLogOptions log;           // dir: data_dir/log
  DeliveryOptions delivery;     // of the readings' raw view; the other views take it with their names
  CompactorOptions compaction;  // tmp_dir and lock_path below data_dir
  HttpOptions http;
  QueryOptions query;  // for SQL from outside (/api/query)
  Rollup::Options rollup;
  //! The lake in an S3-compatible store instead of data_dir/lake, when bucket is set (docs/s3.md).
  S3Options s3;
  ObjectCacheOptions cache;  // dir: data_dir/cache

  std::string LakeDir() const { return JoinPath(data_dir, "lake"); }
  std::string CatalogPath() const { return JoinPath(data_dir, "catalog.sqlite"); }
};

//! The daemon's table of settings.
const Settings<DaemonConfig>& DaemonSettings();

//! Reads path. A missing file gives the defaults (with paths relative to the current folder);
//! anything else wrong is an InvalidArgument whose message starts with "path:line:".
Result<DaemonConfig> LoadDaemonConfig(Env* env, const std::string& path);
//! Parses TOML text as if it came from path (for tests).
Result<DaemonConfig> ParseDaemonConfig(const std::string& text, const std::string& path);

}  // namespace sp
