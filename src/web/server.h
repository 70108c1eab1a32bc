// The web stage, in place of Kibana and QuickSight: the daemon's HTTP listener. It serves the first
// dashboard page at / (hourly averages per device, refreshed live), /healthz (alive) and
// /readyz (subscribed to the broker) for health checks, POST /v1/ingest (with a bearer token),
// and /metrics in the Prometheus text format. The dashboard issue adds the charts and the JSON API
// on the same server. Requests are served from a thread pool; queries go through one QueryEngine,
// one at a time.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "common/status.h"
#include "query/engine.h"

namespace httplib {
class Server;
}

namespace sp {

//! What /healthz reports besides "the process answers".
struct Health {
  bool mqtt_connected = false;
};

class WebServer {
 public:
  using HealthFn = std::function<Health()>;
  //! Nothing is owned; all must outlive the server.
  WebServer(Metrics* metrics, QueryEngine* engine, HealthFn health);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  using IngestFn = std::function<std::pair<int, std::string>(std::string_view body, std::string_view topic)>;
  //! Serves POST /v1/ingest[?topic=T] with fn (topic "http" when the request names none), for
  //! requests that carry `Authorization: Bearer <token>`.
  //! Without a token configured every POST is refused (403): writes always need one. Call before Start.
  void EnableIngest(std::string token, size_t max_body_bytes, IngestFn fn);

  //! Binds host:port (port 0 picks a free one) and serves in a background thread.
  Status Start(const std::string& host, int port);
  //! The bound port, after Start.
  int port() const { return port_; }
  void Stop();

 private:
  //! The dashboard: GET / and its assets (page.cc).
  void RegisterPage();

  Metrics* metrics_;
  QueryEngine* engine_;
  HealthFn health_;
  Counter* requests_;
  std::string token_;
  IngestFn ingest_;
  std::mutex query_mu_;  // one query at a time on the shared engine
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace sp
