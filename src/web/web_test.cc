// The listener's access rules on a real server: reads of /api/* need the bearer token when the
// listener is reachable from elsewhere, writes always; health and metrics stay open for probes.
#include <gtest/gtest.h>
#include <httplib.h>

#include "common/testing.h"
#include "web/server.h"

namespace sp {
namespace {

TEST(WebServer, ReadsNeedTheTokenWhenRequired) {
  testing::TempDir lake;
  Metrics metrics;
  auto engine = QueryEngine::Open(lake.path(), {.read_only_sql = true});
  ASSERT_TRUE(engine.ok());
  Rollup rollup({});
  rollup.Load({});
  LakeAggregates aggregates([&] { return QueryEngine::Open(lake.path(), {}); });
  SeriesReader series(&rollup, &aggregates);
  for (bool required : {false, true}) {
    WebServer web(&metrics, engine->get(), [] { return Health{}; });
    web.EnableApi({&rollup, &series, Clock::Default()});
    web.EnableIngest("s3cret", 1 << 20, [](std::string_view, std::string_view) { return std::make_pair(200, std::string("{}")); });
    if (required) web.RequireTokenForReads();
    ASSERT_OK(web.Start("127.0.0.1", 0));
    httplib::Client client("127.0.0.1", web.port());
    for (const char* path : {"/api/devices", "/api/series?metric=humidity", "/api/query?sql=SELECT%201"}) {
      SCOPED_TRACE(path);
      auto open = client.Get(path);
      ASSERT_TRUE(open);
      EXPECT_EQ(open->status, required ? 401 : 200) << open->body;
      auto wrong = client.Get(path, {{"Authorization", "Bearer s3crex"}});
      EXPECT_EQ(wrong->status, required ? 401 : 200);
      auto right = client.Get(path, {{"Authorization", "Bearer s3cret"}});
      EXPECT_EQ(right->status, 200) << right->body;
    }
    EXPECT_EQ(client.Get("/metrics")->status, 200);
    // Brotli at httplib's quality 11 costs seconds on a large answer: browsers get gzip.
    auto compressed = client.Get("/metrics", {{"Accept-Encoding", "gzip, deflate, br, zstd"}});
    EXPECT_EQ(compressed->get_header_value("Content-Encoding"), "gzip");
    EXPECT_EQ(client.Get("/healthz")->status, 200);
    EXPECT_EQ(client.Post("/v1/ingest", "{}", "application/x-ndjson")->status, 401);
    web.Stop();
  }
}

}  // namespace
}  // namespace sp
