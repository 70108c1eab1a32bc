#include "web/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "common/env.h"
#include "common/thread_name.h"

namespace sp {

WebServer::WebServer(Metrics* metrics, QueryEngine* engine, HealthFn health, const TlsFiles& tls)
    : metrics_(metrics),
      engine_(engine),
      health_(std::move(health)),
      requests_(metrics->GetCounter("sensorpipe_http_requests_total", "HTTP requests served.")),
      server_(tls.cert_file.empty() ? std::make_unique<httplib::Server>()
                                    : std::make_unique<httplib::SSLServer>(tls.cert_file.c_str(), tls.key_file.c_str())),
      tls_(!tls.cert_file.empty()) {
  // Live dashboards hold a thread each for their event stream (at most 16), beside requests.
  server_->new_task_queue = [] { return new httplib::ThreadPool(32); };
  // Headers and body go out in two writes: with Nagle's algorithm the second waits for the
  // client's delayed ACK of the first, 20-40 ms on every keep-alive request.
  server_->set_tcp_nodelay(true);
  // Reads of the API need the token when others can reach the listener (Start decides).
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // Debian's cpp-httplib compresses every text and JSON answer with Brotli at quality 11 when
    // the client accepts it, as browsers do: 3 s for a 1 MB series, 20 s for 8 MB. Without "br" it
    // takes gzip at zlib's default level (0.3 s for the 8 MB). The request is ours to edit: httplib
    // decides the encoding from it after routing.
    auto& headers = const_cast<httplib::Request&>(req).headers;
    if (auto it = headers.find("Accept-Encoding"); it != headers.end() && it->second.find("br") != std::string::npos) {
      it->second = it->second.find("gzip") != std::string::npos ? "gzip" : "";
    }
    if (!reads_need_token_ || !req.path.starts_with("/api/") || Authorized(req)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer");
    res.set_content(token_.empty() ? "{\"error\":\"the API is off: the listener is not loopback and [http] token is unset\"}\n"
                                   : "{\"error\":\"a valid Authorization: Bearer <token> header is needed\"}\n",
                    "application/json");
    return httplib::Server::HandlerResponse::Handled;
  });
  // /healthz: the process is alive and serving (a supervisor restarts it when this fails).
  // /readyz: it can take data in, i.e. it is subscribed to the broker; a lost broker makes it 503
  // without making the daemon look dead.
  auto answer = [this](const httplib::Request& req, httplib::Response& res) {
    requests_->Inc();
    const Health h = health_();
    const bool ready = h.mqtt_connected;
    res.status = req.path == "/readyz" && !ready ? 503 : 200;
    res.set_content(std::string("{\"status\":\"") + (ready ? "ok" : "degraded") +
                        "\",\"mqtt_connected\":" + (h.mqtt_connected ? "true" : "false") + "}\n",
                    "application/json");
  };
  server_->Get("/healthz", answer);
  server_->Get("/readyz", answer);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    requests_->Inc();
    res.set_content(metrics_->RenderPrometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });
  RegisterPage();
}

WebServer::~WebServer() { Stop(); }

void WebServer::EnableIngest(std::string token, size_t max_body_bytes, IngestFn fn) {
  token_ = std::move(token);
  ingest_ = std::move(fn);
  server_->set_payload_max_length(max_body_bytes);
  server_->Post("/v1/ingest", [this](const httplib::Request& req, httplib::Response& res) {
    requests_->Inc();
    if (token_.empty()) {
      res.status = 403;
      res.set_content("{\"error\":\"POST /v1/ingest needs [http] token in the config\"}\n", "application/json");
      return;
    }
    if (!Authorized(req)) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Bearer");
      res.set_content("{\"error\":\"a valid Authorization: Bearer <token> header is needed\"}\n", "application/json");
      return;
    }
    auto [status, body] = ingest_(req.body, req.has_param("topic") ? req.get_param_value("topic") : "http");
    res.status = status;
    res.set_content(body, "application/json");
  });
}

Status WebServer::Start(const std::string& host, int port) {
  if (!server_->is_valid()) {
    return Status::InvalidArgument("cannot serve HTTPS: [http] cert_file and key_file must be a PEM certificate and its key");
  }
  reads_need_token_ = token_for_reads_ || !(host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127."));
  if (port == 0) {
    port_ = server_->bind_to_any_port(host.c_str());
  } else if (server_->bind_to_port(host.c_str(), port)) {
    port_ = port;
  } else {
    port_ = -1;
  }
  if (port_ <= 0) return Status::Unavailable("cannot listen on " + host + ":" + std::to_string(port));
  thread_ = std::thread([this] {
    NameThisThread("sp-web");
    server_->listen_after_bind();
  });
  spdlog::info("web: listening on {}://{}:{}/", tls_ ? "https" : "http", host, port_);
  return Status::OK();
}

void WebServer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace sp
