#include "support/daemon.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/http.h"

namespace sp::testing {

Result<std::unique_ptr<Daemon>> Daemon::Start(const std::string& dir, const std::string& mqtt_url,
                                              const std::string& extra_toml, std::vector<std::string> env) {
  std::filesystem::create_directories(dir);
  std::unique_ptr<Daemon> d(new Daemon());
  d->dir_ = dir;
  d->env_ = std::move(env);
  d->config_path_ = dir + "/sensorpipe.toml";
  d->http_port_ = FreePort();
  // extra_toml may open tables, so the skeleton's top-level key comes first and each table the
  // test does not set gets its own header here only when absent.
  // The broker is always mqtt_url and the listener the free port found here, also when extra_toml
  // has an [mqtt] or [http] table.
  std::string conf = "data_dir = \"data\"\n" + extra_toml;
  const std::pair<std::string, std::string> keys[] = {
      {"[mqtt]\n", "url = \"" + mqtt_url + "\"\n"},
      {"[http]\n", "listen = \"127.0.0.1:" + std::to_string(d->http_port_) + "\"\n"}};
  for (const auto& [table, key] : keys) {
    if (size_t at = conf.find(table); at != std::string::npos) {
      conf.insert(at + table.size(), key);
    } else {
      conf += "\n" + table + key;
    }
  }
  std::ofstream(d->config_path_) << conf;
  SP_RETURN_IF_ERROR(d->Launch());
  return d;
}

Status Daemon::Launch() {
  SP_ASSIGN_OR_RETURN(process_, Process::Start({BinDir() + "/sensorpipe", "run", "--config", config_path_},
                                               dir_ + "/sensorpipe.log", env_));
  bool up = WaitUntil(
      [&] {
        if (!process_->Running()) return true;
        auto r = HttpGet(http_port_, "/metrics");
        return r.ok() && r->status == 200;
      },
      std::chrono::seconds(60));
  if (!up || !process_->Running()) return Status::Unavailable("sensorpipe did not start:\n" + process_->Log());
  return Status::OK();
}

Result<std::string> Daemon::Query(const std::string& sql, const std::string& format) const {
  SP_ASSIGN_OR_RETURN(CommandOutput out, RunCommand({BinDir() + "/sensorpipe", "query", "--config", config_path_,
                                                     "--format", format, sql},
                                                    kDeadline));
  if (out.exit_code != 0) return Status::InvalidArgument("query failed (" + std::to_string(out.exit_code) + "): " + out.err);
  // CSV lines end with CRLF (RFC 4180, checked in cli_test); tests compare and split on "\n".
  if (format == "csv") {
    for (size_t p; (p = out.out.find("\r\n")) != std::string::npos;) out.out.erase(p, 1);
  }
  return out.out;
}

Status Daemon::WaitConnected() const {
  if (WaitUntil([&] { return Metric("sensorpipe_mqtt_connected") == 1; }, kDeadline)) return Status::OK();
  return Status::Unavailable("sensorpipe did not connect to its broker:\n" + process_->Log());
}

double Daemon::Metric(const std::string& sample) const {
  auto r = HttpGet(http_port_, "/metrics");
  if (!r.ok()) return -1;
  std::istringstream in(r->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > sample.size() && line.compare(0, sample.size(), sample) == 0 && line[sample.size()] == ' ') {
      return std::stod(line.substr(sample.size() + 1));
    }
  }
  return -1;
}

Result<int> Daemon::Stop() {
  SP_RETURN_IF_ERROR(process_->Signal(SIGTERM));
  return process_->Wait(kDeadline);
}

Status Daemon::Restart(std::vector<std::string> env) {
  env_ = std::move(env);
  if (process_->Running()) {
    auto code = Stop();
    if (!code.ok()) return code.status();
  }
  return Launch();
}

std::string NoBrokerUrl() { return "mqtt://127.0.0.1:" + std::to_string(FreePort()); }

}  // namespace sp::testing
