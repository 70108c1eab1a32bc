// A real mosquitto broker for tests: loopback only, a free port, its own folder, persistence on,
// and the limits raised that would otherwise drop messages silently (FACTS.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace sp::testing {

class Mosquitto {
 public:
  //! Starts mosquitto with its config, persistence file and log under dir (created if absent).
  //! extra_conf is appended to the generated config.
  static Result<std::unique_ptr<Mosquitto>> Start(const std::string& dir, const std::string& extra_conf = "");
  ~Mosquitto();

  int port() const { return port_; }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }
  //! Stops the broker with SIGTERM (it saves its persistence file) and waits for it.
  Status Stop();
  //! Starts it again on the same port with the same persistence.
  Status Restart();
  std::string Log() const;
  //! `mosquitto_pub -q qos -t topic` to this broker with more arguments ({"-l"} sends each line of
  //! input as a message, {"-s"} all of it as one, {"-m", text} one message); an error unless it
  //! exits 0.
  Status Publish(const std::vector<std::string>& args, const std::string& input = "",
                 const std::string& topic = "sensor/data", int qos = 1) const;

 private:
  Mosquitto(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  Status Launch();
  std::string dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

}  // namespace sp::testing
