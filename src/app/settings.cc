#include "app/settings.h"

#include <algorithm>
#include <cctype>

#include "common/timestamp.h"

namespace sp {

namespace {

constexpr const char* kIntro =
    R"(The daemon (`sensorpipe run` and the tools beside it) reads one TOML file, `sensorpipe.toml`
in the current folder or the one `--config` names. Every key is optional, a missing file means
all defaults, relative paths resolve against the file's folder, and an unknown key or a bad value
stops start-up with `file:line: reason`:

```toml
data_dir = "/var/lib/sensorpipe"

[mqtt]
url = "mqtts://broker.lan:8883"
ca_file = "certs/ca.crt"

[ingest]
device_time_zone = "Asia/Seoul"

[log]
retention_hours = 72
```

The device agent's file (`sensorpipe-agent.toml`) has the same `[mqtt]` table, without `topics`;
its keys are all in [agent-configuration.md](agent-configuration.md).

This page is generated from the table of settings in `src/app/settings.cc` (`cli_test` fails when
it is not current); after changing a key, write it again with
`build/bin/sensorpipe config reference > docs/configuration.md`.)";

constexpr const char* kRulesHelp = R"(Which messages become readings, and where they go, in the AWS IoT Rules SQL
([rules.md](rules.md)). Without any, the default rule `SELECT * FROM '#'` fills `readings`. A rule
may feed a stream of its own, which gets its own lake folder `lake/<stream>/`:

```toml
[[rules]]
name = "plausible"
sql = "SELECT *, topic(2) AS client_id FROM 'sensor/+/data' WHERE temperature > -40 AND temperature < 85"

[[rules]]
name = "hot"
sql = "SELECT topic(2) AS device, temperature FROM 'sensor/+/data' WHERE temperature > 30"
stream = "alerts"
```

A rule's SQL is compiled at start-up: a mistake stops it with the line, column and a caret.)";

constexpr const char* kS3Help = R"(Setting `bucket` keeps the lake in any S3-compatible store instead of
`data_dir/lake` ([s3.md](s3.md)); any other `[s3]` key without it is an error, rather than a lake
that silently stays local. Keys left empty may come from the `AWS_*` environment variables:

```toml
[s3]
endpoint = "http://127.0.0.1:9000"
region = "us-east-1"
bucket = "sensor-lake"
path_style = true
access_key_id = "..."
secret_access_key = "..."
```)";

Status ValidateZone(const std::string& zone) {
  if (TimestampParser::Create(zone).ok()) return Status::OK();
  return Status::InvalidArgument("unknown time zone '" + zone + "' (expected an IANA name such as Asia/Seoul)");
}

// Names of rules (any case, '-') and of streams (they become folder names: lower case).
bool IsSafeName(const std::string& name, bool rule) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [&](char ch) {
    const unsigned char u = static_cast<unsigned char>(ch);
    return std::islower(u) || std::isdigit(u) || ch == '_' || (rule && (std::isupper(u) || ch == '-'));
  });
}

// One [[rules]] table's keys; the checks that need the others are in CheckRule.
Settings<RuleSpec> RuleSettings() {
  Settings<RuleSpec> s;
  s.Table("")
      .String("name", "", "Required: 1-64 characters of A-Z a-z 0-9 _ -, unique; named in errors and metrics.",
              Into(&RuleSpec::name))
      .String("sql", "", "Required: `SELECT ... FROM '<topic filter>' [WHERE ...]`.", Into(&RuleSpec::sql))
      .String("stream", "readings",
              "The stream (and lake folder) the rule fills: 1-64 characters of a-z 0-9 _; not errors, raw or "
              "compacted.",
              Into(&RuleSpec::stream));
  return s;
}

// The rule just read, last of rules.
Status CheckRule(const TomlReader& r, std::vector<RuleSpec>& rules) {
  RuleSpec& rule = rules.back();
  rule.line = r.LineOf("sql");
  if (rule.name.empty()) return r.ErrorAt("name", "is missing: every rule needs a name");
  if (!IsSafeName(rule.name, true)) return r.ErrorAt("name", "expected 1-64 characters of A-Z a-z 0-9 _ -");
  for (size_t i = 0; i + 1 < rules.size(); ++i) {
    if (rules[i].name == rule.name) return r.ErrorAt("name", "another rule is called '" + rule.name + "'");
  }
  if (rule.sql.empty()) return r.ErrorAt("sql", "is missing: SELECT ... FROM '<topic filter>' [WHERE ...]");
  if (!IsSafeName(rule.stream, false)) return r.ErrorAt("stream", "expected 1-64 characters of a-z 0-9 _");
  // The error output is written by ingest itself, and a stream's lake folder is its name: these
  // would mix a rule's records with rejections or with the readings' raw/ and compacted/ files.
  if (rule.stream == "errors" || rule.stream == "raw" || rule.stream == "compacted") {
    return r.ErrorAt("stream", "\"" + rule.stream + "\" is reserved (errors, raw, compacted)");
  }
  return Status::OK();
}

Status CheckTopics(const std::vector<std::string>& topics) {
  if (topics.empty()) return Status::InvalidArgument("needs at least one topic filter");
  for (const auto& t : topics) {
    if (t.empty()) return Status::InvalidArgument("a topic filter is empty");
  }
  return Status::OK();
}

Status CheckIdentityPrefix(const std::string& p) {
  if (p.empty() || (p.back() == '/' && p.find_first_of("#+") == std::string::npos)) return Status::OK();
  return Status::InvalidArgument("must be empty or topic levels ending in '/', without wildcards");
}

Status CheckS3(const TomlReader& r, const S3Options& s3) {
  // Without a bucket the lake stays in data_dir/lake: [s3] keys without one are a mistake.
  for (const char* key :
       {"endpoint", "region", "prefix", "path_style", "access_key_id", "secret_access_key", "cache_bytes"}) {
    if (s3.bucket.empty() && r.LineOf(key) != 0) return r.ErrorAt(key, "needs [s3] bucket, or the lake stays local");
  }
  if (!s3.endpoint.empty() && s3.endpoint.rfind("http://", 0) != 0 && s3.endpoint.rfind("https://", 0) != 0) {
    return r.ErrorAt("endpoint", "expected http://host[:port] or https://host[:port], got '" + s3.endpoint + "'");
  }
  return Status::OK();
}

Settings<DaemonConfig> MakeDaemonSettings() {
  using C = DaemonConfig;
  Settings<C> s("Configuration", kIntro);
  s.Table("").Path("data_dir", "./data", "Where the log, the lake, the catalog and the checkpoints live.",
                   Checked(&C::data_dir, [](const std::string& dir) {
                     return dir.empty() ? Status::InvalidArgument("must not be empty") : Status::OK();
                   }));

  s.Include("mqtt", &C::mqtt, MqttSettings(),
            "The broker the daemon subscribes to, with a persistent session at QoS 1.");
  s.Table("mqtt", &C::mqtt)
      .StringList("topics", {"sensor/#"},
                  "Topic filters to subscribe to at QoS 1. `$share/<group>/sensor/#`: daemons sharing a group split "
                  "the stream.",
                  Checked(&MqttConfig::topics, CheckTopics));

  s.Table("ingest", &C::ingest, "How a message becomes a reading, or a rejection kept in the `errors` view.")
      .String("device_time_zone", "UTC", "IANA zone for timestamps that carry no offset.",
              Checked(&RuleOptions::device_time_zone, ValidateZone))
      .Int("max_payload_bytes", 131072, 64, 256 << 20,
           "A larger message is rejected (oversize) and kept cut short in the errors view.",
           Into(&RuleOptions::max_payload_bytes))
      .Int("max_future_skew_s", 300, 0, 10LL * 365 * 86400,
           "Timestamps further ahead of receipt are rejected; old ones are fine.",
           Into(&RuleOptions::max_future_skew_s))
      .Int("max_depth", 16, 1, 1024, "A payload with arrays and objects nested deeper is rejected.",
           Into(&RuleOptions::max_depth))
      .Bool("client_id_fallback", false,
            "An empty client_id takes the sender's MQTT client id where known (not over MQTT 3.1.1, whose "
            "broker does not pass it on).",
            Into(&RuleOptions::client_id_fallback))
      .String("identity_topic_prefix", "sensor/",
              "A topic `<prefix><id>/<rest>` speaks for device `<id>`: a payload claiming another client_id is "
              "rejected as spoofed_device. Empty: topics carry no identity.",
              Checked(&RuleOptions::identity_topic_prefix, CheckIdentityPrefix));

  s.Array("rules", &C::rules, RuleSettings(), kRulesHelp, CheckRule);

  s.Table("log", &C::log, "The durable log every reading is acknowledged from ([format/log.md](format/log.md)).")
      .Int("shards", 1, 1, 1024,
           "Per stream, fixed when the stream is created. On one machine more shards add no parallelism but an "
           "fdatasync per shard to every group commit.",
           Into(&FileLogOptions::shards))
      .String("fsync", "batch",
              "`batch` (acknowledged after the group commit's fdatasync), `interval:<ms>` (1 to 60000) or `none`.",
              Parsed(&FileLogOptions::fsync, ParseFsyncPolicy))
      .StringTable("stream_fsync", "Per-stream overrides of fsync, e.g. `{ errors = \"interval:1000\" }`.",
                   [](FileLogOptions& o, const std::map<std::string, std::string>& streams) -> Status {
                     o.stream_fsync.clear();
                     for (const auto& [stream, text] : streams) {
                       auto p = ParseFsyncPolicy(text);
                       if (!p.ok()) return Status::InvalidArgument(stream + ": " + std::string(p.status().message()));
                       o.stream_fsync[stream] = *p;
                     }
                     return Status::OK();
                   })
      .Int("segment_bytes", 64 << 20, 4096, int64_t{1} << 40, "A segment file rolls at this size.",
           Into(&FileLogOptions::segment_bytes))
      .Int("segment_age_s", 86400, 0, 365LL * 86400,
           "A segment also rolls after this long, so retention can act (0: by size only).",
           Into(&FileLogOptions::segment_ms, 1000))
      .Int("retention_hours", 168, 0, 100LL * 365 * 24,
           "Sealed segments older than this (by their last write) are deleted; 0 keeps them all.",
           Into(&FileLogOptions::retention_ms, 3'600'000))
      .Int("retention_bytes", 0, 0, int64_t{1} << 50,
           "Per stream, all shards together: the oldest sealed segments go while it holds more; 0: no limit.",
           Into(&FileLogOptions::retention_bytes));

  s.Table("delivery", &C::delivery, "From the log to the lake's raw objects, one consumer per stream.")
      .Int("size_hint_bytes", 5 << 20, 1024, int64_t{1} << 32, "A partition's buffer is flushed at this size ...",
           Into(&DeliveryOptions::size_hint_bytes))
      .Int("interval_s", 60, 1, 86400, "... or when its oldest record is this old.", Into(&DeliveryOptions::interval_s))
      .Choice("compression", "zstd", {"zstd", "gzip"}, "Of the raw NDJSON objects.",
              [](DeliveryOptions& o, const std::string& c) {
                o.compression = c == "gzip" ? DeliveryOptions::kGzip : DeliveryOptions::kZstd;
                return Status::OK();
              })
      .Bool("partition_by_device", false, "Readings under `.../hour=HH/device=<id>/`.",
            Into(&DeliveryOptions::partition_by_device));

  s.Table("compaction", &C::compaction, "Raw objects of an hour compacted into Parquet, duplicates dropped.")
      .Int("objects", 20, 2, 100000, "An hour with this many raw objects is compacted ...",
           Into(&CompactorOptions::objects))
      .Int("grace_s", 300, 0, 30LL * 86400, "... and so is one that ended this long ago and got nothing new as long.",
           Into(&CompactorOptions::grace_s))
      .Int("delete_after_s", 300, 0, 30LL * 86400, "Replaced objects stay this long for queries that listed them.",
           Into(&CompactorOptions::delete_after_s))
      .String("memory_limit", "1GB", "DuckDB's, per worker, while compacting; it spills to data_dir/tmp beyond.",
              Into(&CompactorOptions::memory_limit))
      .Int("row_group_rows", 1'000'000, 1024, 100'000'000,
           "Rows per Parquet row group: larger files are smaller, written by fewer threads.",
           Into(&CompactorOptions::row_group_rows))
      .Int("workers", 2, 1, 64, "Hours compacted at once, each by its own DuckDB with its own memory_limit.",
           Into(&CompactorOptions::workers));

  s.Table("http", &C::http, "The dashboard, the JSON API, /metrics, the health checks and HTTP ingest.")
      .String("listen", "127.0.0.1:8080", "host:port to serve on.",
              Checked(&HttpOptions::listen, [](const std::string& l) { return ParseHostPort(l).status(); }))
      .String("token", "",
              "Bearer token for POST /v1/ingest (and /api/* off loopback); empty: no HTTP ingest. Never logged.",
              Into(&HttpOptions::token))
      .Int("max_body_bytes", 16 << 20, 1024, int64_t{1} << 32, "Largest POST /v1/ingest body.",
           Into(&HttpOptions::max_body_bytes))
      .Path("cert_file", "", "With key_file: serve HTTPS (PEM files).",
            [](HttpOptions& o, const std::string& f) -> Status {
              SP_RETURN_IF_ERROR(CheckFileExists(f));
              o.tls.cert_file = f;
              return Status::OK();
            })
      .Path("key_file", "", "The certificate's key (PEM).",
            [](HttpOptions& o, const std::string& f) -> Status {
              SP_RETURN_IF_ERROR(CheckFileExists(f));
              o.tls.key_file = f;
              return Status::OK();
            })
      .Check([](const TomlReader& r, const HttpOptions& o) {
        return CheckCertAndKey(r, o.tls.cert_file, o.tls.key_file);
      });

  s.Table("query", &C::query, "SQL from outside, over /api/query.")
      .Int("row_limit", 10000, 1, int64_t{1} << 40, "Rows at most from /api/query (\"truncated\": true beyond).",
           Into(&QueryOptions::row_limit))
      .Int("timeout_ms", 10000, 1, 24LL * 3600 * 1000, "/api/query statements are interrupted after this (504).",
           Into(&QueryOptions::timeout_ms));

  s.Table("rollup", &C::rollup,
          "The dashboard's in-memory aggregates: how much event time, behind the newest reading, each tier keeps "
          "(about 200 bytes per device and minute, or hour, kept); older comes from the lake.")
      .Int("minute_hours", 26, 1, 24 * 366, "Per minute; 26 covers \"the last 24 hours\" with a device clock ahead.",
           Into(&Rollup::Options::minute_window_s, 3600))
      .Int("hour_days", 400, 1, 100 * 366, "Per hour.", Into(&Rollup::Options::hour_window_s, 86400));

  // The store checks names, region and credentials when the lake opens (S3ObjectStore::Open).
  s.Table("s3", &C::s3, kS3Help)
      .String("bucket", "", "An existing bucket (sensorpipe does not create it); set: the lake is there.",
              Into(&S3Options::bucket))
      .String("endpoint", "",
              "`scheme://host[:port]` of the service (http or https); empty: AWS's endpoint for region.",
              Into(&S3Options::endpoint))
      .String("region", "", "The region requests are signed for.", Into(&S3Options::region))
      .String("prefix", "", "Keys are stored under `prefix/`; several pipelines can share a bucket.",
              Into(&S3Options::prefix))
      .Bool("path_style", false,
            "true: `http://host/bucket/key`; false: `http://bucket.host/key` (virtual-host style).",
            Into(&S3Options::path_style))
      .String("access_key_id", "", "The key pair requests are signed with (AWS Signature Version 4) ...",
              Into(&S3Options::access_key_id))
      .String("secret_access_key", "", "... and its secret.", Into(&S3Options::secret_access_key));
  s.Table("s3", &C::cache)
      .Int("cache_bytes", int64_t{1} << 30, int64_t{1} << 20, int64_t{1} << 50,
           "Bound of the local copies DuckDB reads (data_dir/cache), evicted beyond.",
           Into(&ObjectCacheOptions::max_bytes));
  s.Table("s3", &C::s3).Check(CheckS3);
  return s;
}

// The folders below data_dir that the stages' options name.
DaemonConfig WithDirs(DaemonConfig c) {
  c.log.dir = JoinPath(c.data_dir, "log");
  c.compaction.tmp_dir = JoinPath(c.data_dir, "tmp");
  c.compaction.lock_path = JoinPath(c.data_dir, "COMPACT.LOCK");
  c.cache.dir = JoinPath(c.data_dir, "cache");
  return c;
}

}  // namespace

const Settings<DaemonConfig>& DaemonSettings() {
  static const Settings<DaemonConfig> settings = MakeDaemonSettings();
  return settings;
}

Result<DaemonConfig> ParseDaemonConfig(const std::string& text, const std::string& path) {
  SP_ASSIGN_OR_RETURN(DaemonConfig c, DaemonSettings().Parse(text, path));
  c.path = path;
  return WithDirs(std::move(c));
}

Result<DaemonConfig> LoadDaemonConfig(Env* env, const std::string& path) {
  // A missing file means all defaults, relative to the current folder.
  if (!env->FileExists(path)) return WithDirs(DaemonSettings().Defaults());
  SP_ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
  return ParseDaemonConfig(text, path);
}

}  // namespace sp
