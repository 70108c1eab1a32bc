#include "agent/agent_config.h"

#include "common/env.h"
#include "common/toml_reader.h"

namespace sp {

Result<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& path) {
  SP_ASSIGN_OR_RETURN(auto r, TomlReader::Parse(text, path));
  AgentConfig c;
  SP_RETURN_IF_ERROR(r->Table("agent"));
  SP_RETURN_IF_ERROR(r->String("device", &c.device));
  SP_RETURN_IF_ERROR(r->Double("interval_s", &c.interval_s, 0.01, 86400));
  SP_RETURN_IF_ERROR(r->String("topic", &c.topic));
  if (c.topic.empty() || c.topic.find_first_of("#+") != std::string::npos) {
    return r->ErrorAt("topic", "must be a topic name without wildcards");
  }
  SP_RETURN_IF_ERROR(r->Table("mqtt"));
  SP_RETURN_IF_ERROR(r->String("url", &c.mqtt.url));
  if (auto u = ParseMqttUrl(c.mqtt.url); !u.ok()) return r->ErrorAt("url", std::string(u.status().message()));
  SP_RETURN_IF_ERROR(r->String("client_id", &c.mqtt.client_id));
  SP_RETURN_IF_ERROR(r->String("username", &c.mqtt.username));
  SP_RETURN_IF_ERROR(r->String("password", &c.mqtt.password));
  SP_RETURN_IF_ERROR(r->Int("keepalive_s", &c.mqtt.keepalive_s, 1, 65535));
  SP_RETURN_IF_ERROR(ReadMqttTls(*r, path, &c.mqtt));
  SP_RETURN_IF_ERROR(r->Finish());
  return c;
}

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  Env* env = Env::Default();
  if (!env->FileExists(path)) return AgentConfig{};
  SP_ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
  return ParseAgentConfig(text, path);
}

}  // namespace sp
