// `sensorpipe certs init|issue|revoke|ls` and `sensorpipe broker-config`: the command lines of the
// trust stage (trust/), which makes the device CA and the mosquitto config that enforces it.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "trust/broker_config.h"
#include "trust/certs.h"

namespace sp {

class TrustCommands {
 public:
  //! Adds `certs` and `broker-config` with their options to app.
  explicit TrustCommands(CLI::App& app);
  //! Runs the trust command that was parsed and returns its exit code; nothing when none was.
  std::optional<int> RunIfParsed();

 private:
  int Init();
  int Issue();
  int Revoke();
  int List();
  int BrokerConfig();

  CLI::App *init_, *issue_, *revoke_, *ls_, *broker_config_;
  std::string dir_ = "certs";
  CertsInitOptions init_options_;
  std::string device_;
  int days_ = 1825;
  BrokerConfigOptions broker_;
};

}  // namespace sp
