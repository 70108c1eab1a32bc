// Env: every file-system and clock access of sensorpipe goes through these interfaces, so tests can
// swap in a fault-injecting implementation (torn writes, lost unsynced data, a failing disk, a
// clock that jumps). Env::Default() is the POSIX one. All methods are thread-safe; a file object
// is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sp {

//! A file written from its end. Append buffers nothing of its own: bytes go to the kernel at once.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  //! fdatasync: makes everything appended so far durable. Close() alone does not.
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  //! Where the next Append writes: the bytes the file had at open plus those appended since.
  virtual uint64_t Size() const = 0;
  //! Writes zeros after the file's last byte until it holds `size` bytes (nothing if it already
  //! does), without moving where Append writes: later appends overwrite them, so the file need not
  //! grow and an fdatasync need not write its inode. Durable, like appends, only after Sync. The
  //! default does nothing, which is correct, only slower.
  virtual Status Preallocate(uint64_t size) {
    (void)size;
    return Status::OK();
  }
  //! A hint that [offset, offset + length), synced, will not be read again soon: the OS may let
  //! its cached pages go. Never an error; the default does nothing.
  virtual void DropCache(uint64_t offset, uint64_t length) {
    (void)offset;
    (void)length;
  }
};

//! A file read at arbitrary offsets; safe for concurrent reads.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  //! Reads up to n bytes at offset into scratch; returns how many were read (0 at the end).
  virtual Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual Result<uint64_t> Size() const = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  //! The process-wide POSIX implementation; never deleted.
  static Env* Default();

  //! Creates or truncates path.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  //! Opens path for appending at its current end, creating it if absent. One writer at a time.
  virtual Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) = 0;

  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> GetFileSize(const std::string& path) = 0;
  //! When the file's content last changed, UTC microseconds.
  virtual Result<int64_t> GetModificationMicros(const std::string& path) = 0;
  //! Names (not paths) of the entries of dir, without "." and "..", in no particular order.
  virtual Result<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  //! Creates dir and its missing parents; OK when it exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  //! Removes an empty directory.
  virtual Status RemoveDir(const std::string& dir) = 0;
  //! rename(2): atomic replacement of `to` on the same file system.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  //! fsync of a directory: makes creations, renames and removals in it durable.
  virtual Status SyncDir(const std::string& dir) = 0;

  //! The whole file.
  Result<std::string> ReadFile(const std::string& path);
  //! Replaces path with data so that after a crash at any moment the file holds either the old
  //! or the new content, never a mix: write path.tmp, fsync it, rename over path, fsync the folder.
  Status WriteFileAtomic(const std::string& path, std::string_view data);
};

//! Wall and monotonic time. Wall time is UTC microseconds since the Unix epoch.
class Clock {
 public:
  virtual ~Clock() = default;
  static Clock* Default();
  virtual int64_t NowMicros() = 0;
  virtual int64_t MonotonicMicros() = 0;
};

//! The folder part of path ("a/b" for "a/b/c"; "." when there is none).
std::string DirName(const std::string& path);
//! a + "/" + b, without doubling the slash.
std::string JoinPath(std::string_view a, std::string_view b);
//! path made absolute (symbolic links resolved when it exists), so that paths handed to DuckDB
//! and its allowed_directories agree.
std::string AbsolutePath(const std::string& path);

}  // namespace sp
