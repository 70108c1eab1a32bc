// sensorpipe-agent: the device side. Samples the sensors every interval, spools each reading and
// publishes it over MQTT at QoS 1; the spool keeps every reading until the broker has it.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "agent/agent_config.h"
#include "agent/agent_metrics.h"
#include "agent/message.h"
#include "agent/publisher.h"
#include "agent/sender.h"
#include "agent/sensehat.h"
#include "agent/simulator.h"
#include "agent/spool.h"
#include "agent/status_server.h"
#include "common/cli.h"
#include "common/device_id.h"
#include "common/env.h"

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) {
  g_stop = true;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "sensorpipe-agent: %s\n", message.c_str());
  return 1;
}

std::string HostName() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// Sleeps until deadline (steady clock) or a stop, in steps short enough to keep pumping.
template <typename Fn>
void WaitUntil(std::chrono::steady_clock::time_point deadline, Fn pump) {
  while (!g_stop) {
    pump();
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(50)));
  }
}

// The configured sensors: the simulator, or the SenseHAT on its i2c bus.
struct SensorSource {
  std::unique_ptr<sp::I2cBus> bus;
  std::unique_ptr<sp::SenseHat> hat;
  std::unique_ptr<sp::Sensors> simulator;
  sp::Sensors* get() { return hat ? static_cast<sp::Sensors*>(hat.get()) : simulator.get(); }
};

sp::Result<SensorSource> OpenSensors(const sp::AgentConfig& config, bool simulate, uint64_t seed, int64_t now_us) {
  SensorSource source;
  if (simulate) {
    source.simulator = std::make_unique<sp::SimulatedSenseHat>(seed ? seed : static_cast<uint64_t>(now_us),
                                                               sp::LocalUtcOffsetSeconds(now_us));
    return source;
  }
  const auto& s = config.sensors;
  SP_ASSIGN_OR_RETURN(source.bus, sp::OpenLinuxI2cBus(s.i2c_device));
  sp::SenseHatOptions options;
  options.climate = s.climate;
  options.pressure = s.pressure;
  options.orientation = s.orientation;
  options.mag.offset = {s.mag_offset[0], s.mag_offset[1], s.mag_offset[2]};
  options.mag.scale = {s.mag_scale[0], s.mag_scale[1], s.mag_scale[2]};
  SP_ASSIGN_OR_RETURN(source.hat, sp::OpenSenseHat(source.bus.get(), options));
  return source;
}

// --calibrate: samples the magnetometer while the user turns the board, then prints the [sensors]
// lines to paste into the config.
int Calibrate(sp::SenseHat* hat, double seconds) {
  std::fprintf(stderr, "Turn the board slowly through every orientation for %.0f s...\n", seconds);
  auto cal = hat->CalibrateMagnetometer(
      std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)), [](const sp::MagCalibrationProgress& p) {
        std::fprintf(stderr, "  %3lld/%lld s, %zu samples; field x %.0f..%.0f, y %.0f..%.0f, z %.0f..%.0f uT\n",
                     static_cast<long long>(p.elapsed.count() / 1000),
                     static_cast<long long>(p.duration.count() / 1000), p.samples, p.min.x, p.max.x, p.min.y, p.max.y,
                     p.min.z, p.max.z);
      });
  if (!cal.ok()) return Fail("calibration: " + cal.status().ToString());
  std::printf("[sensors]\nmag_offset = [%.3f, %.3f, %.3f]\nmag_scale = [%.5f, %.5f, %.5f]\n", cal->offset.x,
              cal->offset.y, cal->offset.z, cal->scale.x, cal->scale.y, cal->scale.z);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("agent"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  CLI::App app{
      "sensorpipe-agent: reads a SenseHAT (or simulates one), spools every reading on disk and publishes it\n"
      "over MQTT at QoS 1, keeping it until the broker has acknowledged it."};
  bool simulate = false, once = false, config_reference = false;
  std::string config_path = "sensorpipe-agent.toml", url, device, topic, spool_dir, metrics_listen;
  double interval = 0, calibrate = 0;
  int64_t count = 0;
  uint64_t seed = 0;
  app.add_flag("--simulate", simulate, "Use the built-in SenseHAT simulator");
  app.add_option("-c,--config", config_path, "TOML config file (missing: all defaults)");
  app.add_option("--url", url, "Broker URL, e.g. mqtt://127.0.0.1:1883 (overrides [mqtt] url)");
  app.add_option("--device", device, "Device id, also the MQTT client id (default: the host name)");
  app.add_option("--topic", topic, "Topic; {device} is replaced by the device id (default: sensor/{device}/data)");
  app.add_option("--interval", interval, "Seconds between readings (default 1)")->check(CLI::Range(0.01, 86400.0));
  app.add_option("--spool", spool_dir, "Spool folder (overrides [agent] spool_dir)");
  app.add_option("--count", count, "Stop after this many readings (default: run until stopped)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "Simulator random seed (default: from the clock)");
  app.add_option("--metrics-listen", metrics_listen,
                 "host:port serving /metrics, /healthz, /readyz (overrides [agent] metrics_listen)");
  app.add_flag("--once", once, "Print one reading as JSON and exit, without publishing");
  app.add_option("--calibrate", calibrate,
                 "Calibrate the magnetometer for this many seconds while the board is turned around, and print "
                 "the [sensors] lines for the config")
      ->check(CLI::Range(5.0, 600.0));
  app.add_flag("--config-reference", config_reference,
               "Print every config key with its type, default and meaning (docs/agent-configuration.md) and exit");
  if (auto exit_code = sp::ParseCommandLine(app, argc, argv)) return *exit_code;
  if (config_reference) {
    std::fputs(sp::AgentSettings().Reference().c_str(), stdout);
    return 0;
  }

  auto config = sp::LoadAgentConfig(sp::Env::Default(), config_path);
  if (!config.ok()) return Fail(std::string(config.status().message()));
  if (!url.empty()) config->mqtt.url = url;
  if (!device.empty()) config->device = device;
  if (!topic.empty()) config->topic = topic;
  if (interval > 0) config->interval_s = interval;
  if (!spool_dir.empty()) config->spool_dir = spool_dir;
  if (!metrics_listen.empty()) config->metrics_listen = metrics_listen;
  if (config->device.empty()) config->device = HostName();
  if (!sp::IsSafeDeviceId(config->device)) {
    return Fail("device id '" + config->device + "' must be " + std::string(sp::kDeviceIdRule) +
                " (set [agent] device or --device)");
  }
  auto broker = sp::ParseMqttUrl(config->mqtt.url);
  if (!broker.ok()) return Fail(std::string(broker.status().message()));

  sp::Clock* clock = sp::Clock::Default();
  auto sensors = OpenSensors(*config, simulate, seed, clock->NowMicros());
  if (!sensors.ok()) {
    std::string why(sensors.status().message());
    if (why.find("--simulate") == std::string::npos) why += "; --simulate runs without a board";
    return Fail(why);
  }
  if (calibrate > 0) {
    if (!sensors->hat) return Fail("--calibrate needs the SenseHAT, not --simulate");
    return Calibrate(sensors->hat.get(), calibrate);
  }
  auto message = [&](uint64_t n) -> sp::Result<std::string> {
    const int64_t now = clock->NowMicros();
    SP_ASSIGN_OR_RETURN(sp::Reading reading, sensors->get()->Read(now));
    return sp::FormatMessage(config->device, now, sp::LocalUtcOffsetSeconds(now), reading, n);
  };
  if (once) {
    auto m = message(0);
    if (!m.ok()) return Fail(m.status().ToString());
    std::printf("%s\n", m->c_str());
    return 0;
  }

  auto spool = sp::Spool::Open(sp::Env::Default(), clock, config->spool_dir,
                               {static_cast<uint64_t>(config->spool_bytes), config->spool_sync});
  if (!spool.ok()) return Fail("spool: " + spool.status().ToString());

  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  sp::PublisherOptions po{*broker, config->mqtt};
  if (po.mqtt.client_id.empty()) po.mqtt.client_id = config->device;
  const std::string topic_name = sp::ExpandTopic(config->topic, config->device);
  sp::Sender* sender_ptr = nullptr;
  sp::Publisher publisher(po, [&](sp::PublisherEvent e) { sender_ptr->OnEvent(e); });
  sp::Sender sender(spool->get(), &publisher, topic_name,
                    {config->backlog_per_s, static_cast<size_t>(po.max_inflight)});
  sender_ptr = &sender;
  if (sp::Status s = publisher.Start(); !s.ok()) return Fail(s.ToString());
  spdlog::info("agent: {} device {} every {} s to {} on {}; spool {} ({} readings waiting, next count {})",
               simulate ? "simulating" : "reading", config->device, config->interval_s, topic_name, config->mqtt.url,
               config->spool_dir, (*spool)->pending(), (*spool)->next_seq());

  sp::AgentMetrics metrics((*spool)->stats());
  std::unique_ptr<sp::StatusServer> status;
  if (!config->metrics_listen.empty()) {
    auto hp = sp::ParseHostPort(config->metrics_listen);
    if (!hp.ok()) return Fail("metrics_listen: " + std::string(hp.status().message()));
    auto server =
        sp::StatusServer::Start(hp->first, hp->second, [&](std::string_view path) -> std::pair<int, std::string> {
          if (path == "/metrics") return {200, metrics.Render()};
          if (path == "/healthz") return {200, "ok\n"};
          if (path == "/readyz")
            return publisher.connected() ? std::pair{200, std::string("connected\n")}
                                         : std::pair{503, std::string("not connected to the broker\n")};
          return {404, "not found\n"};
        });
    if (!server.ok()) return Fail(server.status().ToString());
    status = std::move(*server);
    spdlog::info("agent: metrics on http://{}:{}/metrics", hp->first, status->port());
  }
  auto pump = [&] {
    if (sp::Status s = sender.Pump(clock->MonotonicMicros()); !s.ok()) spdlog::error("agent: {}", s.ToString());
    metrics.Update(**spool, sender, publisher.connected());
  };
  auto report = [&](const char* what) {
    const sp::SpoolStats st = (*spool)->stats();
    spdlog::info(
        "agent: {}: {} taken, {} acknowledged ({} of them refused by the broker), {} waiting in the spool, "
        "{} dropped because the spool was full (ever), {} unreadable in the spool; {} sent; the spool wrote "
        "{:.0f} bytes and {:.2f} syncs per reading",
        what, st.appended, sender.acknowledged(), sender.refused(), (*spool)->pending(), st.overflowed, sender.lost(),
        sender.sent(), st.appended ? double(st.bytes_written) / st.appended : 0.0,
        st.appended ? double(st.syncs) / st.appended : 0.0);
  };
  // Wait briefly for the first connection, so the first readings go out live.
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       !g_stop && !publisher.connected() && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto period = std::chrono::microseconds(static_cast<int64_t>(config->interval_s * 1e6));
  auto next = std::chrono::steady_clock::now();
  auto next_report = next + std::chrono::seconds(60);
  int64_t taken = 0;
  while (!g_stop && (count == 0 || taken < count)) {
    auto m = message((*spool)->next_seq());
    if (!m.ok()) {
      metrics.SensorError();
      spdlog::error("agent: reading the sensors: {}", m.status().ToString());
    } else if (sp::Status s = sender.Take(*m); !s.ok()) {
      spdlog::error("agent: the spool could not keep reading {}: {}", (*spool)->next_seq(), s.ToString());
    }
    ++taken;
    if (std::chrono::steady_clock::now() >= next_report) {
      report("status");
      next_report += std::chrono::seconds(60);
    }
    next += period;
    if (count == 0 || taken < count) WaitUntil(next, pump);
  }
  // Give what is in flight (and a backlog) a few seconds to be acknowledged; the rest stays spooled.
  g_stop = false;
  const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!g_stop && (*spool)->pending() > 0 && publisher.connected() &&
         std::chrono::steady_clock::now() < drain_until) {
    pump();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pump();
  publisher.Stop();
  if (sp::Status s = (*spool)->Flush(); !s.ok()) spdlog::error("agent: spool: {}", s.ToString());
  report("stopped");
  if ((*spool)->pending() > 0) {
    spdlog::warn("agent: {} readings stay in the spool and are sent at the next start", (*spool)->pending());
    return 3;
  }
  return 0;
}
