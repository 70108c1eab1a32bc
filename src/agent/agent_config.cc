#include "agent/agent_config.h"

#include "common/env.h"
#include "common/toml_reader.h"

namespace sp {

Result<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& path) {
  SP_ASSIGN_OR_RETURN(auto r, TomlReader::Parse(text, path));
  AgentConfig c;
  c.spool_dir = ResolveConfigPath(path, c.spool_dir);
  SP_RETURN_IF_ERROR(r->Table("agent"));
  SP_RETURN_IF_ERROR(r->String("device", &c.device));
  SP_RETURN_IF_ERROR(r->Double("interval_s", &c.interval_s, 0.01, 86400));
  SP_RETURN_IF_ERROR(r->String("topic", &c.topic));
  if (c.topic.empty() || c.topic.find_first_of("#+") != std::string::npos) {
    return r->ErrorAt("topic", "must be a topic name without wildcards");
  }
  SP_RETURN_IF_ERROR(r->String("spool_dir", &c.spool_dir));
  c.spool_dir = ResolveConfigPath(path, c.spool_dir);
  SP_RETURN_IF_ERROR(r->Int("spool_bytes", &c.spool_bytes, 64 << 10, int64_t{1} << 40));
  if (r->LineOf("spool_sync") > 0) {  // absent: SpoolSync's default
    std::string sync;
    SP_RETURN_IF_ERROR(r->String("spool_sync", &sync));
    auto policy = SpoolSync::Parse(sync);
    if (!policy.ok()) return r->ErrorAt("spool_sync", std::string(policy.status().message()));
    c.spool_sync = *policy;
  }
  SP_RETURN_IF_ERROR(r->Double("backlog_per_s", &c.backlog_per_s, 0.1, 100000));
  SP_RETURN_IF_ERROR(r->String("metrics_listen", &c.metrics_listen));
  if (auto hp = ParseHostPort(c.metrics_listen); !c.metrics_listen.empty() && !hp.ok()) {
    return r->ErrorAt("metrics_listen", std::string(hp.status().message()));
  }

  SP_RETURN_IF_ERROR(r->Table("sensors"));
  SP_RETURN_IF_ERROR(r->String("i2c_device", &c.sensors.i2c_device));
  SP_RETURN_IF_ERROR(r->Bool("climate", &c.sensors.climate));
  SP_RETURN_IF_ERROR(r->Bool("pressure", &c.sensors.pressure));
  SP_RETURN_IF_ERROR(r->Bool("orientation", &c.sensors.orientation));
  SP_RETURN_IF_ERROR(r->DoubleArray("mag_offset", &c.sensors.mag_offset));
  SP_RETURN_IF_ERROR(r->DoubleArray("mag_scale", &c.sensors.mag_scale));
  for (double s : c.sensors.mag_scale) {
    if (!(s > 0)) return r->ErrorAt("mag_scale", "every scale must be above 0");
  }

  SP_RETURN_IF_ERROR(r->Table("mqtt"));
  SP_RETURN_IF_ERROR(ReadMqttTable(*r, path, &c.mqtt));
  SP_RETURN_IF_ERROR(r->Finish());
  return c;
}

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  Env* env = Env::Default();
  if (!env->FileExists(path)) {
    AgentConfig c;
    c.spool_dir = ResolveConfigPath(path, c.spool_dir);
    return c;
  }
  SP_ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
  return ParseAgentConfig(text, path);
}

}  // namespace sp
