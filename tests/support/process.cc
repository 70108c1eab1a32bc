#include "support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace sp::testing {

namespace {

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string BinDir() {
  const char* d = std::getenv("SP_BIN_DIR");
  return d ? d : "build/bin";
}

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool PortOpen(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

Result<std::unique_ptr<Process>> Process::Start(std::vector<std::string> argv, std::string log_path,
                                                std::vector<std::string> extra_env) {
  if (argv.empty()) return Status::InvalidArgument("empty argv");
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (auto& e : extra_env) env.push_back(e);
  auto cargv = CStrings(argv);
  auto cenv = CStrings(env);
  int log_fd = -1;
  if (!log_path.empty()) {
    log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return Status::FromErrno("open " + log_path, errno);
  }
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno("fork", errno);
  if (pid == 0) {
    if (log_fd >= 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::execvpe(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  return std::unique_ptr<Process>(new Process(pid, std::move(log_path)));
}

Process::~Process() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
}

Status Process::Signal(int sig) {
  if (reaped_) return Status::NotFound("process already exited");
  if (::kill(pid_, sig) != 0) return Status::FromErrno("kill", errno);
  return Status::OK();
}

Result<int> Process::Wait(std::chrono::milliseconds timeout) {
  bool done = WaitUntil([&] { return !Running(); }, timeout);
  if (!done) return Status::Unavailable("still running");
  return exit_code_;
}

bool Process::Running() {
  if (reaped_) return false;
  int status;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    exit_code_ = DecodeWaitStatus(status);
    return false;
  }
  return true;
}

std::string Process::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<CommandOutput> RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                 const std::string& stdin_data) {
  char tmpl_out[] = "/tmp/sp-cmd-out-XXXXXX";
  char tmpl_err[] = "/tmp/sp-cmd-err-XXXXXX";
  char tmpl_in[] = "/tmp/sp-cmd-in-XXXXXX";
  int out_fd = ::mkstemp(tmpl_out);
  int err_fd = ::mkstemp(tmpl_err);
  int in_fd = ::mkstemp(tmpl_in);
  if (out_fd < 0 || err_fd < 0 || in_fd < 0) return Status::FromErrno("mkstemp", errno);
  if (!stdin_data.empty() && ::write(in_fd, stdin_data.data(), stdin_data.size()) < 0) {
    return Status::FromErrno("write stdin", errno);
  }
  ::lseek(in_fd, 0, SEEK_SET);
  std::vector<std::string> args = argv;
  auto cargv = CStrings(args);
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno("fork", errno);
  if (pid == 0) {
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execvp(cargv[0], cargv.data());
    ::_exit(127);
  }
  int status = 0;
  bool exited = WaitUntil([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  auto slurp = [](const char* path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  CommandOutput result;
  result.exit_code = DecodeWaitStatus(status);
  result.out = slurp(tmpl_out);
  result.err = slurp(tmpl_err);
  ::close(out_fd);
  ::close(err_fd);
  ::close(in_fd);
  ::unlink(tmpl_out);
  ::unlink(tmpl_err);
  ::unlink(tmpl_in);
  if (!exited) return Status::Unavailable(argv[0] + " did not finish in time; stderr: " + result.err);
  return result;
}

}  // namespace sp::testing
