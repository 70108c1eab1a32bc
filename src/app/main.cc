// sensorpipe: the daemon (`run`) and the tools around what it stores (`query`, `report`, `log stat`,
// `log tail`, `replay`, `lake ls`, `compact`), the trust tools (`certs`, `broker-config`), and
// `config reference`, the Markdown of every config key (docs/configuration.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "app/daemon.h"
#include "app/lake.h"
#include "app/log_tools.h"
#include "app/report_tool.h"
#include "app/settings.h"
#include "app/trust_tool.h"
#include "catalog/lake_files.h"
#include "common/cli.h"
#include "common/env.h"
#include "query/engine.h"
#include "query/format.h"
#include "report/report.h"

namespace {

constexpr const char* kDefaultConfig = "sensorpipe.toml";
// Where scripts/demo.sh writes its config: a user in the repository's root who runs the README's
// commands without --config most likely means the demo's pipeline, not an empty ./data.
constexpr const char* kDemoConfig = "demo/sensorpipe.toml";
bool config_named = false;  // --config was given

sp::Result<sp::DaemonConfig> Load(const std::string& path) {
  if (!sp::Env::Default()->FileExists(path)) {
    if (!config_named && sp::Env::Default()->FileExists(kDemoConfig)) {
      std::fprintf(stderr,
                   "sensorpipe: no %s in this folder: using the defaults (data in ./data); the demo's config is %s: "
                   "add --config %s\n",
                   kDefaultConfig, kDemoConfig, kDemoConfig);
    } else {
      spdlog::info("config file {} not found: using the defaults", path);
    }
  }
  return sp::LoadDaemonConfig(sp::Env::Default(), path);
}

int Fail(const sp::Status& s) {
  std::fprintf(stderr, "sensorpipe: %s\n", std::string(s.message()).c_str());
  return 1;
}

int Run(const std::string& config_path) {
  auto config = Load(config_path);
  if (!config.ok()) return Fail(config.status());
  sp::Status s = sp::RunDaemon(*config);
  return s.ok() ? 0 : Fail(s);
}

// The lake as the tools read it; the engine reads through the lake's catalog, so it goes first.
struct LakeQuery {
  sp::Lake lake;
  std::unique_ptr<sp::QueryEngine> engine;
};

sp::Result<LakeQuery> OpenLakeQuery(const sp::DaemonConfig& config, const sp::QueryOptions& options = {}) {
  // The CLI reads the catalog's current files, so it works whether or not the daemon runs: a
  // compaction swaps files in one catalog transaction. No row limit or timeout: the user asked.
  // A data folder without a catalog (nothing was ever delivered) is an empty lake.
  LakeQuery q;
  if (sp::Env::Default()->FileExists(config.CatalogPath())) {
    SP_ASSIGN_OR_RETURN(q.lake, sp::OpenLake(config, sp::Clock::Default()));
    SP_ASSIGN_OR_RETURN(q.engine,
                        sp::QueryEngine::Open(sp::MakeCatalogLakeFiles(q.lake.catalog.get(), q.lake.store.get()),
                                              q.lake.local_dir, options));
  } else {
    SP_ASSIGN_OR_RETURN(q.engine, sp::QueryEngine::Open(sp::Env::Default(), config.LakeDir(), options));
  }
  return q;
}

// `query` reads the lake and nothing else, as /api/query does, unless the user unlocks DuckDB:
// a mistyped or pasted statement must not write or delete files, or read others.
int Query(const std::string& config_path, const std::string& format_name, const std::string& sql, bool any_sql) {
  auto format = sp::ParseOutputFormat(format_name);
  if (!format.ok()) return Fail(format.status());
  auto config = Load(config_path);
  if (!config.ok()) return Fail(config.status());
  sp::QueryOptions options;
  options.read_only_sql = !any_sql;
  options.refusal_hint =
      "\n(sensorpipe query runs one SELECT over the lake; --allow-any-sql lets DuckDB run any SQL "
      "with your own file access)";
  auto q = OpenLakeQuery(*config, options);
  if (!q.ok()) return Fail(q.status());
  auto result = q->engine->Run(sql);
  if (!result.ok()) return Fail(result.status());
  std::string out = sp::Format(*result, *format);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int Report(const std::string& config_path, const sp::ReportArgs& args) {
  auto config = Load(config_path);
  if (!config.ok()) return Fail(config.status());
  auto q = OpenLakeQuery(*config);
  if (!q.ok()) return Fail(q.status());
  return sp::RunReport(q->engine.get(), args);
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  // spdlog writes to stdout by default; a query's output must stay clean, so logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("sensorpipe"));

  CLI::App app{"sensorpipe: a self-hosted IoT sensor-log pipeline (MQTT -> log -> lake -> SQL)"};
  app.require_subcommand(1);
  std::string config_path = kDefaultConfig;
  std::vector<CLI::Option*> config_options;
  auto with_config = [&](CLI::App* sub) {
    config_options.push_back(sub->add_option("-c,--config", config_path, "TOML config file (missing: all defaults)"));
    return sub;
  };

  auto* run = with_config(app.add_subcommand("run", "Run the pipeline daemon until SIGINT or SIGTERM"));

  std::string format = "table";
  std::string sql;
  bool any_sql = false;
  auto* query = with_config(app.add_subcommand("query", "Run a SELECT over the lake (views: readings, errors)"));
  query->add_option("-f,--format", format, "Output format: table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  query->add_flag("--allow-any-sql", any_sql,
                  "Let DuckDB run any SQL with your own file access: several statements, COPY, EXPORT, ATTACH, "
                  "CREATE, DROP, reading and writing files outside the lake (default: one SELECT that reads the "
                  "lake only)");
  query->add_option("sql", sql, "One SELECT statement, e.g. \"SELECT count(*) FROM readings\"")->required();

  sp::ReportArgs report_args;
  auto* report = with_config(app.add_subcommand("report",
                                                "Write the analysis of a period: phases, hourly table, "
                                                "extremes, temperature-humidity correlation"));
  // Checked while parsing, so a bad value prints the usage and exits 2 like any other bad argument.
  const CLI::Validator time_check(
      [](std::string& v) {
        auto t = sp::ParseReportTime(v, "UTC");
        return t.ok() ? std::string() : std::string(t.status().message());
      },
      "TIME");
  const CLI::Validator zone_check(
      [](std::string& v) {
        auto z = sp::LocalZone::Create(v);
        return z.ok() ? std::string() : std::string(z.status().message());
      },
      "ZONE");
  report->add_option("--from", report_args.from, "Start (inclusive): ISO 8601 with offset, or epoch seconds")
      ->required()
      ->check(time_check);
  report->add_option("--to", report_args.to, "End (exclusive): ISO 8601 with offset, or epoch seconds")
      ->required()
      ->check(time_check);
  report->add_option("--tz", report_args.tz, "IANA time zone for hours and times (and times given without offset)")
      ->capture_default_str()
      ->check(zone_check);
  report->add_option("--device", report_args.device, "Only this device (default: every device, each on its own)");
  report->add_option("-f,--format", report_args.format, "Output format: md or html")
      ->capture_default_str()
      ->check(CLI::IsMember({"md", "html"}));
  report->add_option("-o,--out", report_args.out, "Write to this file instead of stdout");

  auto* log = app.add_subcommand("log", "Look into the log: stat, tail");
  log->require_subcommand(1);
  auto* stat = with_config(log->add_subcommand("stat", "Shards, segments, offsets, bytes, consumers and their lag"));
  sp::TailOptions tail_options;
  uint32_t shard = 0;
  auto* tail = with_config(log->add_subcommand(
      "tail", "Print records as NDJSON: each shard in offset order, the shards merged by event time"));
  tail->add_option("--stream", tail_options.stream, "Stream: readings or errors")->capture_default_str();
  auto* shard_option = tail->add_option("--shard", shard, "Only this shard");
  tail->add_option("--from", tail_options.from,
                   "latest (the last -n records, none without -n), oldest, OFFSET, after:OFFSET, or a time (UTC "
                   "unless it has an offset). Default: the last -n records, all without -n");
  tail->add_option("-n,--limit", tail_options.limit,
                   "The last N records (no --from, or latest), like tail(1); at most N from any other start")
      ->check(CLI::NonNegativeNumber);
  tail->add_flag("-f,--follow", tail_options.follow, "Then keep printing new records until interrupted");

  std::string replay_stream = "readings", replay_consumer, replay_from;
  auto* replay =
      with_config(app.add_subcommand("replay", "Rewind a consumer so the view it feeds is rebuilt (daemon stopped)"));
  replay->add_option("--stream", replay_stream, "Stream: readings or errors")->capture_default_str();
  replay->add_option("--consumer", replay_consumer, "Consumer, e.g. lake-raw")->required();
  replay
      ->add_option("--from", replay_from,
                   "oldest, latest, OFFSET, after:OFFSET, or a time (UTC unless it has an offset)")
      ->required();

  auto* lake = app.add_subcommand("lake", "Look into the lake: ls");
  lake->require_subcommand(1);
  auto* lake_ls = with_config(lake->add_subcommand("ls", "Partitions, objects, rows, bytes and compaction state"));

  sp::CompactSelection selection;
  auto* compact = with_config(app.add_subcommand("compact", "Compact the lake's due partitions into Parquet now"));
  compact->add_option("--partition", selection.partition,
                      "Only partitions starting with this, e.g. dt=2022-07-14 or dt=2022-07-14/hour=06");
  compact->add_flag("--now", selection.now, "Compact every partition holding raw objects, due or not");

  sp::TrustCommands trust(app);

  auto* config_cmd = app.add_subcommand("config", "About the config file: reference");
  config_cmd->require_subcommand(1);
  auto* reference = config_cmd->add_subcommand(
      "reference", "Print every key with its type, default and meaning (docs/configuration.md)");

  if (auto exit_code = sp::ParseCommandLine(app, argc, argv)) return *exit_code;
  config_named =
      std::any_of(config_options.begin(), config_options.end(), [](CLI::Option* o) { return o->count() > 0; });
  if (auto exit_code = trust.RunIfParsed()) return *exit_code;
  if (reference->parsed()) {
    std::fputs(sp::DaemonSettings().Reference().c_str(), stdout);
    return 0;
  }
  if (stat->parsed() || tail->parsed() || replay->parsed() || lake_ls->parsed() || compact->parsed()) {
    auto config = Load(config_path);
    if (!config.ok()) return Fail(config.status());
    if (lake_ls->parsed()) return sp::LakeList(*config);
    if (compact->parsed()) return sp::CompactNow(*config, selection);
    if (stat->parsed()) return sp::LogStat(*config);
    if (replay->parsed()) return sp::Replay(*config, replay_stream, replay_consumer, replay_from);
    if (*shard_option) tail_options.shard = shard;
    return sp::LogTail(*config, tail_options);
  }

  if (report->parsed()) {
    auto from = sp::ParseReportTime(report_args.from, report_args.tz);
    auto to = sp::ParseReportTime(report_args.to, report_args.tz);
    if (from.ok() && to.ok() && *from >= *to) {
      std::cerr << "--to must be later than --from\n\n" << report->help();
      return 2;
    }
    return Report(config_path, report_args);
  }
  if (run->parsed()) {
    sp::BlockStopSignals();
    return Run(config_path);
  }
  return Query(config_path, format, sql, any_sql);
}
