// Test support: child processes, free loopback ports and waiting on conditions. Tests start real
// binaries (mosquitto, sensorpipe, sensorpipe-agent) and stop only those, by pid.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace sp::testing {

//! A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();
//! 127.0.0.1:port, for bind and connect.
sockaddr_in Loopback(int port);
//! $SP_BIN_DIR: where the build puts sensorpipe and sensorpipe-agent.
std::string BinDir();
//! How long a test waits for real processes to do what it expects (start, connect, deliver, answer):
//! generous, for ASan on a loaded 2-core machine; a passing test waits only as long as the work takes.
inline constexpr std::chrono::seconds kDeadline{120};
//! Polls pred every 10 ms until it is true (returns true) or timeout passes (returns false).
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
//! True once something accepts TCP connections on 127.0.0.1:port.
bool PortOpen(int port);

class Process {
 public:
  //! Starts argv[0] (searched in PATH) with stdout and stderr appended to log_path, or inherited
  //! when it is empty. extra_env entries are "NAME=value".
  static Result<std::unique_ptr<Process>> Start(std::vector<std::string> argv, std::string log_path = "",
                                                std::vector<std::string> extra_env = {});
  ~Process();  // SIGKILLs the child if it still runs, and reaps it
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  Status Signal(int sig);
  //! The exit code (128 + signal when killed), or Unavailable if still running after timeout.
  Result<int> Wait(std::chrono::milliseconds timeout);
  bool Running();
  const std::string& log_path() const { return log_path_; }
  //! The log file's content (empty when output was inherited).
  std::string Log() const;

 private:
  Process(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
  bool reaped_ = false;
  int exit_code_ = -1;
};

struct CommandOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
};
//! Runs argv to completion (killing it after timeout), capturing stdout and stderr; stdin_data is
//! written to its standard input.
Result<CommandOutput> RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                 const std::string& stdin_data = "");

}  // namespace sp::testing
