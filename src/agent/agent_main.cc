// sensorpipe-agent: the device side. Samples the sensors every interval and publishes the seed's
// message over MQTT at QoS 1.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <thread>

#include "agent/agent_config.h"
#include "agent/message.h"
#include "agent/publisher.h"
#include "agent/simulator.h"
#include "common/cli.h"
#include "common/env.h"

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

int Fail(const std::string& message) {
  std::fprintf(stderr, "sensorpipe-agent: %s\n", message.c_str());
  return 1;
}

std::string HostName() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("agent"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  CLI::App app{"sensorpipe-agent: reads a SenseHAT (or simulates one) and publishes readings over MQTT, QoS 1.\n"
               "The message count starts at 0 on every run (a persistent count comes with the device issue)."};
  bool simulate = false, once = false;
  std::string config_path = "sensorpipe-agent.toml", url, device, topic;
  double interval = 0;
  int64_t count = 0;
  uint64_t seed = 0;
  app.add_flag("--simulate", simulate, "Use the built-in SenseHAT simulator");
  app.add_option("-c,--config", config_path, "TOML config file (missing: all defaults)");
  app.add_option("--url", url, "Broker URL, e.g. mqtt://127.0.0.1:1883 (overrides [mqtt] url)");
  app.add_option("--device", device, "Device id, also the MQTT client id (default: the host name)");
  app.add_option("--topic", topic, "Topic; {device} is replaced by the device id (default: sensor/{device}/data)");
  app.add_option("--interval", interval, "Seconds between readings (default 1)")->check(CLI::Range(0.01, 86400.0));
  app.add_option("--count", count, "Stop after this many readings (default: run until stopped)")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "Simulator random seed (default: from the clock)");
  app.add_flag("--once", once, "Print one reading as JSON and exit, without publishing");
  if (auto exit_code = sp::ParseCommandLine(app, argc, argv)) return *exit_code;

  auto config = sp::LoadAgentConfig(config_path);
  if (!config.ok()) return Fail(std::string(config.status().message()));
  if (!url.empty()) config->mqtt.url = url;
  if (!device.empty()) config->device = device;
  if (!topic.empty()) config->topic = topic;
  if (interval > 0) config->interval_s = interval;
  if (config->device.empty()) config->device = HostName();
  auto broker = sp::ParseMqttUrl(config->mqtt.url);
  if (!broker.ok()) return Fail(std::string(broker.status().message()));

  if (!simulate) {
    // An honest refusal: the i2c drivers for the SenseHAT's chips come with the device issue.
    return Fail("this build has no SenseHAT drivers yet; run with --simulate");
  }
  sp::Clock* clock = sp::Clock::Default();
  const int64_t start = clock->NowMicros();
  sp::SimulatedSenseHat sensors(seed ? seed : static_cast<uint64_t>(start), sp::LocalUtcOffsetSeconds(start));
  uint64_t n = 0;
  auto next_message = [&] {
    const int64_t now = clock->NowMicros();
    auto reading = sensors.Read(now);
    return sp::FormatMessage(config->device, now, sp::LocalUtcOffsetSeconds(now), *reading, n++);
  };
  if (once) {
    std::printf("%s\n", next_message().c_str());
    return 0;
  }

  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  sp::PublisherOptions po;
  po.host = broker->host;
  po.port = broker->port;
  po.client_id = config->mqtt.client_id.empty() ? config->device : config->mqtt.client_id;
  po.username = config->mqtt.username;
  po.password = config->mqtt.password;
  po.keepalive_s = config->mqtt.keepalive_s;
  po.tls = broker->tls;
  po.ca_file = config->mqtt.ca_file;
  po.cert_file = config->mqtt.cert_file;
  po.key_file = config->mqtt.key_file;
  sp::Publisher publisher(po);
  if (sp::Status s = publisher.Start(); !s.ok()) return Fail(s.ToString());
  const std::string the_topic = sp::ExpandTopic(config->topic, config->device);
  spdlog::info("agent: simulating device {} every {} s to {} on {}", config->device, config->interval_s, the_topic,
               config->mqtt.url);

  // Wait for the first connection, so the first readings are not refused needlessly.
  for (int i = 0; i < 500 && !publisher.connected() && !g_stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto period = std::chrono::microseconds(static_cast<int64_t>(config->interval_s * 1e6));
  auto next = std::chrono::steady_clock::now();
  uint64_t dropped = 0;
  auto last_report = std::chrono::steady_clock::now();
  while (!g_stop && (count == 0 || static_cast<int64_t>(n) < count)) {
    if (sp::Status s = publisher.Publish(the_topic, next_message()); !s.ok()) {
      ++dropped;  // counted and reported; the on-disk spool of the device issue keeps them instead
      spdlog::warn("agent: reading {} not sent: {}", n - 1, s.ToString());
    }
    if (std::chrono::steady_clock::now() - last_report >= std::chrono::seconds(60)) {
      spdlog::info("agent: {} published, {} acknowledged by the broker, {} not sent", publisher.published(),
                   publisher.acknowledged(), dropped);
      last_report = std::chrono::steady_clock::now();
    }
    next += period;
    while (!g_stop && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(next - std::chrono::steady_clock::now(),
                                                                                std::chrono::milliseconds(50)));
    }
  }
  publisher.Stop(std::chrono::seconds(5));
  spdlog::info("agent: stopped: {} published, {} acknowledged, {} not sent", publisher.published(),
               publisher.acknowledged(), dropped);
  return dropped == 0 && publisher.acknowledged() == publisher.published() ? 0 : 3;
}
