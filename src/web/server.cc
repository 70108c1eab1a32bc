#include "web/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/env.h"
#include "common/json_writer.h"
#include "common/thread_name.h"

namespace sp {

namespace {

//! Every error answer of the listener: {"error": message} (docs/api.md).
void SetError(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(JsonError(message), "application/json");
}

std::string OverLimit(size_t max_body_bytes) {
  return "the body is over [http] max_body_bytes (" + std::to_string(max_body_bytes) + " bytes)";
}

}  // namespace

WebServer::WebServer(Metrics* metrics, QueryEngine* engine, HealthFn health, const TlsFiles& tls)
    : metrics_(metrics),
      engine_(engine),
      health_(std::move(health)),
      requests_(metrics->GetCounter("sensorpipe_http_requests_total", "HTTP requests served.")),
      server_(tls.cert_file.empty()
                  ? std::make_unique<httplib::Server>()
                  : std::make_unique<httplib::SSLServer>(tls.cert_file.c_str(), tls.key_file.c_str())),
      tls_(!tls.cert_file.empty()) {
  // Live dashboards hold a thread each for their event stream (at most 16), beside requests.
  server_->new_task_queue = [] { return new httplib::ThreadPool(32); };
  // Headers and body go out in two writes: with Nagle's algorithm the second waits for the
  // client's delayed ACK of the first, 20-40 ms on every keep-alive request.
  server_->set_tcp_nodelay(true);
  // httplib binds with SO_REUSEPORT, which lets a second daemon (or anything else) listen on the
  // same port and silently take a share of the connections: a daemon must fail to start instead.
  // SO_REUSEADDR alone still allows a restart while old connections linger in TIME_WAIT.
  server_->set_socket_options([](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
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
    res.set_header("WWW-Authenticate", "Bearer");
    SetError(res, 401,
             token_.empty() ? "the API is off: the listener is not loopback and [http] token is unset"
                            : "a valid Authorization: Bearer <token> header is needed");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Answers httplib makes itself (no route, a body over the limit, a request it cannot parse)
  // come without a body: give them the JSON error every other answer has.
  server_->set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        SetError(res, res.status,
                 res.status == 404   ? "no such route: " + req.method + " " + req.path
                 : res.status == 413 ? OverLimit(max_body_bytes_)
                 : res.status == 400 ? "the request could not be read: a malformed request line, header or body"
                                     : "HTTP " + std::to_string(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  // /healthz: the process is alive and serving (a supervisor restarts it when this fails).
  // /readyz: it can take data in, i.e. it is subscribed to the broker; a lost broker makes it 503
  // without making the daemon look dead. Both say the daemon's pid, so a script that started it can
  // tell its own daemon from whatever else answers on the port.
  auto answer = [this](const httplib::Request& req, httplib::Response& res) {
    requests_->Inc();
    const Health h = health_();
    const bool ready = h.mqtt_connected;
    res.status = req.path == "/readyz" && !ready ? 503 : 200;
    res.set_content(std::string("{\"status\":\"") + (ready ? "ok" : "degraded") + "\",\"mqtt_connected\":" +
                        (h.mqtt_connected ? "true" : "false") + ",\"pid\":" + std::to_string(::getpid()) + "}\n",
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

WebServer::~WebServer() {
  Stop();
}

void WebServer::EnableIngest(std::string token, size_t max_body_bytes, IngestFn fn) {
  token_ = std::move(token);
  ingest_ = std::move(fn);
  max_body_bytes_ = max_body_bytes;
  server_->set_payload_max_length(max_body_bytes);
  // The body is read here whatever its Content-Type: for application/x-www-form-urlencoded (what
  // `curl --data-binary` sends unless told otherwise) httplib would cap it at 8 KB with an empty
  // 413 and parse it as form fields into the request's parameters.
  server_->Post("/v1/ingest", [this](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& read) { ServeIngest(req, res, read); });
  server_->Get("/v1/ingest", [this](const httplib::Request&, httplib::Response& res) {
    requests_->Inc();
    res.set_header("Allow", "POST");
    SetError(res, 405, "POST /v1/ingest takes NDJSON or a JSON array; GET is not served");
  });
}

void WebServer::ServeIngest(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
  requests_->Inc();
  std::string body;
  bool over = false;
  // A chunked body has no Content-Length for httplib to check: the limit is counted here.
  const bool read_all = read([&](const char* data, size_t size) {
    over = body.size() + size > max_body_bytes_;
    if (!over) body.append(data, size);
    return !over;
  });
  if (over || res.status == 413) return SetError(res, 413, OverLimit(max_body_bytes_));
  if (!read_all) return SetError(res, 400, "the body could not be read (cut short, or a broken Content-Encoding)");
  if (token_.empty()) return SetError(res, 403, "POST /v1/ingest needs [http] token in the config");
  if (!Authorized(req)) {
    res.set_header("WWW-Authenticate", "Bearer");
    return SetError(res, 401, "a valid Authorization: Bearer <token> header is needed");
  }
  IngestRequest request;
  for (const auto& [name, value] : req.params) {
    if (name == "topic") {
      request.topic = value;
    } else if (name == "device_time_zone") {
      request.device_time_zone = value;
    } else {
      return SetError(res, 400, "unknown parameter '" + name + "' (known: topic, device_time_zone)");
    }
  }
  auto [status, answer] = ingest_(body, request);
  res.status = status;
  res.set_content(answer, "application/json");
}

Status WebServer::Start(const std::string& host, int port) {
  if (!server_->is_valid()) {
    return Status::InvalidArgument(
        "cannot serve HTTPS: [http] cert_file and key_file must be a PEM certificate and its key");
  }
  reads_need_token_ =
      token_for_reads_ || !(host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127."));
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
    listen_returned_ = true;
  });
  // httplib's stop() does nothing until this thread has marked the server running, so a Stop()
  // right after Start() would leave it listening and the join waiting forever: wait for that mark.
  while (!server_->is_running() && !listen_returned_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
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
