// A real `sensorpipe run` for end-to-end tests: its own folder and config, a free HTTP port on
// loopback, and helpers to query it the way a user would (the CLI and the HTTP listener).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace sp::testing {

class Daemon {
 public:
  //! Writes dir/sensorpipe.toml (data_dir = dir/data, [http] listen on a free port, then
  //! extra_toml, which may add keys and tables) and starts the daemon, waiting for /metrics.
  //! env: more "NAME=value" entries for its environment (SP_CRASH_POINT=...).
  static Result<std::unique_ptr<Daemon>> Start(const std::string& dir, const std::string& mqtt_url,
                                               const std::string& extra_toml, std::vector<std::string> env = {});
  const std::string& config_path() const { return config_path_; }
  int http_port() const { return http_port_; }
  Process& process() { return *process_; }

  //! `sensorpipe query --config ... --format F sql`, CSV with "\n" line ends; an error if it exits non-zero.
  Result<std::string> Query(const std::string& sql, const std::string& format = "csv") const;
  //! The value of one sample of /metrics (e.g. `sensorpipe_messages_rejected_total{reason="oversize"}`),
  //! or -1 when absent.
  double Metric(const std::string& sample) const;
  //! SIGTERM and wait: the exit code.
  Result<int> Stop();
  //! Starts it again with the same config, and env as its extra environment.
  Status Restart(std::vector<std::string> env = {});

 private:
  Status Launch();
  std::string dir_, config_path_;
  std::vector<std::string> env_;
  int http_port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace sp::testing
