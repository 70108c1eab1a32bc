// The listener's access rules on a real server: reads of /api/* need the bearer token when the
// listener is reachable from elsewhere, writes always; health and metrics stay open for probes.
// And HTTPS with the PEM files of [http] cert_file and key_file.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>

#include "common/testing.h"
#include "web/server.h"

namespace sp {
namespace {

TEST(WebServer, ReadsNeedTheTokenWhenRequired) {
  testing::TempDir lake;
  Metrics metrics;
  auto engine = QueryEngine::Open(Env::Default(), lake.path(), {.read_only_sql = true});
  ASSERT_TRUE(engine.ok());
  Rollup rollup({});
  rollup.Load({});
  LakeAggregates aggregates([&] { return QueryEngine::Open(Env::Default(), lake.path(), {}); });
  SeriesReader series(&rollup, &aggregates);
  for (bool required : {false, true}) {
    WebServer web(&metrics, engine->get(), [] { return Health{}; });
    web.EnableApi({&rollup, &series, Clock::Default()});
    web.EnableIngest("s3cret", 1 << 20, [](std::string_view, const WebServer::IngestRequest&) { return std::make_pair(200, std::string("{}")); });
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

TEST(WebServer, ServesHttpsWithTheConfiguredCertificate) {
  testing::TempDir dir;
  const std::string cert = dir.Sub("web.crt"), key = dir.Sub("web.key");
  const std::string make = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
                           "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert +
                           " 2>/dev/null";
  ASSERT_EQ(std::system(make.c_str()), 0);
  Metrics metrics;
  auto engine = QueryEngine::Open(Env::Default(), dir.path(), {.read_only_sql = true});
  ASSERT_TRUE(engine.ok());
  WebServer web(&metrics, engine->get(), [] { return Health{}; }, {cert, key});
  ASSERT_OK(web.Start("127.0.0.1", 0));
  httplib::SSLClient tls("127.0.0.1", web.port());
  tls.set_ca_cert_path(cert.c_str());
  tls.enable_server_certificate_verification(true);
  auto res = tls.Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  // Plain HTTP gets no answer from a TLS listener.
  httplib::Client plain("127.0.0.1", web.port());
  plain.set_read_timeout(std::chrono::seconds(5));
  auto no = plain.Get("/healthz");
  EXPECT_TRUE(!no || no->status != 200);
  web.Stop();

  // Files that are not a certificate and its key stop start-up with the reason.
  WebServer bad(&metrics, engine->get(), [] { return Health{}; }, {key, cert});
  Status s = bad.Start("127.0.0.1", 0);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("cert_file and key_file"), std::string_view::npos) << s.ToString();
}

// A second daemon on a port already served must fail to start: httplib's SO_REUSEPORT let it listen
// beside the first and take a share of the connections, so a script polling the port could not
// tell which one answered.
TEST(WebServer, APortAlreadyServedIsRefused) {
  testing::TempDir lake;
  Metrics metrics;
  auto engine = QueryEngine::Open(Env::Default(), lake.path(), {.read_only_sql = true});
  ASSERT_TRUE(engine.ok());
  WebServer first(&metrics, engine->get(), [] { return Health{}; });
  ASSERT_OK(first.Start("127.0.0.1", 0));
  WebServer second(&metrics, engine->get(), [] { return Health{}; });
  const Status s = second.Start("127.0.0.1", first.port());
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  // The first still answers, and a server started again after it stopped gets the port at once.
  httplib::Client client("127.0.0.1", first.port());
  EXPECT_EQ(client.Get("/healthz")->status, 200);
  const int port = first.port();
  first.Stop();
  WebServer again(&metrics, engine->get(), [] { return Health{}; });
  EXPECT_OK(again.Start("127.0.0.1", port));
}

}  // namespace
}  // namespace sp
