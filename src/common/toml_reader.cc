#include "common/toml_reader.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <toml.hpp>

#include "common/env.h"

namespace sp {

struct TomlReader::Impl {
  std::string path;
  toml::value root;
  std::string table_name;              // the current table, "" for the top level; "rules#2" in [[rules]]
  std::string display_name;            // how errors name it: "[mqtt] ", "[[rules]] "
  const toml::value* table = nullptr;  // null when the table is absent
  std::set<std::string> used;       // "table.key" and "table" entries that were read
};

TomlReader::TomlReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TomlReader::~TomlReader() = default;

Result<std::unique_ptr<TomlReader>> TomlReader::Parse(const std::string& text, const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  try {
    std::istringstream in(text);
    impl->root = toml::parse(in, path);
  } catch (const toml::syntax_error& e) {
    // toml11 formats "[error] ... --> file\n line | text": keep its first line number.
    const toml::source_location& loc = e.location();
    std::string what = e.what();
    auto first = what.substr(0, what.find('\n'));
    if (first.rfind("[error] ", 0) == 0) first = first.substr(8);
    return Status::InvalidArgument(path + ":" + std::to_string(loc.line()) + ": " + first);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
  impl->table = &impl->root;
  return std::unique_ptr<TomlReader>(new TomlReader(std::move(impl)));
}

Status TomlReader::Table(const std::string& name) {
  impl_->table_name = name;
  impl_->display_name = name.empty() ? "" : "[" + name + "] ";
  impl_->used.insert(name);
  if (name.empty()) {
    impl_->table = &impl_->root;
    return Status::OK();
  }
  impl_->table = nullptr;
  const auto& top = impl_->root.as_table();
  auto it = top.find(name);
  if (it == top.end()) return Status::OK();
  if (!it->second.is_table()) {
    impl_->display_name.clear();
    Status s = ErrorAt(name, "expected a table [" + name + "]");
    impl_->display_name = "[" + name + "] ";
    return s;
  }
  impl_->table = &it->second;
  return Status::OK();
}

namespace {
const toml::value* Find(const toml::value* table, const std::string& key) {
  if (table == nullptr) return nullptr;
  const auto& t = table->as_table();
  auto it = t.find(key);
  return it == t.end() ? nullptr : &it->second;
}
}  // namespace

Status TomlReader::ErrorAt(const std::string& key, const std::string& reason) const {
  const toml::value* v = Find(impl_->table, key);
  uint32_t line = v ? v->location().line() : (impl_->table ? impl_->table->location().line() : 0);
  return Status::InvalidArgument(impl_->path + ":" + std::to_string(line) + ": " + impl_->display_name + key + ": " +
                                 reason);
}

uint32_t TomlReader::LineOf(const std::string& key) const {
  const toml::value* v = Find(impl_->table, key);
  return v ? v->location().line() : 0;
}

Result<size_t> TomlReader::TableArray(const std::string& name) {
  impl_->used.insert(name);
  const auto& top = impl_->root.as_table();
  auto it = top.find(name);
  if (it == top.end()) return size_t{0};
  const bool tables = it->second.is_array() && std::all_of(it->second.as_array().begin(), it->second.as_array().end(),
                                                           [](const toml::value& v) { return v.is_table(); });
  if (!tables) {
    return Status::InvalidArgument(impl_->path + ":" + std::to_string(it->second.location().line()) + ": " + name +
                                   ": expected tables [[" + name + "]]");
  }
  return it->second.as_array().size();
}

Status TomlReader::TableArrayAt(const std::string& name, size_t index) {
  impl_->table = &impl_->root.as_table().at(name).as_array().at(index);
  impl_->table_name = name + "#" + std::to_string(index);
  impl_->display_name = "[[" + name + "]] ";
  return Status::OK();
}

Status TomlReader::String(const std::string& key, std::string* out) {
  impl_->used.insert(impl_->table_name + "." + key);
  const toml::value* v = Find(impl_->table, key);
  if (!v) return Status::OK();
  if (!v->is_string()) return ErrorAt(key, "expected a string");
  *out = v->as_string().str;
  return Status::OK();
}

Status TomlReader::Bool(const std::string& key, bool* out) {
  impl_->used.insert(impl_->table_name + "." + key);
  const toml::value* v = Find(impl_->table, key);
  if (!v) return Status::OK();
  if (!v->is_boolean()) return ErrorAt(key, "expected true or false");
  *out = v->as_boolean();
  return Status::OK();
}

Status TomlReader::Int(const std::string& key, int64_t* out, int64_t min, int64_t max) {
  impl_->used.insert(impl_->table_name + "." + key);
  const toml::value* v = Find(impl_->table, key);
  if (!v) return Status::OK();
  if (!v->is_integer()) return ErrorAt(key, "expected an integer");
  int64_t x = v->as_integer();
  if (x < min || x > max) {
    return ErrorAt(key, std::to_string(x) + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  *out = x;
  return Status::OK();
}

Status TomlReader::Int(const std::string& key, int* out, int min, int max) {
  int64_t x = *out;
  SP_RETURN_IF_ERROR(Int(key, &x, min, max));
  *out = static_cast<int>(x);
  return Status::OK();
}

Status TomlReader::Double(const std::string& key, double* out, double min, double max) {
  impl_->used.insert(impl_->table_name + "." + key);
  const toml::value* v = Find(impl_->table, key);
  if (!v) return Status::OK();
  double x;
  if (v->is_integer()) {
    x = static_cast<double>(v->as_integer());
  } else if (v->is_floating()) {
    x = v->as_floating();
  } else {
    return ErrorAt(key, "expected a number");
  }
  if (!std::isfinite(x) || x < min || x > max) {
    std::ostringstream msg;
    msg << x << " is out of range [" << min << ", " << max << "]";
    return ErrorAt(key, msg.str());
  }
  *out = x;
  return Status::OK();
}

Status TomlReader::StringArray(const std::string& key, std::vector<std::string>* out) {
  impl_->used.insert(impl_->table_name + "." + key);
  const toml::value* v = Find(impl_->table, key);
  if (!v) return Status::OK();
  if (!v->is_array()) return ErrorAt(key, "expected an array of strings");
  std::vector<std::string> items;
  for (const auto& item : v->as_array()) {
    if (!item.is_string()) return ErrorAt(key, "expected an array of strings");
    items.push_back(item.as_string().str);
  }
  *out = std::move(items);
  return Status::OK();
}

Status TomlReader::DoubleArray(const std::string& key, std::vector<double>* out) {
  impl_->used.insert(impl_->table_name + "." + key);
  const toml::value* v = Find(impl_->table, key);
  if (!v) return Status::OK();
  const std::string expected = "expected an array of " + std::to_string(out->size()) + " numbers";
  if (!v->is_array() || v->as_array().size() != out->size()) return ErrorAt(key, expected);
  for (size_t i = 0; i < out->size(); ++i) {
    const toml::value& item = v->as_array()[i];
    if (item.is_integer()) {
      (*out)[i] = static_cast<double>(item.as_integer());
    } else if (item.is_floating()) {
      (*out)[i] = item.as_floating();
    } else {
      return ErrorAt(key, expected);
    }
  }
  return Status::OK();
}

Status TomlReader::StringMap(const std::string& key, std::map<std::string, std::string>* out) {
  impl_->used.insert(impl_->table_name + "." + key);
  const toml::value* v = Find(impl_->table, key);
  if (!v) return Status::OK();
  if (!v->is_table()) return ErrorAt(key, "expected a table of strings, e.g. { name = \"value\" }");
  std::map<std::string, std::string> items;
  for (const auto& [k, item] : v->as_table()) {
    if (!item.is_string()) return ErrorAt(key, "expected a table of strings; " + k + " is not a string");
    items[k] = item.as_string().str;
  }
  *out = std::move(items);
  return Status::OK();
}

Status TomlReader::Finish() const {
  // Report the unknown entry that comes first in the file, so the message is deterministic.
  struct Unknown {
    uint32_t line;
    std::string name;
  };
  std::vector<Unknown> unknown;
  for (const auto& [name, value] : impl_->root.as_table()) {
    if (value.is_array() && impl_->used.count(name)) {  // [[name]], read with TableArrayAt
      const auto& tables = value.as_array();
      for (size_t i = 0; i < tables.size(); ++i) {
        for (const auto& [key, v] : tables[i].as_table()) {
          if (!impl_->used.count(name + "#" + std::to_string(i) + "." + key)) {
            unknown.push_back({v.location().line(), "[[" + name + "]] " + key + ": unknown key"});
          }
        }
      }
    } else if (value.is_table() && !impl_->used.count("." + name)) {  // not a top-level inline table read
      if (!impl_->used.count(name)) {
        unknown.push_back({value.location().line(), "[" + name + "]: unknown table"});
        continue;
      }
      for (const auto& [key, v] : value.as_table()) {
        if (!impl_->used.count(name + "." + key)) unknown.push_back({v.location().line(), "[" + name + "] " + key + ": unknown key"});
      }
    } else if (!impl_->used.count("." + name)) {
      unknown.push_back({value.location().line(), name + ": unknown key"});
    }
  }
  if (unknown.empty()) return Status::OK();
  auto first = std::min_element(unknown.begin(), unknown.end(),
                                [](const Unknown& a, const Unknown& b) { return a.line < b.line; });
  return Status::InvalidArgument(impl_->path + ":" + std::to_string(first->line) + ": " + first->name);
}

std::string ResolveConfigPath(const std::string& config_path, const std::string& value) {
  if (value.empty() || value[0] == '/' || config_path.empty()) return value;
  return JoinPath(DirName(config_path), value);
}

}  // namespace sp
