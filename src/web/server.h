// The web stage, in place of Kibana and QuickSight: the daemon's HTTP listener. It serves the
// dashboard at / (page.cc), the JSON API it is drawn from (api.cc, docs/api.md), /healthz (alive)
// and /readyz (subscribed to the broker) for health checks, POST /v1/ingest (with a bearer token),
// and /metrics in the Prometheus text format. Requests are served from a thread pool; user SQL
// goes through one QueryEngine, one statement at a time.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/env.h"
#include "common/metrics.h"
#include "common/status.h"
#include "query/engine.h"
#include "rollup/series.h"

namespace httplib {
class ContentReader;
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace sp {

//! What /healthz reports besides "the process answers".
struct Health {
  bool mqtt_connected = false;
};

//! PEM files for serving HTTPS (`[http] cert_file, key_file`); both empty: plain HTTP.
struct TlsFiles {
  std::string cert_file, key_file;
};

class WebServer {
 public:
  using HealthFn = std::function<Health()>;
  //! Nothing is owned; all must outlive the server.
  WebServer(Metrics* metrics, QueryEngine* engine, HealthFn health, const TlsFiles& tls = {});
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  //! What a POST /v1/ingest asks for besides its body.
  struct IngestRequest {
    std::string topic = "http";    // ?topic=
    std::string device_time_zone;  // ?device_time_zone=; empty: [ingest] device_time_zone
  };
  using IngestFn = std::function<std::pair<int, std::string>(std::string_view body, const IngestRequest& request)>;
  //! Serves POST /v1/ingest[?topic=T&device_time_zone=Z] with fn, for requests that carry
  //! `Authorization: Bearer <token>`, whatever their Content-Type, with bodies up to max_body_bytes.
  //! Without a token configured every POST is refused (403): writes always need one. Call before Start.
  void EnableIngest(std::string token, size_t max_body_bytes, IngestFn fn);

  //! What the JSON API reads; none is owned.
  struct ApiSources {
    const Rollup* rollup = nullptr;  // /api/devices, /api/events
    SeriesReader* series = nullptr;  // /api/series
    Clock* clock = nullptr;
  };
  //! Serves /api/series, /api/devices, /api/events and /api/query (docs/api.md). Call before Start.
  void EnableApi(ApiSources sources);

  //! Binds host:port (port 0 picks a free one) and serves in a background thread. Reads of /api/*
  //! need the bearer token unless host is a loopback address (or RequireTokenForReads was called).
  Status Start(const std::string& host, int port);
  //! Reads of /api/* need the token even on loopback, as when a proxy on this machine forwards
  //! requests from elsewhere. Call before Start.
  void RequireTokenForReads() { token_for_reads_ = true; }
  //! The bound port, after Start.
  int port() const { return port_; }
  void Stop();

 private:
  //! The dashboard: GET / and its assets (page.cc).
  void RegisterPage();
  //! POST /v1/ingest: reads the body up to max_body_bytes_, checks the token and parameters, calls ingest_.
  void ServeIngest(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read);
  //! Whether the request carries `Authorization: Bearer <token>` (never, without a token).
  bool Authorized(const httplib::Request& req) const;

  Metrics* metrics_;
  QueryEngine* engine_;
  HealthFn health_;
  Counter* requests_;
  std::string token_;
  size_t max_body_bytes_ = 0;  // 0 until EnableIngest: httplib's own limit
  IngestFn ingest_;
  ApiSources api_;
  bool token_for_reads_ = false;
  bool reads_need_token_ = false;
  std::atomic<int> event_streams_{0};
  std::atomic<bool> stopping_{false};         // ends event streams
  std::atomic<bool> listen_returned_{false};  // the serving thread is done
  std::mutex query_mu_;                       // one query at a time on the shared engine
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  bool tls_ = false;
};

}  // namespace sp
