// The lake in S3, end to end: `sensorpipe run` with [s3] ingests over HTTP and delivers into a
// real S3-compatible server; after a clean stop, `sensorpipe compact --now` and `sensorpipe query`
// work on the bucket, and the data folder holds no lake object outside the cache. A wrong key or
// config stops start-up with a message that says what is wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/testing.h"
#include "store/s3_object_store.h"
#include "support/daemon.h"
#include "support/s3_server.h"

namespace sp::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kBucket[] = "lake";
constexpr char kPrefix[] = "e2e";

std::string S3Toml(const S3Server& server, const std::string& secret = S3Server::kSecretAccessKey) {
  return "[s3]\nendpoint = \"" + server.endpoint() + "\"\nregion = \"us-east-1\"\nbucket = \"" + kBucket +
         "\"\nprefix = \"" + kPrefix + "\"\npath_style = true\naccess_key_id = \"" + S3Server::kAccessKeyId +
         "\"\nsecret_access_key = \"" + secret + "\"\n";
}

// The single value of a one-row, one-column query; -1 when it fails.
int64_t QueryNumber(const Daemon& d, const std::string& sql) {
  auto out = d.Query(sql, "csv");
  if (!out.ok()) return -1;
  std::istringstream lines(*out);
  std::string header, value;
  return std::getline(lines, header) && std::getline(lines, value) ? std::stoll(value) : -1;
}

TEST(S3Lake, IngestCompactAndQueryWithTheObjectsInTheBucket) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto server, S3Server::Start(dir.Sub("s3"), {.buckets = {kBucket}}));
  // HTTP ingest only.
  ASSERT_OK_AND_ASSIGN(auto daemon, Daemon::Start(dir.Sub("sp"), NoBrokerUrl(),
                                                  "[delivery]\ninterval_s = 1\n[compaction]\ndelete_after_s = 0\n"
                                                  "[http]\ntoken = \"s3cret\"\n" +
                                                      S3Toml(*server)));
  // 60 readings of two devices over three hours, a repeated one, and a line that is not JSON.
  std::string ndjson;
  for (int i = 0; i < 60; ++i) {
    char ts[32];
    std::snprintf(ts, sizeof ts, "2022-07-14T%02d:%02d:00Z", 6 + i / 20, i % 20);
    ndjson += "{\"client_id\":\"pi-" + std::to_string(i % 2) + "\",\"timestamp\":\"" + ts +
              "\",\"temperature\":" + std::to_string(20 + i) + ",\"count\":" + std::to_string(i) + "}\n";
  }
  ndjson += "{\"client_id\":\"pi-0\",\"timestamp\":\"2022-07-14T06:00:00Z\",\"temperature\":20,\"count\":0}\n";
  ndjson += "not json\n";
  ASSERT_OK_AND_ASSIGN(
      CommandOutput posted,
      RunCommand({"curl", "-s", "-X", "POST", "--data-binary", "@-", "-H", "Authorization: Bearer s3cret",
                  "http://127.0.0.1:" + std::to_string(daemon->http_port()) + "/v1/ingest"},
                 kDeadline, ndjson));
  EXPECT_THAT(posted.out, HasSubstr("{\"accepted\":61,\"rejected\":1,"));

  // Visible to `sensorpipe query` (another process, sharing the cache) while the daemon runs.
  ASSERT_TRUE(WaitUntil([&] { return QueryNumber(*daemon, "SELECT count(*) FROM readings") == 60; }, kDeadline))
      << daemon->process().Log();
  EXPECT_GT(daemon->Metric("sensorpipe_s3_requests_total{operation=\"PutObject\"}"), 0);
  EXPECT_GE(daemon->Metric("sensorpipe_cache_bytes"), 0);
  ASSERT_OK_AND_ASSIGN(int code, daemon->Stop());
  EXPECT_EQ(code, 0) << daemon->process().Log();

  const std::string bin = BinDir() + "/sensorpipe";
  ASSERT_OK_AND_ASSIGN(CommandOutput compacted,
                       RunCommand({bin, "compact", "--config", daemon->config_path(), "--now"}, kDeadline));
  EXPECT_EQ(compacted.exit_code, 0) << compacted.err;
  EXPECT_THAT(compacted.err, HasSubstr("3 partitions compacted"));
  EXPECT_EQ(QueryNumber(*daemon, "SELECT count(*) FROM readings"), 60);
  EXPECT_EQ(QueryNumber(*daemon, "SELECT sum(seq) FROM readings"), 59 * 60 / 2);
  EXPECT_EQ(QueryNumber(*daemon, "SELECT count(DISTINCT date_trunc('hour', ts)) FROM readings"), 3);
  EXPECT_EQ(QueryNumber(*daemon, "SELECT count(*) FROM errors WHERE reason = 'malformed_json'"), 1);
  ASSERT_OK_AND_ASSIGN(CommandOutput ls, RunCommand({bin, "lake", "ls", "--config", daemon->config_path()}, kDeadline));
  EXPECT_THAT(ls.out, HasSubstr("dt=2022-07-14/hour=08"));
  EXPECT_THAT(ls.out, HasSubstr("compacted\n"));

  // In the bucket: one Parquet file per hour (the raw objects were deleted after compaction,
  // delete_after_s = 0) and the day's errors.
  S3Options o;
  o.endpoint = server->endpoint();
  o.region = "us-east-1";
  o.bucket = kBucket;
  o.prefix = kPrefix;
  o.path_style = true;
  o.access_key_id = S3Server::kAccessKeyId;
  o.secret_access_key = S3Server::kSecretAccessKey;
  ASSERT_OK_AND_ASSIGN(auto bucket, S3ObjectStore::Open(o, Env::Default()));
  ASSERT_OK_AND_ASSIGN(auto objects, bucket->List(""));
  std::vector<std::string> keys;
  for (const ObjectInfo& object : objects) keys.push_back(object.key.substr(0, object.key.find("/dt=")));
  EXPECT_EQ(keys, (std::vector<std::string>{"compacted", "compacted", "compacted", "errors"}));

  // On the local disk: the log, the catalog, and copies in the cache only.
  const std::string data = dir.Sub("sp/data");
  EXPECT_FALSE(std::filesystem::exists(data + "/lake"));
  size_t cached = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data)) {
    const std::string path = e.path().string();
    if (!e.is_regular_file() || !(path.ends_with(".parquet") || path.ends_with(".ndjson.zst"))) continue;
    EXPECT_EQ(path.rfind(data + "/cache/" + kBucket + "/" + kPrefix + "/", 0), 0u) << path;
    cached += path.ends_with(".parquet");
  }
  EXPECT_EQ(cached, 3u);
}

TEST(S3Lake, AWrongKeyOrConfigStopsStartUp) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto server, S3Server::Start(dir.Sub("s3"), {.buckets = {kBucket}}));
  const std::string bin = BinDir() + "/sensorpipe";
  const std::string mqtt = "[mqtt]\nurl = \"" + NoBrokerUrl() + "\"\n";
  const std::string http = "[http]\nlisten = \"127.0.0.1:" + std::to_string(FreePort()) + "\"\n";
  auto run = [&](const std::string& name, const std::string& toml) {
    std::ofstream(dir.Sub(name)) << "data_dir = \"data\"\n" << mqtt << http << toml;
    auto out = RunCommand({bin, "run", "--config", dir.Sub(name)}, kDeadline);
    EXPECT_TRUE(out.ok());
    EXPECT_EQ(out->exit_code, 1) << name;
    return out.ok() ? out->err : std::string();
  };
  std::string err = run("secret.toml", S3Toml(*server, "wrong"));
  EXPECT_THAT(err, HasSubstr("secret.toml: [s3] the lake's bucket cannot be listed: s3 ListObjectsV2 s3://lake/: HTTP "
                             "403 SignatureDoesNotMatch"));
  err = run("bucket.toml", "[s3]\nbucket = \"Not_A_Bucket\"\nregion = \"us-east-1\"\n");
  EXPECT_THAT(err, HasSubstr("bucket.toml: s3: bucket 'Not_A_Bucket' is not a valid S3 bucket name"));
  err = run("key.toml", "[s3]\nbucket = \"lake\"\nbucket_name = \"lake\"\n");
  EXPECT_THAT(err, HasSubstr("key.toml:8: [s3] bucket_name: unknown key"));
  err = run("nobucket.toml", "[s3]\nendpoint = \"" + server->endpoint() + "\"\n");
  EXPECT_THAT(err, HasSubstr("nobucket.toml:7: [s3] endpoint: needs [s3] bucket, or the lake stays local"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("data/lake")));
}

}  // namespace
}  // namespace sp::testing
