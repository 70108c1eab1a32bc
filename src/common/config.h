// The daemon's configuration: one TOML file, every key optional. Load() resolves relative paths
// against the file's folder, rejects unknown keys and bad values with "file:line: reason", and
// treats a missing file as all defaults. Key names are a contract (ARCHITECTURE.md, "Contract
// details"): add keys, never rename them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sp {

//! An MQTT connection, shared by the daemon's [mqtt] and the agent's.
class TomlReader;
struct MqttConfig {
  std::string url = "mqtt://127.0.0.1:1883";  // mqtt://host:port, or mqtts://host:port for TLS
  std::vector<std::string> topics = {"sensor/#"};
  std::string client_id;  // empty: "sensorpipe-<hostname>" for the daemon, the device id for the agent
  std::string username;
  std::string password;
  std::string protocol = "auto";  // auto | 3.1.1 | 5
  int keepalive_s = 30;
  // TLS (mqtts://): PEM files, relative to the config file's folder.
  std::string ca_file;    // empty: the system's trust store
  std::string cert_file;  // client certificate, for brokers that require one
  std::string key_file;
};

//! "mqtt://host:port" or "mqtts://host:port" split up; the port defaults to 1883, or 8883 with TLS.
struct MqttUrl {
  std::string host;
  int port = 1883;
  bool tls = false;
};
Result<MqttUrl> ParseMqttUrl(const std::string& url);
//! Reads the [mqtt] keys both the daemon's and the agent's files have (all but `topics`), from
//! r's current table.
Status ReadMqttTable(TomlReader& r, const std::string& config_path, MqttConfig* mqtt);

//! When an append counts as durable (see docs/format/log.md).
struct FsyncPolicy {
  enum class Kind { kBatch, kInterval, kNone } kind = Kind::kBatch;
  int interval_ms = 0;  // for kInterval
};
Result<FsyncPolicy> ParseFsyncPolicy(const std::string& text);
//! The milliseconds of "interval:<ms>" (a whole number above 0), the form of the log's `fsync` and
//! the agent's `spool_sync`; nullopt for anything else.
std::optional<int64_t> ParseIntervalMs(std::string_view text);

//! One [[rules]] table. The SQL is compiled by the rules stage at start-up; `line` lets its
//! errors point into the config file.
struct RuleConfig {
  std::string name;
  std::string sql;
  std::string stream = "readings";
  uint32_t line = 0;  // of `sql`
};

struct Config {
  std::string path;  // the file it came from; empty for defaults
  std::string data_dir = "./data";

  MqttConfig mqtt;

  struct Ingest {
    std::string device_time_zone = "UTC";  // IANA zone for timestamps without an offset
    int64_t max_payload_bytes = 131072;
    int64_t max_future_skew_s = 300;
    int max_depth = 16;
    bool client_id_fallback = false;  // empty client_id in the payload: use the MQTT client id
    // A topic "<prefix><id>/<rest>" speaks for device <id>: a payload claiming another client_id
    // is rejected as spoofed_device. Empty: topics carry no identity.
    std::string identity_topic_prefix = "sensor/";
  } ingest;

  std::vector<RuleConfig> rules;  // none: the default rule, SELECT * FROM '#' into readings

  struct Log {
    // One shard by default, like Kafka's num.partitions: on one machine more shards add no
    // parallelism (each consumer is one thread) but an fdatasync per shard to every group commit
    // (P3 at the QoS 0 burst: 2.13 -> 1.93 µs a message). A stream keeps the count it was created with.
    int shards = 1;
    std::string fsync = "batch";  // batch | interval:<ms> | none
    FsyncPolicy fsync_policy;
    //! Per-stream overrides of fsync, e.g. { errors = "interval:1000" }.
    std::map<std::string, FsyncPolicy> stream_fsync;
    int64_t segment_bytes = 64 << 20;
    int64_t segment_age_s = 86400;  // a segment also rolls after this long, so retention can act
    int64_t retention_hours = 168;  // sealed segments older than this are deleted; 0 keeps them
    int64_t retention_bytes = 0;    // per stream, all shards together; 0: no limit
  } log;

  struct Delivery {
    int64_t size_hint_bytes = 5 << 20;
    int interval_s = 60;
    std::string compression = "zstd";  // or "gzip"
    bool partition_by_device = false;  // readings under .../hour=HH/device=<id>/
  } delivery;

  struct Compaction {
    int64_t objects = 20;          // raw objects that make an hour due
    int64_t grace_s = 300;         // an hour ended this long ago, with no new object as long, is due
    int64_t delete_after_s = 300;  // replaced objects stay this long for queries that listed them
    std::string memory_limit = "1GB";  // DuckDB's while compacting (it spills to data_dir/tmp beyond)
    int64_t row_group_rows = 1'000'000;  // rows per Parquet row group: larger is smaller on disk
    int64_t workers = 2;  // hours compacted at once, each with its own DuckDB and memory_limit
  } compaction;

  struct Http {
    std::string listen = "127.0.0.1:8080";
    std::string token;  // bearer token for POST /v1/ingest; empty: no HTTP ingest
    int64_t max_body_bytes = 16 << 20;
    std::string cert_file, key_file;  // PEM files: serve HTTPS (relative to the config file)
  } http;

  struct Query {
    int64_t row_limit = 10000;
    int64_t timeout_ms = 10000;
  } query;

  //! The dashboard's in-memory aggregates (src/rollup): how much event time, behind the newest
  //! reading, each tier keeps. About 200 bytes per device and minute (or hour) kept.
  struct Rollup {
    int64_t minute_hours = 26;  // covers "the last 24 hours" with a device clock ahead
    int64_t hour_days = 400;
  } rollup;

  //! The lake in an S3-compatible store instead of data_dir/lake, when bucket is set (docs/s3.md).
  //! Empty values may come from the AWS_* environment variables.
  struct S3 {
    std::string endpoint;  // scheme://host[:port]; empty: AWS's endpoint for the region
    std::string region;
    std::string bucket;
    std::string prefix;
    bool path_style = false;
    std::string access_key_id;
    std::string secret_access_key;
    int64_t cache_bytes = int64_t{1} << 30;  // local copies DuckDB reads (data_dir/cache), evicted beyond
  } s3;

  //! Folders below data_dir.
  std::string LogDir() const;
  std::string LakeDir() const;
  std::string CatalogPath() const;
  std::string TmpDir() const;
  std::string CacheDir() const;
};

//! Reads path. A missing file gives the defaults (with paths relative to the current folder);
//! anything else wrong is an InvalidArgument whose message starts with "path:line:".
Result<Config> LoadConfig(const std::string& path);
//! Parses TOML text as if it came from path (for tests).
Result<Config> ParseConfig(const std::string& text, const std::string& path);

//! "host:port" split up, for [http] listen.
Result<std::pair<std::string, int>> ParseHostPort(const std::string& text);

}  // namespace sp
