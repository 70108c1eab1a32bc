// Settings: the keys of a TOML config file, each declared once with its type, default, range or
// choices, help text and the option it fills. From that one table come the reading of a file
// (every key optional; unknown keys and bad values rejected as "file:line: [table] key: reason"),
// the defaults, and the Markdown reference (docs/configuration.md). common knows no stage: each
// program declares its table (app/settings.cc, agent/agent_config.cc) over the stages' own option
// structs, filling their members directly or through a small conversion (seconds to milliseconds,
// text to an enum).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/toml_reader.h"

namespace sp {

//! What the reference says about one key.
struct SettingDoc {
  std::string key;
  std::string type;      // "integer, 1 to 1024", "string", ...
  std::string fallback;  // the default, as TOML
  std::string help;
};

//! A table of the file ([name], [[name]], or the top level when name is empty) and its keys.
struct SettingsTableDoc {
  std::string name;
  bool array = false;  // [[name]]
  std::string help;    // Markdown, before the keys
  std::vector<SettingDoc> keys;
};

//! The Markdown reference of a file's tables: title, intro (Markdown), then a section per table.
std::string RenderSettingsReference(const std::string& title, const std::string& intro,
                                    const std::vector<SettingsTableDoc>& tables);

//! Values as TOML writes them, for the reference's defaults.
std::string TomlText(const std::string& s);
std::string TomlText(bool b);
std::string TomlText(int64_t i);
std::string TomlText(double d);
template <typename T>
std::string TomlText(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + TomlText(v[i]);
  return out + "]";
}
std::string TomlText(const std::map<std::string, std::string>& m);

//! Parsers and checks of values several files share.
Result<int> ParsePort(std::string_view text);
//! "host:port" split up ([http] listen, the agent's metrics_listen); "[::1]:80" gives "::1".
Result<std::pair<std::string, int>> ParseHostPort(const std::string& text);
//! The milliseconds of "interval:<ms>" (a whole number above 0), the form of the log's `fsync` and
//! the agent's `spool_sync`; nullopt for anything else.
std::optional<int64_t> ParseIntervalMs(std::string_view text);
//! OK for an empty path (not set) or one that exists; "no file <path>" otherwise.
Status CheckFileExists(const std::string& path);
//! A certificate needs its key and the other way round: the error names the one that is set.
Status CheckCertAndKey(const TomlReader& r, const std::string& cert_file, const std::string& key_file);

//! Fills member m of an options struct with a value read, converted to m's type and multiplied by
//! scale (a unit conversion such as seconds to milliseconds).
template <typename S, typename M>
auto Into(M S::*m, int64_t scale = 1) {
  return [m, scale](S& s, const auto& v) -> Status {
    if constexpr (std::is_arithmetic_v<M>) {
      s.*m = static_cast<M>(v * scale);
    } else {
      s.*m = v;
    }
    return Status::OK();
  };
}
//! Fills m with parse(value), a Result<M>; its error is the key's.
template <typename S, typename M, typename F>
auto Parsed(M S::*m, F parse) {
  return [m, parse](S& s, const auto& v) -> Status {
    auto parsed = parse(v);
    if (!parsed.ok()) return parsed.status();
    s.*m = std::move(parsed).value();
    return Status::OK();
  };
}
//! Fills m with the value once check(value), a Status, passes; its error is the key's.
template <typename S, typename M, typename F>
auto Checked(M S::*m, F check) {
  return [m, check](S& s, const auto& v) -> Status {
    SP_RETURN_IF_ERROR(check(v));
    s.*m = v;
    return Status::OK();
  };
}

template <typename C>
class Settings;

//! Declares the keys of one table that fill S, a part of the config C (or C itself).
template <typename C, typename S>
class SettingsSection {
 public:
  //! Where a value read goes (Into, Parsed, Checked, or a lambda); an error becomes the key's.
  template <typename V>
  using Store = std::function<Status(S&, const V&)>;

  SettingsSection(Settings<C>* settings, std::string table, std::function<S&(C&)> part)
      : settings_(settings), table_(std::move(table)), part_(std::move(part)) {}

  SettingsSection& String(std::string key, std::string fallback, std::string help, Store<std::string> store) {
    return Add<std::string>(std::move(key), "string", std::move(fallback), std::move(help), std::move(store),
                            [](TomlReader& r, const std::string& k, std::string* v) { return r.String(k, v); });
  }
  //! A string naming a file or folder, relative to the config file's folder unless absolute.
  SettingsSection& Path(std::string key, std::string fallback, std::string help, Store<std::string> store) {
    return Add<std::string>(
        std::move(key), "path", std::move(fallback), std::move(help), std::move(store),
        [](TomlReader& r, const std::string& k, std::string* v) { return r.String(k, v); },
        /*path=*/true);
  }
  //! A string that must be one of names: "expected \"a\", \"b\" or \"c\"" otherwise.
  SettingsSection& Choice(std::string key, std::string fallback, std::vector<std::string> names, std::string help,
                          Store<std::string> store) {
    std::string expected;
    for (size_t i = 0; i < names.size(); ++i) {
      expected += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + TomlText(names[i]);
    }
    return Add<std::string>(std::move(key), "one of " + expected, std::move(fallback), std::move(help),
                            std::move(store),
                            [names, expected](TomlReader& r, const std::string& k, std::string* v) -> Status {
                              SP_RETURN_IF_ERROR(r.String(k, v));
                              for (const std::string& name : names) {
                                if (*v == name) return Status::OK();
                              }
                              return r.ErrorAt(k, "expected " + expected);
                            });
  }
  SettingsSection& Bool(std::string key, bool fallback, std::string help, Store<bool> store) {
    return Add<bool>(std::move(key), "boolean", fallback, std::move(help), std::move(store),
                     [](TomlReader& r, const std::string& k, bool* v) { return r.Bool(k, v); });
  }
  SettingsSection& Int(std::string key, int64_t fallback, int64_t min, int64_t max, std::string help,
                       Store<int64_t> store) {
    return Add<int64_t>(std::move(key), "integer, " + std::to_string(min) + " to " + std::to_string(max), fallback,
                        std::move(help), std::move(store),
                        [min, max](TomlReader& r, const std::string& k, int64_t* v) { return r.Int(k, v, min, max); });
  }
  SettingsSection& Number(std::string key, double fallback, double min, double max, std::string help,
                          Store<double> store) {
    return Add<double>(std::move(key), "number, " + TomlText(min) + " to " + TomlText(max), fallback, std::move(help),
                       std::move(store),
                       [min, max](TomlReader& r, const std::string& k, double* v) { return r.Double(k, v, min, max); });
  }
  SettingsSection& StringList(std::string key, std::vector<std::string> fallback, std::string help,
                              Store<std::vector<std::string>> store) {
    return Add<std::vector<std::string>>(
        std::move(key), "array of strings", std::move(fallback), std::move(help), std::move(store),
        [](TomlReader& r, const std::string& k, std::vector<std::string>* v) { return r.StringArray(k, v); });
  }
  //! An array of as many numbers as fallback has.
  SettingsSection& NumberList(std::string key, std::vector<double> fallback, std::string help,
                              Store<std::vector<double>> store) {
    const std::string type = "array of " + std::to_string(fallback.size()) + " numbers";
    return Add<std::vector<double>>(
        std::move(key), type, std::move(fallback), std::move(help), std::move(store),
        [](TomlReader& r, const std::string& k, std::vector<double>* v) { return r.DoubleArray(k, v); });
  }
  //! An inline table of strings, empty by default: `{ name = "value" }`.
  SettingsSection& StringTable(std::string key, std::string help, Store<std::map<std::string, std::string>> store) {
    return Add<std::map<std::string, std::string>>(
        std::move(key), "table of strings", {}, std::move(help), std::move(store),
        [](TomlReader& r, const std::string& k, std::map<std::string, std::string>* v) { return r.StringMap(k, v); });
  }
  //! A check across the table's keys, once they are read: an error from r.ErrorAt names the key.
  SettingsSection& Check(std::function<Status(const TomlReader&, const S&)> check) {
    settings_->AddEntry(table_, nullptr,
                        [part = part_, check](TomlReader& r, const std::string&, C& c) { return check(r, part(c)); });
    return *this;
  }

 private:
  template <typename V>
  using Get = std::function<Status(TomlReader&, const std::string&, V*)>;

  template <typename V>
  SettingsSection& Add(std::string key, std::string type, V fallback, std::string help, Store<V> store, Get<V> get,
                       bool path = false) {
    settings_->AddDoc(table_, SettingDoc{key, std::move(type), TomlText(fallback), std::move(help)});
    auto part = part_;
    settings_->AddEntry(
        table_,
        [part, store, fallback](C& c) {
          // A default that its own store refused would be a mistake in the table, caught by the
          // tests that read an empty file.
          (void)store(part(c), fallback);
        },
        [part, store, fallback, key, get, path](TomlReader& r, const std::string& file, C& c) -> Status {
          V v = fallback;
          SP_RETURN_IF_ERROR(get(r, key, &v));
          if constexpr (std::is_same_v<V, std::string>) {
            if (path) v = ResolveConfigPath(file, v);
          }
          if (Status s = store(part(c), v); !s.ok()) return r.ErrorAt(key, std::string(s.message()));
          return Status::OK();
        });
    return *this;
  }

  Settings<C>* settings_;
  std::string table_;
  std::function<S&(C&)> part_;
};

//! The table of a config file's settings, filling a C.
template <typename C>
class Settings {
 public:
  //! title and intro (Markdown) open the reference.
  Settings(std::string title = "", std::string intro = "") : title_(std::move(title)), intro_(std::move(intro)) {}

  //! The keys of [name] (the top level when name is empty), filling the part m of C.
  template <typename S>
  SettingsSection<C, S> Table(const std::string& name, S C::*m, const std::string& help = "") {
    AddTableDoc(name, false, help);
    return SettingsSection<C, S>(this, name, [m](C& c) -> S& { return c.*m; });
  }
  //! The keys of [name], filling any part of C.
  SettingsSection<C, C> Table(const std::string& name, const std::string& help = "") {
    AddTableDoc(name, false, help);
    return SettingsSection<C, C>(this, name, [](C& c) -> C& { return c; });
  }
  //! The top-level keys of another table (e.g. the [mqtt] keys two files share) as [name], filling m.
  template <typename S>
  Settings& Include(const std::string& name, S C::*m, const Settings<S>& keys, const std::string& help = "") {
    AddTableDoc(name, false, help);
    for (const SettingDoc& doc : keys.TableKeys("")) AddDoc(name, doc);
    for (const auto& e : keys.entries_) {
      AddEntry(name, e.set_default ? std::function<void(C&)>([m, f = e.set_default](C& c) { f(c.*m); }) : nullptr,
               [m, f = e.read](TomlReader& r, const std::string& file, C& c) { return f(r, file, c.*m); });
    }
    return *this;
  }
  //! [[name]]: each table read with element's top-level keys into one T, appended to m; then
  //! after_each checks it (it is the last of the list) against the ones before.
  template <typename T>
  Settings& Array(const std::string& name, std::vector<T> C::*m, const Settings<T>& element, const std::string& help,
                  std::type_identity_t<std::function<Status(const TomlReader&, std::vector<T>&)>> after_each) {
    AddTableDoc(name, true, help);
    for (const SettingDoc& doc : element.TableKeys("")) AddDoc(name, doc);
    Entry e{name, true, nullptr,
            [name, m, element, after_each](TomlReader& r, const std::string& file, C& c) -> Status {
              SP_ASSIGN_OR_RETURN(size_t count, r.TableArray(name));
              for (size_t i = 0; i < count; ++i) {
                SP_RETURN_IF_ERROR(r.TableArrayAt(name, i));
                T item = element.Defaults();
                SP_RETURN_IF_ERROR(element.ReadEntries(r, file, item, /*select_tables=*/false));
                (c.*m).push_back(std::move(item));
                SP_RETURN_IF_ERROR(after_each(r, c.*m));
              }
              return Status::OK();
            }};
    entries_.push_back(std::move(e));
    return *this;
  }

  //! Every key at its default (paths as written, not resolved).
  C Defaults() const {
    C c;
    for (const Entry& e : entries_) {
      if (e.set_default) e.set_default(c);
    }
    return c;
  }
  //! Reads TOML text as if it came from path: the defaults, overridden by what the text sets;
  //! paths resolved against path's folder. Errors are InvalidArgument "path:line: ...".
  Result<C> Parse(const std::string& text, const std::string& path) const {
    SP_ASSIGN_OR_RETURN(auto reader, TomlReader::Parse(text, path));
    C c = Defaults();
    SP_RETURN_IF_ERROR(ReadEntries(*reader, path, c, /*select_tables=*/true));
    SP_RETURN_IF_ERROR(reader->Finish());
    return c;
  }
  //! The Markdown reference of every table and key.
  std::string Reference() const { return RenderSettingsReference(title_, intro_, tables_); }

 private:
  template <typename, typename>
  friend class SettingsSection;
  template <typename>
  friend class Settings;

  struct Entry {
    std::string table;
    bool array = false;
    std::function<void(C&)> set_default;  // null for checks and arrays
    std::function<Status(TomlReader&, const std::string& file, C&)> read;
  };

  void AddEntry(const std::string& table, std::function<void(C&)> set_default,
                std::function<Status(TomlReader&, const std::string&, C&)> read) {
    entries_.push_back(Entry{table, false, std::move(set_default), std::move(read)});
  }
  void AddTableDoc(const std::string& name, bool array, const std::string& help) {
    for (SettingsTableDoc& t : tables_) {
      if (t.name != name) continue;
      if (!help.empty()) t.help += (t.help.empty() ? "" : "\n\n") + help;
      return;
    }
    tables_.push_back(SettingsTableDoc{name, array, help, {}});
  }
  void AddDoc(const std::string& table, SettingDoc doc) {
    for (SettingsTableDoc& t : tables_) {
      if (t.name == table) return t.keys.push_back(std::move(doc));
    }
    tables_.push_back(SettingsTableDoc{table, false, "", {std::move(doc)}});
  }
  std::vector<SettingDoc> TableKeys(const std::string& name) const {
    for (const SettingsTableDoc& t : tables_) {
      if (t.name == name) return t.keys;
    }
    return {};
  }
  // In declaration order; select_tables is false inside [[name]], whose tables Array selects.
  Status ReadEntries(TomlReader& r, const std::string& file, C& c, bool select_tables) const {
    std::optional<std::string> selected;
    for (const Entry& e : entries_) {
      if (select_tables && !e.array && selected != e.table) {
        SP_RETURN_IF_ERROR(r.Table(e.table));
        selected = e.table;
      }
      if (e.array) selected.reset();  // the reader is left in the array's last table
      SP_RETURN_IF_ERROR(e.read(r, file, c));
    }
    return Status::OK();
  }

  std::string title_, intro_;
  std::vector<SettingsTableDoc> tables_;
  std::vector<Entry> entries_;
};

}  // namespace sp
