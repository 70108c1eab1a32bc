#include "common/status.h"

#include <cstring>

namespace sp {

namespace {
const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kNotFound: return "NotFound";
    case Status::Code::kCorruption: return "Corruption";
    case Status::Code::kIOError: return "IOError";
    case Status::Code::kInvalidArgument: return "InvalidArgument";
    case Status::Code::kUnavailable: return "Unavailable";
    case Status::Code::kAborted: return "Aborted";
    case Status::Code::kOutOfRange: return "OutOfRange";
  }
  return "Unknown";
}
}  // namespace

Status Status::FromErrno(std::string_view context, int errno_value) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(errno_value);
  return errno_value == ENOENT ? NotFound(msg) : IOError(msg);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = CodeName(code());
  s += ": ";
  s += state_->message;
  return s;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += state_->message;
  return Status(code(), msg);
}

}  // namespace sp
