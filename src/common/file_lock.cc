#include "common/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace sp {

FileLock::~FileLock() {
  ::close(fd_);
}

Result<std::unique_ptr<FileLock>> FileLock::Acquire(const std::string& path, bool wait) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  while (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EINTR) continue;
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return Status::Unavailable(path + " is locked by another process");
    return Status::FromErrno("flock " + path, e);
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

}  // namespace sp
