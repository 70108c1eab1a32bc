#include "agent/agent_config.h"

namespace sp {

namespace {

constexpr const char* kIntro =
    R"(The device agent (`sensorpipe-agent`, [agent.md](agent.md)) reads one TOML file,
`sensorpipe-agent.toml` in the current folder or the one `--config` names. Every key is optional,
a missing file means all defaults, relative paths resolve against the file's folder, and an unknown
key or a bad value stops start-up with `file:line: reason`. The options `--url`, `--device`,
`--topic`, `--interval`, `--spool` and `--metrics-listen` override their keys:

```toml
[agent]
device = "pi-kitchen"
interval_s = 10

[mqtt]
url = "mqtt://broker.lan:1883"
```

The `[mqtt]` table is the one the daemon's file has ([configuration.md](configuration.md#mqtt)),
without `topics`: the agent publishes to its `[agent]` `topic` instead.

This page is generated from the agent's table of settings in `src/agent/agent_config.cc`
(`agent_publish_test` fails when it is not current); after changing a key, write it again with
`build/bin/sensorpipe-agent --config-reference > docs/agent-configuration.md`.)";

Settings<AgentConfig> MakeAgentSettings() {
  using C = AgentConfig;
  Settings<C> s("The device agent's configuration", kIntro);
  s.Table("agent", "The device, its readings and its spool ([agent.md](agent.md#the-spool)).")
      .String("device", "", "The device id; default: the host name. Also the MQTT client id.", Into(&C::device))
      .Number("interval_s", 1, 0.01, 86400, "Seconds between readings.", Into(&C::interval_s))
      .String("topic", "sensor/{device}/data",
              "`{device}` is replaced by the device id; the seed's \"sensor/data\" works too (no identity in the "
              "topic then).",
              Checked(&C::topic,
                      [](const std::string& topic) {
                        if (!topic.empty() && topic.find_first_of("#+") == std::string::npos) return Status::OK();
                        return Status::InvalidArgument("must be a topic name without wildcards");
                      }))
      .Path("spool_dir", "spool", "Where readings wait for the broker's PUBACK ([format/spool.md](format/spool.md)).",
            Into(&C::spool_dir))
      .Int("spool_bytes", 64 << 20, 64 << 10, int64_t{1} << 40,
           "Bound of the spool: beyond, the oldest readings are dropped, logged and counted.", Into(&C::spool_bytes))
      .String("spool_sync", "interval:10000",
              "When readings reach the card: `interval:<ms>` (written at once, synced together this often), "
              "`always` (each synced before it is published) or `none` (left to the kernel).",
              Parsed(&C::spool_sync, [](const std::string& text) { return SpoolSync::Parse(text); }))
      .Number("backlog_per_s", 50, 0.1, 100000, "Readings of a backlog sent per second, beside live ones.",
              Into(&C::backlog_per_s))
      .String("metrics_listen", "",
              "host:port for /metrics, /healthz and /readyz, e.g. \"127.0.0.1:9102\"; empty: off.",
              Checked(&C::metrics_listen, [](const std::string& listen) {
                return listen.empty() ? Status::OK() : ParseHostPort(listen).status();
              }));
  using Sensors = C::Sensors;
  s.Table("sensors", &C::sensors, "The SenseHAT's chips ([sensehat.md](sensehat.md)); `--simulate` ignores them.")
      .String("i2c_device", "/dev/i2c-1", "The SenseHAT's i2c-dev bus.", Into(&Sensors::i2c_device))
      .Bool("climate", true, "HTS221: humidity and temperature.", Into(&Sensors::climate))
      .Bool("pressure", true, "LPS25H: pressure.", Into(&Sensors::pressure))
      .Bool("orientation", true, "LSM9DS1: pitch, roll and yaw.", Into(&Sensors::orientation))
      .NumberList("mag_offset", {0, 0, 0}, "Hard-iron offset per axis, µT (from `--calibrate`).",
                  Into(&Sensors::mag_offset))
      .NumberList("mag_scale", {1, 1, 1}, "Soft-iron scale per axis (from `--calibrate`).",
                  Checked(&Sensors::mag_scale, [](const std::vector<double>& scale) {
                    for (double x : scale) {
                      if (!(x > 0)) return Status::InvalidArgument("every scale must be above 0");
                    }
                    return Status::OK();
                  }));
  s.Include("mqtt", &C::mqtt, MqttSettings(), "The broker the agent publishes to at QoS 1, with a persistent session.");
  return s;
}

}  // namespace

const Settings<AgentConfig>& AgentSettings() {
  static const Settings<AgentConfig> settings = MakeAgentSettings();
  return settings;
}

Result<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& path) {
  return AgentSettings().Parse(text, path);
}

Result<AgentConfig> LoadAgentConfig(Env* env, const std::string& path) {
  // A missing file means the defaults, the spool beside where the file would be.
  if (!env->FileExists(path)) return ParseAgentConfig("", path);
  SP_ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
  return ParseAgentConfig(text, path);
}

}  // namespace sp
