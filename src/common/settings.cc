#include "common/settings.h"

#include <charconv>
#include <sstream>

#include "common/env.h"

namespace sp {

namespace {

// A table cell: '|' would end it.
std::string Cell(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '|') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace

std::string RenderSettingsReference(const std::string& title, const std::string& intro,
                                    const std::vector<SettingsTableDoc>& tables) {
  std::string out = "# " + title + "\n\n" + intro + "\n";
  for (const SettingsTableDoc& t : tables) {
    const std::string heading = t.name.empty() ? "Top level" : t.array ? "`[[" + t.name + "]]`" : "`[" + t.name + "]`";
    out += "\n## " + heading + "\n\n";
    if (!t.help.empty()) out += t.help + "\n\n";
    out += "| Key | Type | Default | Meaning |\n|---|---|---|---|\n";
    for (const SettingDoc& k : t.keys) {
      out += "| `" + k.key + "` | " + Cell(k.type) + " | `" + Cell(k.fallback) + "` | " + Cell(k.help) + " |\n";
    }
  }
  return out;
}

std::string TomlText(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::string TomlText(bool b) {
  return b ? "true" : "false";
}

std::string TomlText(int64_t i) {
  return std::to_string(i);
}

std::string TomlText(double d) {
  std::ostringstream out;
  out << d;
  return out.str();
}

std::string TomlText(const std::map<std::string, std::string>& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) out += (out.size() > 1 ? ", " : " ") + k + " = " + TomlText(v);
  return out + (m.empty() ? "}" : " }");
}

Result<int> ParsePort(std::string_view text) {
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return Status::InvalidArgument("bad port '" + std::string(text) + "'");
  }
  return port;
}

Result<std::pair<std::string, int>> ParseHostPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::InvalidArgument("expected host:port, got '" + text + "'");
  SP_ASSIGN_OR_RETURN(int port, ParsePort(std::string_view(text).substr(colon + 1)));
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::make_pair(host, port);
}

std::optional<int64_t> ParseIntervalMs(std::string_view text) {
  constexpr std::string_view kPrefix = "interval:";
  if (!text.starts_with(kPrefix)) return std::nullopt;
  text.remove_prefix(kPrefix.size());
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || end != text.data() + text.size() || ms < 1) return std::nullopt;
  return ms;
}

Status CheckFileExists(const std::string& path) {
  if (path.empty() || Env::Default()->FileExists(path)) return Status::OK();
  return Status::InvalidArgument("no file " + path);
}

Status CheckCertAndKey(const TomlReader& r, const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty() == key_file.empty()) return Status::OK();
  return r.ErrorAt(cert_file.empty() ? "key_file" : "cert_file", "cert_file and key_file go together");
}

}  // namespace sp
