#include "support/mosquitto.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sp::testing {

Result<std::unique_ptr<Mosquitto>> Mosquitto::Start(const std::string& dir, const std::string& extra_conf) {
  std::filesystem::create_directories(dir);
  std::unique_ptr<Mosquitto> m(new Mosquitto(dir, FreePort()));
  std::ofstream conf(dir + "/mosquitto.conf");
  conf << "listener " << m->port_ << " 127.0.0.1\n"
       << "allow_anonymous true\n"
       << "persistence true\n"
       << "persistence_location " << dir << "/\n"
       << "autosave_interval 1\n"
       // The defaults drop messages for offline clients past 1000 and cap in-flight QoS 1 at 20.
       << "max_queued_messages 0\n"
       << "max_inflight_messages 1000\n"
       << "log_dest file " << dir << "/mosquitto.log\n"
       // Started as root, mosquitto drops to the "mosquitto" user, which cannot write into a
       // 0700 temp folder: persistence would silently fail and sessions not survive Restart().
       << (::geteuid() == 0 ? "user root\n" : "")
       << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
       << extra_conf << "\n";
  conf.close();
  SP_RETURN_IF_ERROR(m->Launch());
  return m;
}

Status Mosquitto::Launch() {
  SP_ASSIGN_OR_RETURN(process_, Process::Start({"mosquitto", "-c", dir_ + "/mosquitto.conf"}, dir_ + "/stdout.log"));
  if (!WaitUntil([&] { return PortOpen(port_) || !process_->Running(); }, std::chrono::seconds(20)) ||
      !process_->Running()) {
    return Status::Unavailable("mosquitto did not start: " + process_->Log() + Log());
  }
  return Status::OK();
}

Mosquitto::~Mosquitto() {
  if (process_ && process_->Running()) (void)Stop();
}

Status Mosquitto::Publish(const std::vector<std::string>& args, const std::string& input, const std::string& topic,
                          int qos) const {
  std::vector<std::string> argv = {"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(port_), "-t", topic,
                                   "-q", std::to_string(qos)};
  argv.insert(argv.end(), args.begin(), args.end());
  SP_ASSIGN_OR_RETURN(CommandOutput out, RunCommand(argv, kDeadline, input));
  if (out.exit_code != 0) return Status::Unavailable("mosquitto_pub failed: " + out.err);
  return Status::OK();
}

Status Mosquitto::Stop() {
  if (!process_) return Status::OK();
  SP_RETURN_IF_ERROR(process_->Signal(SIGTERM));
  auto code = process_->Wait(std::chrono::seconds(20));
  if (!code.ok()) return code.status();
  process_.reset();
  return Status::OK();
}

Status Mosquitto::Restart() {
  SP_RETURN_IF_ERROR(Stop());
  return Launch();
}

std::string Mosquitto::Log() const {
  std::ifstream in(dir_ + "/mosquitto.log");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace sp::testing
