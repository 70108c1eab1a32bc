#include "common/config.h"

#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/env.h"
#include "common/toml_reader.h"

namespace sp {

namespace {

// ca_file (when asked for), cert_file and key_file of the current table: paths relative to the
// config file, which must exist; a certificate needs its key and the other way round.
Status ReadPemFiles(TomlReader& r, const std::string& config_path, std::string* ca_file, std::string* cert_file,
                    std::string* key_file) {
  for (auto [key, value] : {std::pair{"ca_file", ca_file}, std::pair{"cert_file", cert_file},
                            std::pair{"key_file", key_file}}) {
    if (value == nullptr) continue;
    SP_RETURN_IF_ERROR(r.String(key, value));
    *value = ResolveConfigPath(config_path, *value);
    if (!value->empty() && !Env::Default()->FileExists(*value)) return r.ErrorAt(key, "no file " + *value);
  }
  if (cert_file->empty() != key_file->empty()) {
    return r.ErrorAt(cert_file->empty() ? "key_file" : "cert_file", "cert_file and key_file go together");
  }
  return Status::OK();
}

Result<int> ParsePort(std::string_view text) {
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return Status::InvalidArgument("bad port '" + std::string(text) + "'");
  }
  return port;
}

Status ValidateZone(const std::string& zone) {
  try {
    (void)date::locate_zone(zone);
  } catch (const std::exception&) {
    return Status::InvalidArgument("unknown time zone '" + zone + "' (expected an IANA name such as Asia/Seoul)");
  }
  return Status::OK();
}

// Names of rules (any case, '-') and of streams (they become folder names: lower case).
bool IsSafeName(const std::string& name, bool rule) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [&](char ch) {
    const unsigned char u = static_cast<unsigned char>(ch);
    return std::islower(u) || std::isdigit(u) || ch == '_' || (rule && (std::isupper(u) || ch == '-'));
  });
}

// Reads every known key; each check names the key so the error carries file:line.
Status Read(TomlReader& r, Config& c) {
  SP_RETURN_IF_ERROR(r.Table(""));
  SP_RETURN_IF_ERROR(r.String("data_dir", &c.data_dir));
  if (c.data_dir.empty()) return r.ErrorAt("data_dir", "must not be empty");

  SP_RETURN_IF_ERROR(r.Table("mqtt"));
  SP_RETURN_IF_ERROR(ReadMqttTable(r, c.path, &c.mqtt));
  SP_RETURN_IF_ERROR(r.StringArray("topics", &c.mqtt.topics));
  if (c.mqtt.topics.empty()) return r.ErrorAt("topics", "needs at least one topic filter");
  for (const auto& t : c.mqtt.topics) {
    if (t.empty()) return r.ErrorAt("topics", "a topic filter is empty");
  }

  SP_RETURN_IF_ERROR(r.Table("ingest"));
  SP_RETURN_IF_ERROR(r.String("device_time_zone", &c.ingest.device_time_zone));
  if (Status s = ValidateZone(c.ingest.device_time_zone); !s.ok()) {
    return r.ErrorAt("device_time_zone", std::string(s.message()));
  }
  SP_RETURN_IF_ERROR(r.Int("max_payload_bytes", &c.ingest.max_payload_bytes, 64, 256 << 20));
  SP_RETURN_IF_ERROR(r.Int("max_future_skew_s", &c.ingest.max_future_skew_s, 0, 10LL * 365 * 86400));
  SP_RETURN_IF_ERROR(r.Int("max_depth", &c.ingest.max_depth, 1, 1024));
  SP_RETURN_IF_ERROR(r.Bool("client_id_fallback", &c.ingest.client_id_fallback));
  SP_RETURN_IF_ERROR(r.String("identity_topic_prefix", &c.ingest.identity_topic_prefix));
  if (const std::string& p = c.ingest.identity_topic_prefix;
      !p.empty() && (p.back() != '/' || p.find_first_of("#+") != std::string::npos)) {
    return r.ErrorAt("identity_topic_prefix", "must be empty or topic levels ending in '/', without wildcards");
  }

  SP_ASSIGN_OR_RETURN(size_t rules, r.TableArray("rules"));
  for (size_t i = 0; i < rules; ++i) {
    SP_RETURN_IF_ERROR(r.TableArrayAt("rules", i));
    RuleConfig rule;
    SP_RETURN_IF_ERROR(r.String("name", &rule.name));
    SP_RETURN_IF_ERROR(r.String("sql", &rule.sql));
    SP_RETURN_IF_ERROR(r.String("stream", &rule.stream));
    rule.line = r.LineOf("sql");
    if (rule.name.empty()) return r.ErrorAt("name", "is missing: every rule needs a name");
    if (!IsSafeName(rule.name, true)) return r.ErrorAt("name", "expected 1-64 characters of A-Z a-z 0-9 _ -");
    for (const RuleConfig& other : c.rules) {
      if (other.name == rule.name) return r.ErrorAt("name", "another rule is called '" + rule.name + "'");
    }
    if (rule.sql.empty()) return r.ErrorAt("sql", "is missing: SELECT ... FROM '<topic filter>' [WHERE ...]");
    if (!IsSafeName(rule.stream, false)) return r.ErrorAt("stream", "expected 1-64 characters of a-z 0-9 _");
    // The error output is written by ingest itself, and a stream's lake folder is its name: these
    // would mix a rule's records with rejections or with the readings' raw/ and compacted/ files.
    if (rule.stream == "errors" || rule.stream == "raw" || rule.stream == "compacted") {
      return r.ErrorAt("stream", "\"" + rule.stream + "\" is reserved (errors, raw, compacted)");
    }
    c.rules.push_back(std::move(rule));
  }

  SP_RETURN_IF_ERROR(r.Table("log"));
  SP_RETURN_IF_ERROR(r.Int("shards", &c.log.shards, 1, 1024));
  SP_RETURN_IF_ERROR(r.String("fsync", &c.log.fsync));
  auto policy = ParseFsyncPolicy(c.log.fsync);
  if (!policy.ok()) return r.ErrorAt("fsync", std::string(policy.status().message()));
  c.log.fsync_policy = *policy;
  std::map<std::string, std::string> stream_fsync;
  SP_RETURN_IF_ERROR(r.StringMap("stream_fsync", &stream_fsync));
  for (const auto& [stream, text] : stream_fsync) {
    auto p = ParseFsyncPolicy(text);
    if (!p.ok()) return r.ErrorAt("stream_fsync", stream + ": " + std::string(p.status().message()));
    c.log.stream_fsync[stream] = *p;
  }
  SP_RETURN_IF_ERROR(r.Int("segment_bytes", &c.log.segment_bytes, 4096, int64_t{1} << 40));
  SP_RETURN_IF_ERROR(r.Int("segment_age_s", &c.log.segment_age_s, 0, 365LL * 86400));
  SP_RETURN_IF_ERROR(r.Int("retention_hours", &c.log.retention_hours, 0, 100LL * 365 * 24));
  SP_RETURN_IF_ERROR(r.Int("retention_bytes", &c.log.retention_bytes, 0, int64_t{1} << 50));

  SP_RETURN_IF_ERROR(r.Table("delivery"));
  SP_RETURN_IF_ERROR(r.Int("size_hint_bytes", &c.delivery.size_hint_bytes, 1024, int64_t{1} << 32));
  SP_RETURN_IF_ERROR(r.Int("interval_s", &c.delivery.interval_s, 1, 86400));
  SP_RETURN_IF_ERROR(r.String("compression", &c.delivery.compression));
  if (c.delivery.compression != "zstd" && c.delivery.compression != "gzip") {
    return r.ErrorAt("compression", "expected \"zstd\" or \"gzip\"");
  }
  SP_RETURN_IF_ERROR(r.Bool("partition_by_device", &c.delivery.partition_by_device));

  SP_RETURN_IF_ERROR(r.Table("compaction"));
  SP_RETURN_IF_ERROR(r.Int("objects", &c.compaction.objects, 2, 100000));
  SP_RETURN_IF_ERROR(r.Int("grace_s", &c.compaction.grace_s, 0, 30LL * 86400));
  SP_RETURN_IF_ERROR(r.Int("delete_after_s", &c.compaction.delete_after_s, 0, 30LL * 86400));
  SP_RETURN_IF_ERROR(r.String("memory_limit", &c.compaction.memory_limit));
  SP_RETURN_IF_ERROR(r.Int("row_group_rows", &c.compaction.row_group_rows, 1024, 100'000'000));
  SP_RETURN_IF_ERROR(r.Int("workers", &c.compaction.workers, 1, 64));

  SP_RETURN_IF_ERROR(r.Table("http"));
  SP_RETURN_IF_ERROR(r.String("listen", &c.http.listen));
  if (auto hp = ParseHostPort(c.http.listen); !hp.ok()) return r.ErrorAt("listen", std::string(hp.status().message()));
  SP_RETURN_IF_ERROR(r.String("token", &c.http.token));
  SP_RETURN_IF_ERROR(r.Int("max_body_bytes", &c.http.max_body_bytes, 1024, int64_t{1} << 32));
  SP_RETURN_IF_ERROR(ReadPemFiles(r, c.path, nullptr, &c.http.cert_file, &c.http.key_file));

  SP_RETURN_IF_ERROR(r.Table("query"));
  SP_RETURN_IF_ERROR(r.Int("row_limit", &c.query.row_limit, 1, int64_t{1} << 40));
  SP_RETURN_IF_ERROR(r.Int("timeout_ms", &c.query.timeout_ms, 1, 24LL * 3600 * 1000));

  SP_RETURN_IF_ERROR(r.Table("rollup"));
  SP_RETURN_IF_ERROR(r.Int("minute_hours", &c.rollup.minute_hours, 1, 24 * 366));
  SP_RETURN_IF_ERROR(r.Int("hour_days", &c.rollup.hour_days, 1, 100 * 366));

  // The store checks names, region and credentials when the lake opens (S3ObjectStore::Open).
  SP_RETURN_IF_ERROR(r.Table("s3"));
  for (auto [key, value] :
       {std::pair{"endpoint", &c.s3.endpoint}, std::pair{"region", &c.s3.region}, std::pair{"bucket", &c.s3.bucket},
        std::pair{"prefix", &c.s3.prefix}, std::pair{"access_key_id", &c.s3.access_key_id},
        std::pair{"secret_access_key", &c.s3.secret_access_key}}) {
    SP_RETURN_IF_ERROR(r.String(key, value));
  }
  SP_RETURN_IF_ERROR(r.Bool("path_style", &c.s3.path_style));
  SP_RETURN_IF_ERROR(r.Int("cache_bytes", &c.s3.cache_bytes, int64_t{1} << 20, int64_t{1} << 50));
  // Without a bucket the lake stays in data_dir/lake: [s3] keys without one are a mistake.
  for (const char* key :
       {"endpoint", "region", "prefix", "path_style", "access_key_id", "secret_access_key", "cache_bytes"}) {
    if (c.s3.bucket.empty() && r.LineOf(key) != 0) return r.ErrorAt(key, "needs [s3] bucket, or the lake stays local");
  }
  if (!c.s3.endpoint.empty() && c.s3.endpoint.rfind("http://", 0) != 0 && c.s3.endpoint.rfind("https://", 0) != 0) {
    return r.ErrorAt("endpoint", "expected http://host[:port] or https://host[:port], got '" + c.s3.endpoint + "'");
  }

  return r.Finish();
}

}  // namespace

Result<MqttUrl> ParseMqttUrl(const std::string& url) {
  MqttUrl out;
  std::string_view rest = url;
  if (rest.rfind("mqtt://", 0) == 0) {
    rest.remove_prefix(7);
  } else if (rest.rfind("mqtts://", 0) == 0) {
    rest.remove_prefix(8);
    out.tls = true;
    out.port = 8883;
  } else {
    return Status::InvalidArgument("expected mqtt://host:port or mqtts://host:port, got '" + url + "'");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
    SP_ASSIGN_OR_RETURN(out.port, ParsePort(rest.substr(colon + 1)));
    rest = rest.substr(0, colon);
  }
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("expected mqtt://host:port, got '" + url + "'");
  }
  out.host = std::string(rest);
  return out;
}

Status ReadMqttTable(TomlReader& r, const std::string& config_path, MqttConfig* mqtt) {
  SP_RETURN_IF_ERROR(r.String("url", &mqtt->url));
  if (auto u = ParseMqttUrl(mqtt->url); !u.ok()) return r.ErrorAt("url", std::string(u.status().message()));
  SP_RETURN_IF_ERROR(r.String("client_id", &mqtt->client_id));
  SP_RETURN_IF_ERROR(r.String("username", &mqtt->username));
  SP_RETURN_IF_ERROR(r.String("password", &mqtt->password));
  SP_RETURN_IF_ERROR(r.String("protocol", &mqtt->protocol));
  if (mqtt->protocol != "auto" && mqtt->protocol != "3.1.1" && mqtt->protocol != "5") {
    return r.ErrorAt("protocol", "expected \"auto\", \"3.1.1\" or \"5\"");
  }
  SP_RETURN_IF_ERROR(r.Int("keepalive_s", &mqtt->keepalive_s, 1, 65535));
  return ReadPemFiles(r, config_path, &mqtt->ca_file, &mqtt->cert_file, &mqtt->key_file);
}

Result<FsyncPolicy> ParseFsyncPolicy(const std::string& text) {
  FsyncPolicy p;
  if (text == "batch") return p;
  if (text == "none") {
    p.kind = FsyncPolicy::Kind::kNone;
    return p;
  }
  if (auto ms = ParseIntervalMs(text); ms && *ms <= 60000) {
    p.kind = FsyncPolicy::Kind::kInterval;
    p.interval_ms = static_cast<int>(*ms);
    return p;
  }
  return Status::InvalidArgument("expected \"batch\", \"interval:<ms>\" (1 to 60000) or \"none\", got '" + text + "'");
}

std::optional<int64_t> ParseIntervalMs(std::string_view text) {
  constexpr std::string_view kPrefix = "interval:";
  if (!text.starts_with(kPrefix)) return std::nullopt;
  text.remove_prefix(kPrefix.size());
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || end != text.data() + text.size() || ms < 1) return std::nullopt;
  return ms;
}

Result<std::pair<std::string, int>> ParseHostPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return Status::InvalidArgument("expected host:port, got '" + text + "'");
  SP_ASSIGN_OR_RETURN(int port, ParsePort(std::string_view(text).substr(colon + 1)));
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::make_pair(host, port);
}

std::string Config::LogDir() const { return JoinPath(data_dir, "log"); }
std::string Config::LakeDir() const { return JoinPath(data_dir, "lake"); }
std::string Config::CatalogPath() const { return JoinPath(data_dir, "catalog.sqlite"); }
std::string Config::TmpDir() const { return JoinPath(data_dir, "tmp"); }
std::string Config::CacheDir() const { return JoinPath(data_dir, "cache"); }

Result<Config> ParseConfig(const std::string& text, const std::string& path) {
  SP_ASSIGN_OR_RETURN(auto reader, TomlReader::Parse(text, path));
  Config c;
  c.path = path;
  SP_RETURN_IF_ERROR(Read(*reader, c));
  c.data_dir = ResolveConfigPath(path, c.data_dir);
  return c;
}

Result<Config> LoadConfig(const std::string& path) {
  Env* env = Env::Default();
  if (!env->FileExists(path)) {
    Config c;  // a missing file means all defaults, relative to the current folder
    return c;
  }
  auto text = env->ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseConfig(*text, path);
}

}  // namespace sp
