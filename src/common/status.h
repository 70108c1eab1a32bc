// Status and Result<T>: how every fallible call on the data path reports failure. No exceptions
// cross a stage boundary; a Status carries a code the caller can branch on and a message for humans.
// Both are cheap to move; Status::OK() allocates nothing.
#pragma once

#include <cassert>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sp {

class Status {
 public:
  enum class Code {
    kOk,
    kNotFound,
    kCorruption,       // bytes on disk or on the wire fail a check
    kIOError,          // the operating system said no
    kInvalidArgument,  // the caller's input (config, SQL, CLI, payload) is wrong
    kUnavailable,      // a peer (broker, store) cannot be reached now; retrying may help
    kAborted,          // stopped on purpose (shutdown) before finishing
    kOutOfRange,       // a position that does not exist (any more)
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status InvalidArgument(std::string_view msg) { return Status(Code::kInvalidArgument, msg); }
  static Status Unavailable(std::string_view msg) { return Status(Code::kUnavailable, msg); }
  static Status Aborted(std::string_view msg) { return Status(Code::kAborted, msg); }
  static Status OutOfRange(std::string_view msg) { return Status(Code::kOutOfRange, msg); }
  //! An IOError whose message ends with strerror(errno_value).
  static Status FromErrno(std::string_view context, int errno_value);

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsCorruption() const { return code() == Code::kCorruption; }
  bool IsAborted() const { return code() == Code::kAborted; }
  bool IsOutOfRange() const { return code() == Code::kOutOfRange; }
  //! The message alone, without the code's name.
  std::string_view message() const { return state_ ? std::string_view(state_->message) : std::string_view(); }
  //! "Code: message", or "OK".
  std::string ToString() const;
  //! The same status with "context: " put before its message.
  Status WithContext(std::string_view context) const;

 private:
  struct State {
    Code code;
    std::string message;
  };
  Status(Code code, std::string_view msg) : state_(std::make_shared<const State>(State{code, std::string(msg)})) {}
  std::shared_ptr<const State> state_;  // null means OK; shared so copies are cheap
};

//! A value or the Status saying why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like absl::StatusOr
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  // By value, so `for (auto& x : F().value())` does not dangle when F returns a temporary.
  T value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sp

#define SP_CONCAT_INNER(a, b) a##b
#define SP_CONCAT(a, b) SP_CONCAT_INNER(a, b)

//! Returns the Status of `expr` from the enclosing function when it is not OK.
#define SP_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::sp::Status sp_status_ = (expr);         \
    if (!sp_status_.ok()) return sp_status_;  \
  } while (0)

//! `SP_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its Status.
#define SP_ASSIGN_OR_RETURN(lhs, expr) SP_ASSIGN_OR_RETURN_IMPL(SP_CONCAT(sp_result_, __LINE__), lhs, expr)
#define SP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
