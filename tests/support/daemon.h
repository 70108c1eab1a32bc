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
  //! Writes dir/sensorpipe.toml (data_dir = dir/data, [mqtt] url = mqtt_url, [http] listen on a
  //! free port, then extra_toml, which may add keys and tables, [mqtt] and [http] among them, but
  //! sets neither url nor listen) and starts the daemon, waiting for /metrics.
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
  //! Waits until the daemon is connected and subscribed (sensorpipe_mqtt_connected is 1): messages
  //! published from then on reach it. An error with its log after kDeadline.
  Status WaitConnected() const;
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

//! An mqtt:// URL where no broker listens, for a daemon fed over HTTP ingest only: it starts and
//! keeps retrying the connection.
std::string NoBrokerUrl();

}  // namespace sp::testing
