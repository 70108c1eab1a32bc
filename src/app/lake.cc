#include "app/lake.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>

#include "common/time.h"
#include "store/fs_object_store.h"
#include "store/object_cache.h"
#include "store/s3_object_store.h"

namespace sp {

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "sensorpipe: %s\n", std::string(s.message()).c_str());
  return 1;
}

std::string Bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace

Result<Lake> OpenLake(const DaemonConfig& config, Clock* clock, Metrics* metrics) {
  Env* env = Env::Default();
  Lake lake;
  if (config.s3.bucket.empty()) {
    SP_RETURN_IF_ERROR(env->CreateDirs(config.LakeDir()));
    // Absolute, so the paths DuckDB gets and its allowed_directories agree.
    lake.local_dir = AbsolutePath(config.LakeDir());
    lake.store = std::make_unique<FsObjectStore>(env, lake.local_dir);
  } else {
    S3Options o = config.s3;
    ApplyAwsEnvironment(&o);
    // The store's messages name the [s3] key at fault; the file is added here.
    auto s3 = S3ObjectStore::Open(std::move(o), env, metrics);
    if (!s3.ok()) return s3.status().WithContext(config.path);
    if (Status s = (*s3)->Check(); !s.ok()) {
      return s.WithContext(config.path + ": [s3] the lake's bucket cannot be listed");
    }
    SP_RETURN_IF_ERROR(env->CreateDirs(config.cache.dir));
    ObjectCacheOptions cache = config.cache;
    cache.dir = lake.local_dir = AbsolutePath(config.cache.dir);
    SP_ASSIGN_OR_RETURN(lake.store, ObjectCache::Open(std::move(s3).value(), env, metrics, std::move(cache)));
  }
  SP_ASSIGN_OR_RETURN(lake.catalog, OpenSqliteCatalog(config.CatalogPath(), clock));
  return lake;
}

void ExportLakeMetrics(Catalog* catalog, Metrics* metrics) {
  auto by_format = [catalog](bool bytes) {
    std::vector<std::pair<Labels, double>> out;
    auto groups = catalog->CurrentFileGroups("");
    if (!groups.ok()) return out;
    std::map<std::pair<std::string, std::string>, double> sums;
    for (const FileGroup& g : *groups) sums[{g.view, g.format}] += static_cast<double>(bytes ? g.bytes : g.files);
    for (const auto& [key, v] : sums) out.push_back({{{"view", key.first}, {"format", key.second}}, v});
    return out;
  };
  metrics->SetGaugeCallback("sensorpipe_lake_files",
                            "Current lake objects, per view and format (raw NDJSON or "
                            "compacted Parquet).",
                            [by_format] { return by_format(false); });
  metrics->SetGaugeCallback("sensorpipe_lake_bytes", "Bytes of the current lake objects, per view and format.",
                            [by_format] { return by_format(true); });
  metrics->SetGaugeCallback(
      "sensorpipe_compaction_last_committed_timestamp_seconds", "When the latest compaction committed (0: never).",
      [catalog] {
        auto recent = catalog->RecentCompactions(20);
        double t = 0;
        for (const CompactionRecord& c : recent.ok() ? *recent : std::vector<CompactionRecord>{}) {
          if (c.state == "committed") t = std::max(t, c.finished_us / 1e6);
        }
        return std::vector<std::pair<Labels, double>>{{{}, t}};
      });
}

void RemoveLakeMetrics(Metrics* metrics) {
  for (const char* name :
       {"sensorpipe_lake_files", "sensorpipe_lake_bytes", "sensorpipe_compaction_last_committed_timestamp_seconds"}) {
    metrics->RemoveCallback(name);
  }
}

int LakeList(const DaemonConfig& config) {
  auto lake = OpenLake(config, Clock::Default());
  if (!lake.ok()) return Fail(lake.status());
  auto groups = lake->catalog->CurrentFileGroups("");
  if (!groups.ok()) return Fail(groups.status());
  struct Row {
    uint64_t raw = 0, compacted = 0, rows = 0, bytes = 0;
    std::vector<FileGroup> groups;
  };
  std::map<std::pair<std::string, std::string>, Row> by_partition;
  for (FileGroup& g : *groups) {
    Row& r = by_partition[{g.view, g.partition}];
    (g.format == "parquet" ? r.compacted : r.raw) += g.files;
    r.rows += g.records;
    r.bytes += g.bytes;
    r.groups.push_back(std::move(g));
  }
  const int64_t now = Clock::Default()->NowMicros();
  std::printf("%-10s %-24s %5s %9s %12s %11s  %s\n", "VIEW", "PARTITION", "RAW", "COMPACTED", "ROWS", "BYTES", "STATE");
  Row total;
  for (const auto& [key, r] : by_partition) {
    // Rows of raw files may hold duplicates that compaction drops; compacted rows are exact.
    const char* state = key.first != "readings" ? "raw (not compacted)"
                        : CompactionDue(r.groups, now, config.compaction, false) != CompactionScope::kNone ? "due"
                        : r.raw == 0                                                                       ? "compacted"
                        : r.compacted == 0 ? "raw, waiting"
                                           : "compacted + late raw, waiting";
    std::printf("%-10s %-24s %5" PRIu64 " %9" PRIu64 " %12" PRIu64 " %11s  %s\n", key.first.c_str(), key.second.c_str(),
                r.raw, r.compacted, r.rows, Bytes(r.bytes).c_str(), state);
    total.raw += r.raw;
    total.compacted += r.compacted;
    total.rows += r.rows;
    total.bytes += r.bytes;
  }
  std::printf("%-10s %-24s %5" PRIu64 " %9" PRIu64 " %12" PRIu64 " %11s\n", "total",
              (std::to_string(by_partition.size()) + " partitions").c_str(), total.raw, total.compacted, total.rows,
              Bytes(total.bytes).c_str());
  auto recent = lake->catalog->RecentCompactions(5);
  if (!recent.ok()) return Fail(recent.status());
  if (!recent->empty()) std::printf("\nlatest compactions:\n");
  for (const CompactionRecord& c : *recent) {
    std::printf("  #%" PRId64 " %-24s %-9s started %s, %" PRIu64 " files, %" PRIu64 " rows in, %" PRIu64 " out\n", c.id,
                c.partition.c_str(), c.state.c_str(), FormatTimestamp(c.started_us).c_str(), c.input_files,
                c.input_records, c.output_records);
  }
  return 0;
}

int CompactNow(const DaemonConfig& config, const CompactSelection& selection) {
  Clock* clock = Clock::Default();
  auto lake = OpenLake(config, clock);
  if (!lake.ok()) return Fail(lake.status());
  Metrics metrics;
  auto compactor =
      Compactor::Open(lake->catalog.get(), lake->store.get(), Env::Default(), clock, &metrics, config.compaction);
  if (!compactor.ok()) return Fail(compactor.status());
  std::fprintf(stderr, "compacting%s%s (waiting for a running compaction, if any)\n",
               selection.partition.empty() ? "" : " partitions ", selection.partition.c_str());
  auto done = (*compactor)->RunOnce(selection, /*wait=*/true, [](const CompactProgress& p) {
    if (!p.done) {
      std::fprintf(stderr, "[%zu/%zu] %s: %zu files, %" PRIu64 " rows ...\n", p.index, p.total, p.partition.c_str(),
                   p.input_files, p.input_records);
    } else {
      std::fprintf(stderr, "[%zu/%zu] %s: %" PRIu64 " rows written (%" PRIu64 " duplicates dropped) in %.1f s\n",
                   p.index, p.total, p.partition.c_str(), p.output_records, p.input_records - p.output_records,
                   p.elapsed_us / 1e6);
    }
  });
  if (!done.ok()) return Fail(done.status());
  std::fprintf(stderr, "%zu partitions compacted\n", *done);
  return 0;
}

}  // namespace sp
