#include "app/settings.h"

#include <gtest/gtest.h>

#include "common/testing.h"

namespace sp {
namespace {

Status ErrorOf(const std::string& toml) {
  return ParseDaemonConfig(toml, "/etc/sp/sensorpipe.toml").status();
}

TEST(DaemonSettings, DefaultsWhenEmpty) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, ParseDaemonConfig("", "/etc/sp/sensorpipe.toml"));
  EXPECT_EQ(c.data_dir, "/etc/sp/./data");
  EXPECT_EQ(c.mqtt.url, "mqtt://127.0.0.1:1883");
  EXPECT_EQ(c.mqtt.topics, std::vector<std::string>{"sensor/#"});
  EXPECT_EQ(c.ingest.device_time_zone, "UTC");
  EXPECT_EQ(c.ingest.max_payload_bytes, 131072u);
  EXPECT_EQ(c.log.shards, 1u);
  EXPECT_EQ(c.log.fsync.kind, FsyncPolicy::Kind::kBatch);
  EXPECT_EQ(c.http.listen, "127.0.0.1:8080");
}

TEST(DaemonSettings, FillTheStagesOptionsInTheirUnits) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, ParseDaemonConfig("", "/etc/sp/sensorpipe.toml"));
  EXPECT_EQ(c.log.dir, "/etc/sp/./data/log");
  EXPECT_EQ(c.log.segment_bytes, uint64_t{64} << 20);
  EXPECT_EQ(c.log.segment_ms, 86400 * 1000);
  EXPECT_EQ(c.log.retention_ms, 168 * 3'600'000);
  EXPECT_EQ(c.delivery.compression, DeliveryOptions::kZstd);
  EXPECT_EQ(c.delivery.size_hint_bytes, size_t{5} << 20);
  EXPECT_EQ(c.compaction.tmp_dir, "/etc/sp/./data/tmp");
  EXPECT_EQ(c.compaction.lock_path, "/etc/sp/./data/COMPACT.LOCK");
  EXPECT_EQ(c.compaction.objects, 20u);
  EXPECT_EQ(c.query.row_limit, 10000);
  EXPECT_EQ(c.rollup.minute_window_s, 26 * 3600);
  EXPECT_EQ(c.rollup.hour_window_s, 400 * 86400);
  EXPECT_EQ(c.mqtt.protocol, "auto");
  EXPECT_EQ(c.mqtt.keepalive_s, 30);
  EXPECT_EQ(c.http.max_body_bytes, 16 << 20);

  ASSERT_OK_AND_ASSIGN(c, ParseDaemonConfig("[log]\nsegment_age_s = 60\n[delivery]\ncompression = \"gzip\"\n"
                                            "[rollup]\nminute_hours = 2\nhour_days = 3\n",
                                            "x.toml"));
  EXPECT_EQ(c.log.segment_ms, 60'000);
  EXPECT_EQ(c.delivery.compression, DeliveryOptions::kGzip);
  EXPECT_EQ(c.rollup.minute_window_s, 2 * 3600);
  EXPECT_EQ(c.rollup.hour_window_s, 3 * 86400);
}

TEST(DaemonSettings, ReferenceNamesEveryTableAndKey) {
  const std::string md = DaemonSettings().Reference();
  for (const char* heading :
       {"## Top level", "## `[mqtt]`", "## `[ingest]`", "## `[[rules]]`", "## `[log]`", "## `[delivery]`",
        "## `[compaction]`", "## `[http]`", "## `[query]`", "## `[rollup]`", "## `[s3]`"}) {
    EXPECT_NE(md.find(heading), std::string::npos) << heading;
  }
  EXPECT_NE(md.find("| `max_payload_bytes` | integer, 64 to 268435456 | `131072` |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `compression` | one of \"zstd\" or \"gzip\" | `\"zstd\"` |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `topics` | array of strings | `[\"sensor/#\"]` |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `cache_bytes` |"), std::string::npos) << md;
}

TEST(DaemonSettings, MissingFileMeansDefaults) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, LoadDaemonConfig(Env::Default(), dir.Sub("absent.toml")));
  EXPECT_EQ(c.data_dir, "./data");
}

TEST(DaemonSettings, ReadsTheSkeletonKeys) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, ParseDaemonConfig(R"(
data_dir = "/var/lib/sensorpipe"
[mqtt]
url = "mqtt://10.0.0.5:1884"
topics = ["sensor/#", "other/+/data"]
[ingest]
device_time_zone = "Asia/Seoul"
[log]
fsync = "interval:20"
retention_hours = 24
stream_fsync = { errors = "none" }
retention_bytes = 1073741824
[http]
listen = "0.0.0.0:9090"
)",
                                                         "x.toml"));
  EXPECT_EQ(c.data_dir, "/var/lib/sensorpipe");
  EXPECT_EQ(c.mqtt.topics.size(), 2u);
  EXPECT_EQ(c.ingest.device_time_zone, "Asia/Seoul");
  EXPECT_EQ(c.log.fsync.kind, FsyncPolicy::Kind::kInterval);
  EXPECT_EQ(c.log.fsync.interval_ms, 20);
  EXPECT_EQ(c.log.retention_ms, 24 * 3'600'000);
  ASSERT_EQ(c.log.stream_fsync.count("errors"), 1u);
  EXPECT_EQ(c.log.stream_fsync.at("errors").kind, FsyncPolicy::Kind::kNone);
  EXPECT_EQ(c.log.retention_bytes, 1073741824u);
  ASSERT_OK_AND_ASSIGN(MqttUrl u, ParseMqttUrl(c.mqtt.url));
  EXPECT_EQ(u.host, "10.0.0.5");
  EXPECT_EQ(u.port, 1884);
}

TEST(DaemonSettings, ErrorsNameFileLineAndReason) {
  Status s = ErrorOf("data_dir = \"d\"\n[mqtt]\nurl = \"mqtt://h:1\"\nbogus = 1\n");
  EXPECT_EQ(s.message(), "/etc/sp/sensorpipe.toml:4: [mqtt] bogus: unknown key");
  s = ErrorOf("\n[nope]\nx = 1\n");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("unknown table"), std::string_view::npos) << s.ToString();
  s = ErrorOf("[ingest]\n\ndevice_time_zone = \"Mars/Olympus\"\n");
  EXPECT_NE(s.message().find("sensorpipe.toml:3: [ingest] device_time_zone: unknown time zone"), std::string_view::npos)
      << s.ToString();
  s = ErrorOf("[ingest]\nidentity_topic_prefix = \"sensor/+/\"\n");
  EXPECT_NE(s.message().find(":2: [ingest] identity_topic_prefix: must be empty or topic levels ending in '/'"),
            std::string_view::npos)
      << s.ToString();
  s = ErrorOf("[http]\ncert_file = \"/etc/passwd\"\n");
  EXPECT_NE(s.message().find(":2: [http] cert_file: cert_file and key_file go together"), std::string_view::npos)
      << s.ToString();
  s = ErrorOf("[log]\nshards = 0\n");
  EXPECT_NE(s.message().find(":2: [log] shards: 0 is out of range"), std::string_view::npos) << s.ToString();
  s = ErrorOf("[log]\nfsync = \"sometimes\"\n");
  EXPECT_NE(s.message().find(":2: [log] fsync: expected"), std::string_view::npos) << s.ToString();
  s = ErrorOf("[log]\nstream_fsync = { errors = \"often\" }\n");
  EXPECT_NE(s.message().find(":2: [log] stream_fsync: errors: expected"), std::string_view::npos) << s.ToString();
  s = ErrorOf("[mqtt]\nurl = \"http://x\"\n");
  EXPECT_NE(s.message().find(":2: [mqtt] url: expected mqtt://"), std::string_view::npos) << s.ToString();
  s = ErrorOf("[http]\nlisten = 8080\n");
  EXPECT_NE(s.message().find(":2: [http] listen: expected a string"), std::string_view::npos) << s.ToString();
  s = ErrorOf("[delivery]\ncompression = \"lz4\"\n");
  EXPECT_NE(s.message().find(":2: [delivery] compression: expected \"zstd\" or \"gzip\""), std::string_view::npos)
      << s.ToString();
  s = ErrorOf("[compaction]\nobjects = 1\n");
  EXPECT_NE(s.message().find(":2: [compaction] objects: 1 is out of range"), std::string_view::npos) << s.ToString();
  s = ErrorOf("unknown_top = true\n");
  EXPECT_EQ(s.message(), "/etc/sp/sensorpipe.toml:1: unknown_top: unknown key");
}

TEST(DaemonSettings, RulesAreTablesWithTheirLines) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, ParseDaemonConfig("[[rules]]\nname = \"a\"\nsql = \"SELECT * FROM '#'\"\n\n"
                                                         "[[rules]]\nname = \"b-2\"\nstream = \"alerts\"\n"
                                                         "sql = \"SELECT x FROM 'sensor/#'\"\n",
                                                         "/etc/sp/sensorpipe.toml"));
  ASSERT_EQ(c.rules.size(), 2u);
  EXPECT_EQ(c.rules[0].name, "a");
  EXPECT_EQ(c.rules[0].stream, "readings");
  EXPECT_EQ(c.rules[0].line, 3u);
  EXPECT_EQ(c.rules[1].stream, "alerts");
  EXPECT_EQ(c.rules[1].sql, "SELECT x FROM 'sensor/#'");
  EXPECT_EQ(c.rules[1].line, 8u);
  const std::string sql = "sql = \"SELECT * FROM '#'\"\n";
  EXPECT_EQ(ErrorOf("[[rules]]\nname = \"a\"\n" + sql + "where = 1\n").message(),
            "/etc/sp/sensorpipe.toml:4: [[rules]] where: unknown key");
  EXPECT_EQ(ErrorOf("[[rules]]\n" + sql).message(),
            "/etc/sp/sensorpipe.toml:1: [[rules]] name: is missing: every rule needs a name");
  EXPECT_NE(ErrorOf("[[rules]]\nname = \"a\"\n" + sql + "[[rules]]\nname = \"a\"\n" + sql)
                .message()
                .find(":5: [[rules]] name: another rule is called 'a'"),
            std::string_view::npos);
  EXPECT_NE(ErrorOf("[[rules]]\nname = \"a\"\n" + sql + "stream = \"Bad/x\"\n")
                .message()
                .find(":4: [[rules]] stream: expected"),
            std::string_view::npos);
  EXPECT_NE(ErrorOf("[[rules]]\nname = \"a\"\n" + sql + "stream = \"raw\"\n").message().find("reserved"),
            std::string_view::npos);
  EXPECT_NE(ErrorOf("[[rules]]\nname = \"a\"\n").message().find(":1: [[rules]] sql: is missing"),
            std::string_view::npos);
  EXPECT_NE(ErrorOf("rules = 1\n").message().find(":1: rules: expected tables [[rules]]"), std::string_view::npos);
  ASSERT_OK_AND_ASSIGN(c, ParseDaemonConfig("[mqtt]\nprotocol = \"5\"\n", "x.toml"));
  EXPECT_EQ(c.mqtt.protocol, "5");
}

TEST(DaemonSettings, SyntaxErrorHasLine) {
  Status s = ErrorOf("data_dir = \"ok\"\n[mqtt\n");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("/etc/sp/sensorpipe.toml:2:", 0), 0u) << s.ToString();
}

TEST(DaemonSettings, S3TableMovesTheLakeOnlyWithABucket) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig local, ParseDaemonConfig("", "/etc/sp/sensorpipe.toml"));
  EXPECT_EQ(local.s3.bucket, "");
  EXPECT_EQ(local.cache.max_bytes, uint64_t{1} << 30);
  EXPECT_EQ(local.cache.dir, "/etc/sp/./data/cache");
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, ParseDaemonConfig(R"([s3]
endpoint = "http://127.0.0.1:9000"
region = "us-east-1"
bucket = "sensor-lake"
prefix = "prod"
path_style = true
access_key_id = "AKID"
secret_access_key = "secret"
cache_bytes = 2097152
)",
                                                         "/etc/sp/sensorpipe.toml"));
  EXPECT_EQ(c.s3.endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(c.s3.region, "us-east-1");
  EXPECT_EQ(c.s3.bucket, "sensor-lake");
  EXPECT_EQ(c.s3.prefix, "prod");
  EXPECT_TRUE(c.s3.path_style);
  EXPECT_EQ(c.s3.access_key_id, "AKID");
  EXPECT_EQ(c.s3.secret_access_key, "secret");
  EXPECT_EQ(c.cache.max_bytes, 2097152u);

  Status s = ErrorOf("[s3]\nbucket = \"b\"\nbukcet = \"b\"\n");
  EXPECT_EQ(s.message(), "/etc/sp/sensorpipe.toml:3: [s3] bukcet: unknown key");
  s = ErrorOf("[s3]\nregion = \"us-east-1\"\n");
  EXPECT_EQ(s.message(), "/etc/sp/sensorpipe.toml:2: [s3] region: needs [s3] bucket, or the lake stays local");
  s = ErrorOf("[s3]\nbucket = \"b\"\npath_style = \"yes\"\n");
  EXPECT_NE(s.message().find(":3: [s3] path_style: expected true or false"), std::string_view::npos) << s.ToString();
  s = ErrorOf("[s3]\nbucket = \"b\"\nendpoint = \"s3.example.com\"\n");
  EXPECT_NE(s.message().find(":3: [s3] endpoint: expected http://host[:port]"), std::string_view::npos) << s.ToString();
  s = ErrorOf("[s3]\nbucket = \"b\"\ncache_bytes = 1000\n");
  EXPECT_NE(s.message().find(":3: [s3] cache_bytes: 1000 is out of range"), std::string_view::npos) << s.ToString();
}

TEST(DaemonSettings, HostPortAndFsync) {
  ASSERT_OK_AND_ASSIGN(auto hp, ParseHostPort("127.0.0.1:8080"));
  EXPECT_EQ(hp.first, "127.0.0.1");
  EXPECT_EQ(hp.second, 8080);
  EXPECT_FALSE(ParseHostPort("127.0.0.1").ok());
  EXPECT_FALSE(ParseHostPort("h:99999").ok());
  EXPECT_TRUE(ParseFsyncPolicy("none").ok());
  EXPECT_FALSE(ParseFsyncPolicy("interval:").ok());
  EXPECT_FALSE(ParseFsyncPolicy("interval:0").ok());
}

}  // namespace
}  // namespace sp
