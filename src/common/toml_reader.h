// TomlReader: strict reading of a TOML config file, shared by the daemon's and the agent's config.
// Every key must be read by the caller; Finish() reports the first key nobody read as unknown.
// Errors are InvalidArgument with "file:line: [table] key: reason", so a user can jump to it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace toml {
struct discard_comments;
}

namespace sp {

class TomlReader {
 public:
  //! Parses text as if it came from path. A syntax error is an InvalidArgument with file:line.
  static Result<std::unique_ptr<TomlReader>> Parse(const std::string& text, const std::string& path);
  ~TomlReader();

  //! Selects the table the next reads refer to: "" is the top level, "mqtt" is [mqtt]. A table
  //! that is absent reads as empty; a key that is not a table is an error.
  Status Table(const std::string& name);
  //! Counts the tables of an array of tables ([[name]]); 0 when absent.
  Result<size_t> TableArray(const std::string& name);
  //! Selects the index-th table of [[name]] for the next reads (after TableArray).
  Status TableArrayAt(const std::string& name, size_t index);
  //! The line in the file where key of the current table is (0 when absent).
  uint32_t LineOf(const std::string& key) const;
  //! Each reads key from the current table when present (leaving *out alone otherwise).
  Status String(const std::string& key, std::string* out);
  Status Bool(const std::string& key, bool* out);
  Status Int(const std::string& key, int64_t* out, int64_t min, int64_t max);
  Status Int(const std::string& key, int* out, int min, int max);
  //! A number (integer or float) within [min, max].
  Status Double(const std::string& key, double* out, double min, double max);
  Status StringArray(const std::string& key, std::vector<std::string>* out);
  //! An array of exactly out->size() numbers, e.g. `mag_offset = [0.1, -0.2, 0.05]`.
  Status DoubleArray(const std::string& key, std::vector<double>* out);
  //! An inline table of strings, e.g. `stream_fsync = { errors = "none" }`.
  Status StringMap(const std::string& key, std::map<std::string, std::string>* out);
  //! An error pointing at key in the current table (or at the table when key is absent).
  Status ErrorAt(const std::string& key, const std::string& reason) const;
  //! Fails on the first key (in file order) or table that no read asked for.
  Status Finish() const;

 private:
  struct Impl;
  explicit TomlReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

//! A path from a config file, resolved against the folder the file is in (unless absolute).
std::string ResolveConfigPath(const std::string& config_path, const std::string& value);

}  // namespace sp
