#include "app/daemon.h"

#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "app/lake.h"
#include "catalog/lake_files.h"
#include "common/env.h"
#include "common/metrics.h"
#include "compact/compactor.h"
#include "delivery/delivery.h"
#include "ingest/http_ingest.h"
#include "ingest/ingest.h"
#include "log/file_log.h"
#include "mqtt/client.h"
#include "query/engine.h"
#include "rollup/feeder.h"
#include "web/server.h"

namespace sp {

Result<std::unique_ptr<FileLock>> LockDataDir(const std::string& data_dir) {
  // Two writers would interleave appends to the same segments.
  SP_RETURN_IF_ERROR(Env::Default()->CreateDirs(data_dir));
  auto lock = FileLock::Acquire(JoinPath(data_dir, "LOCK"), /*wait=*/false);
  if (!lock.ok() && lock.status().code() == Status::Code::kUnavailable) {
    return Status::Unavailable("another sensorpipe process is using " + data_dir);
  }
  return lock;
}

namespace {

std::string DefaultClientId() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return std::string("sensorpipe-") + host;
}

// The subscriber's options from [mqtt], whose keys the agent's file shares (MqttConfig), and
// [ingest] max_payload_bytes, beyond which a message is not read whole.
Result<MqttClientOptions> SubscriberOptions(const DaemonConfig& config) {
  const MqttConfig& mqtt = config.mqtt;
  SP_ASSIGN_OR_RETURN(MqttUrl url, ParseMqttUrl(mqtt.url));
  MqttClientOptions o;
  o.host = url.host;
  o.port = url.port;
  o.tls = url.tls;
  o.tls_options = {mqtt.ca_file, mqtt.cert_file, mqtt.key_file};
  o.client_id = mqtt.client_id.empty() ? DefaultClientId() : mqtt.client_id;
  o.username = mqtt.username;
  o.password = mqtt.password;
  o.keepalive_s = mqtt.keepalive_s;
  o.topics = mqtt.topics;
  o.protocol = mqtt.protocol == "5"       ? MqttProtocol::kV5
               : mqtt.protocol == "3.1.1" ? MqttProtocol::kV311
                                          : MqttProtocol::kAuto;
  o.max_payload_bytes = config.ingest.max_payload_bytes;
  return o;
}

}  // namespace

Result<std::shared_ptr<const RuleSet>> CompileRules(const DaemonConfig& config) {
  for (const RuleSpec& rule : config.rules) {
    // Each rule alone, so the error names the config line of the rule at fault.
    if (auto compiled = RuleSet::Compile({rule}, config.ingest); !compiled.ok()) {
      return Status::InvalidArgument(config.path + ":" + std::to_string(rule.line) +
                                     ": [[rules]] sql: " + std::string(compiled.status().message()));
    }
  }
  return RuleSet::Compile(config.rules, config.ingest);
}

void BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A closed client connection must not kill the daemon.
  signal(SIGPIPE, SIG_IGN);
}

Status RunDaemon(const DaemonConfig& config) {
  Env* env = Env::Default();
  Clock* clock = Clock::Default();
  Metrics metrics;

  // Rules first: a mistake in one stops start-up before anything else happens.
  SP_ASSIGN_OR_RETURN(std::shared_ptr<const RuleSet> rules, CompileRules(config));

  SP_ASSIGN_OR_RETURN(auto lock, LockDataDir(config.data_dir));
  spdlog::info("sensorpipe starting: data_dir={} mqtt={} http={}", config.data_dir, config.mqtt.url,
               config.http.listen);

  // Log: the source of truth. Opening it recovers torn tails before anything reads or writes.
  SP_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, OpenFileLog(env, clock, &metrics, config.log));
  // The streams the rules write to ("readings" unless the rules say otherwise), and the errors.
  std::vector<Stream*> streams;
  for (const std::string& name : rules->streams()) {
    SP_ASSIGN_OR_RETURN(Stream * stream, log->OpenStream(name));
    streams.push_back(stream);
  }
  SP_ASSIGN_OR_RETURN(Stream * errors, log->OpenStream("errors"));
  metrics.SetGaugeCallback("sensorpipe_log_bytes", "Bytes the log keeps on disk, by stream.", [&streams, errors] {
    std::vector<std::pair<Labels, double>> out;
    std::vector<Stream*> all = streams;
    all.push_back(errors);
    for (Stream* stream : all) {
      uint64_t bytes = 0;
      for (const ShardStats& shard : stream->Stats()) bytes += shard.bytes;
      out.push_back({{{"stream", stream->name()}}, static_cast<double>(bytes)});
    }
    return out;
  });

  // Delivery: one consumer per view, started before ingest so the lake follows the log at once.
  SP_ASSIGN_OR_RETURN(Lake lake, OpenLake(config, clock, &metrics));
  ObjectStore* store = lake.store.get();
  Catalog* catalog = lake.catalog.get();
  const DeliveryOptions& raw_options = config.delivery;  // lake-raw into raw/ by event hour
  DeliveryOptions error_options = raw_options;
  error_options.partition_by_device = false;
  error_options.consumer_name = "lake-errors";
  error_options.prefix = "errors";
  error_options.partitioning = DeliveryOptions::kDay;
  // readings go to raw/ by event hour; any other stream a rule fills to <stream>/ by day.
  std::vector<std::unique_ptr<Delivery>> deliveries;
  for (size_t i = 0; i < streams.size(); ++i) {
    DeliveryOptions options = raw_options;
    if (streams[i]->name() != "readings") {
      options.consumer_name = "lake-" + streams[i]->name();
      options.prefix = streams[i]->name();
      options.partitioning = DeliveryOptions::kDay;
      options.partition_by_device = false;
    }
    SP_ASSIGN_OR_RETURN(auto delivery, Delivery::Open(streams[i], store, catalog, clock, &metrics, options));
    deliveries.push_back(std::move(delivery));
  }
  SP_ASSIGN_OR_RETURN(auto error_delivery, Delivery::Open(errors, store, catalog, clock, &metrics, error_options));
  deliveries.push_back(std::move(error_delivery));
  // Compaction: woken by each commit of new readings objects.
  SP_ASSIGN_OR_RETURN(auto compactor, Compactor::Open(catalog, store, env, clock, &metrics, config.compaction));
  for (size_t i = 0; i < streams.size(); ++i) {
    if (streams[i]->name() == "readings") deliveries[i]->OnCommit([c = compactor.get()] { c->Notify(); });
  }
  for (auto& delivery : deliveries) SP_RETURN_IF_ERROR(delivery->Start());
  compactor->Start();
  ExportLakeMetrics(catalog, &metrics);

  // Web: health, metrics and the first page, up before ingest so a slow broker is visible.
  QueryOptions query_options = config.query;
  query_options.read_only_sql = true;
  SP_ASSIGN_OR_RETURN(auto engine,
                      QueryEngine::Open(MakeCatalogLakeFiles(catalog, store), lake.local_dir, query_options));
  SP_ASSIGN_OR_RETURN(auto listen, ParseHostPort(config.http.listen));

  // Rollup: the dashboard's aggregates, fed from the readings stream after the lake's offsets.
  // Its lake engine is its own (not locked down: it runs only our SQL).
  Rollup rollup(config.rollup);
  LakeAggregates lake_aggregates([&] {
    QueryOptions options;
    options.settings = {"SET memory_limit = '256MB'", "SET enable_external_file_cache = false"};
    return QueryEngine::Open(MakeCatalogLakeFiles(catalog, store), lake.local_dir, options);
  });
  SeriesReader series(&rollup, &lake_aggregates);
  std::unique_ptr<RollupFeeder> feeder;
  for (size_t i = 0; i < streams.size(); ++i) {
    if (streams[i]->name() != "readings") continue;
    feeder = std::make_unique<RollupFeeder>(
        &rollup, config.rollup, &lake_aggregates, streams[i],
        [catalog, consumer = raw_options.consumer_name] { return catalog->DeliveryOffsets(consumer); }, &metrics);
    SP_RETURN_IF_ERROR(feeder->Start());
  }

  // Ingest: the subscriber.
  SP_ASSIGN_OR_RETURN(MqttClientOptions mqtt_options, SubscriberOptions(config));
  MqttSubscriber subscriber(mqtt_options, clock, &metrics);

  WebServer web(
      &metrics, engine.get(),
      [&] {
        Health h;
        h.mqtt_connected = subscriber.connected();
        return h;
      },
      config.http.tls);
  web.EnableApi({&rollup, &series, clock});
  HttpIngest http_ingest(rules, streams, errors, clock, &metrics);
  web.EnableIngest(config.http.token, static_cast<size_t>(config.http.max_body_bytes),
                   [&](std::string_view body, const WebServer::IngestRequest& request) {
                     HttpIngest::Answer a = http_ingest.Ingest(body, request.topic, request.device_time_zone);
                     return std::make_pair(a.status, std::move(a.body));
                   });
  SP_RETURN_IF_ERROR(web.Start(listen.first, listen.second));

  Ingest ingest(&subscriber, rules, streams, errors, clock, &metrics, Ingest::Options{});
  ingest.Start();
  spdlog::info("sensorpipe running: dashboard http://{}:{}/ , subscribed to {} as {}", listen.first, listen.second,
               fmt::join(config.mqtt.topics, ","), mqtt_options.client_id);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("sensorpipe stopping on {}", sig == SIGINT ? "SIGINT" : "SIGTERM");

  // Producers first: after MQTT and HTTP ingest stop nothing more is appended (unacknowledged
  // messages stay with the broker or the HTTP client), then delivery drains the log to the lake.
  ingest.Stop();
  web.Stop();
  if (feeder) feeder->Stop();
  Status stopped;
  for (auto& delivery : deliveries) {
    if (Status s = delivery->Stop(); !s.ok() && stopped.ok()) stopped = s.WithContext("stopping delivery");
  }
  compactor->Stop();
  RemoveLakeMetrics(&metrics);
  metrics.RemoveCallback("sensorpipe_log_bytes");
  SP_RETURN_IF_ERROR(stopped);
  spdlog::info("sensorpipe stopped cleanly");
  return Status::OK();
}

}  // namespace sp
