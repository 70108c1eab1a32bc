#include "mqtt/config.h"

namespace sp {

Result<MqttUrl> ParseMqttUrl(const std::string& url) {
  MqttUrl out;
  std::string_view rest = url;
  if (rest.rfind("mqtt://", 0) == 0) {
    rest.remove_prefix(7);
  } else if (rest.rfind("mqtts://", 0) == 0) {
    rest.remove_prefix(8);
    out.tls = true;
    out.port = 8883;
  } else {
    return Status::InvalidArgument("expected mqtt://host:port or mqtts://host:port, got '" + url + "'");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
    SP_ASSIGN_OR_RETURN(out.port, ParsePort(rest.substr(colon + 1)));
    rest = rest.substr(0, colon);
  }
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("expected mqtt://host:port, got '" + url + "'");
  }
  out.host = std::string(rest);
  return out;
}

const Settings<MqttConfig>& MqttSettings() {
  static const Settings<MqttConfig> settings = [] {
    Settings<MqttConfig> s;
    s.Table("")
        .String("url", "mqtt://127.0.0.1:1883", "The broker: `mqtt://host:port`, or `mqtts://host:port` for TLS.",
                Checked(&MqttConfig::url, [](const std::string& url) { return ParseMqttUrl(url).status(); }))
        .String("client_id", "",
                "Empty: `sensorpipe-<hostname>` for the daemon, the device id for the agent. Keep it stable: the "
                "broker keeps the persistent session under it.",
                Into(&MqttConfig::client_id))
        .String("username", "", "For brokers that require a login.", Into(&MqttConfig::username))
        .String("password", "", "Goes with username; never logged.", Into(&MqttConfig::password))
        .Choice("protocol", "auto", {"auto", "3.1.1", "5"},
                "`auto`: MQTT 5, falling back to 3.1.1 when the broker refuses it.", Into(&MqttConfig::protocol))
        .Int("keepalive_s", 30, 1, 65535, "MQTT keepalive, in seconds.", Into(&MqttConfig::keepalive_s))
        .Path("ca_file", "", "TLS: the CA of the broker's certificate (PEM; empty: the system's trust store).",
              Checked(&MqttConfig::ca_file, CheckFileExists))
        .Path("cert_file", "", "TLS: a client certificate (PEM), for brokers that require one; with key_file.",
              Checked(&MqttConfig::cert_file, CheckFileExists))
        .Path("key_file", "", "TLS: the client certificate's key (PEM).",
              Checked(&MqttConfig::key_file, CheckFileExists))
        .Check([](const TomlReader& r, const MqttConfig& c) { return CheckCertAndKey(r, c.cert_file, c.key_file); });
    return s;
  }();
  return settings;
}

}  // namespace sp
