// An exclusive flock on a file, held while the object lives. The kernel drops it when the process
// dies, so a kill -9 never leaves a stale lock behind.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace sp {

class FileLock {
 public:
  //! Locks path (created if absent). wait: block until free; else Unavailable when held.
  static Result<std::unique_ptr<FileLock>> Acquire(const std::string& path, bool wait);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace sp
