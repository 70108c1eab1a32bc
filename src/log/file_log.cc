// The embedded log's entry point: OpenFileLog, the FileLog that holds the streams, and opening a
// stream (its STREAM file, recovery of each shard, the background thread). The other parts are
// named in file_log_internal.h.
#include "log/file_log.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "common/thread_name.h"
#include "log/file_log_internal.h"

namespace sp {
namespace file_log {

Status FileStream::Open(uint32_t configured_shards) {
  const std::string meta_path = JoinPath(dir_, "STREAM");
  if (options_.read_only && !env_->FileExists(meta_path)) return Status::NotFound("no stream " + name_ + " in " + dir_);
  if (!options_.read_only) SP_RETURN_IF_ERROR(env_->CreateDirs(dir_));
  uint32_t shards = configured_shards;
  if (env_->FileExists(meta_path)) {
    SP_ASSIGN_OR_RETURN(std::string meta, env_->ReadFile(meta_path));
    unsigned stored = 0;
    if (std::sscanf(meta.c_str(), "sensorpipe-stream 1\nshards %u", &stored) != 1 || stored == 0) {
      return Status::Corruption(meta_path + " is not a stream description");
    }
    if (stored != configured_shards && !options_.read_only) {
      spdlog::warn("log: stream {} keeps its {} shards (the config asks for {})", name_, stored, configured_shards);
    }
    shards = stored;
  } else {
    SP_RETURN_IF_ERROR(
        env_->WriteFileAtomic(meta_path, "sensorpipe-stream 1\nshards " + std::to_string(shards) + "\n"));
    SP_RETURN_IF_ERROR(env_->SyncDir(DirName(dir_)));
  }
  shards_.resize(shards);
  for (uint32_t i = 0; i < shards; ++i) {
    shards_[i].dir = JoinPath(dir_, ShardDirName(i));
    SP_RETURN_IF_ERROR(RecoverShard(i));
  }
  if (options_.read_only) return Status::OK();
  SP_RETURN_IF_ERROR(env_->CreateDirs(JoinPath(dir_, "consumers")));
  SP_RETURN_IF_ERROR(EnforceRetention());
  const bool interval = options_.fsync.kind == FsyncPolicy::Kind::kInterval;
  if (interval || options_.retention_ms > 0 || options_.retention_bytes > 0) {
    housekeeping_ = std::thread([this] {
      NameThisThread("sp-log");
      Housekeeping();
    });
  }
  return Status::OK();
}

std::vector<ShardStats> FileStream::Stats() const {
  std::lock_guard lock(mu_);
  std::vector<ShardStats> out;
  for (uint32_t i = 0; i < shards_.size(); ++i) {
    const Shard& s = shards_[i];
    ShardStats st;
    st.shard = i;
    st.oldest_offset = s.segments.empty() ? s.published_end : s.segments.front().base;
    st.end_offset = s.published_end;
    st.segments = s.segments.size();
    for (const auto& seg : s.segments) st.bytes += seg.index.size();
    out.push_back(st);
  }
  return out;
}

namespace {

class FileLog final : public Log {
 public:
  FileLog(Env* env, Clock* clock, Metrics* metrics, FileLogOptions options)
      : env_(env), clock_(clock), metrics_(metrics), options_(std::move(options)) {
    m_.segments_deleted =
        metrics->GetCounter("sensorpipe_log_segments_deleted_total", "Segments deleted by retention (age or size).");
    m_.appended_bytes =
        metrics->GetCounter("sensorpipe_log_appended_bytes_total", "Bytes of batches appended to the log.");
    m_.syncs = metrics->GetCounter("sensorpipe_log_syncs_total", "fdatasync calls made by the log.");
    m_.recovered_bytes =
        metrics->GetCounter("sensorpipe_log_recovered_bytes_total", "Bytes of torn or corrupt log tails cut at open.");
    m_.corrupt_batches = metrics->GetCounter("sensorpipe_log_corrupt_batches_total",
                                             "Damaged batches found in sealed segments and skipped by readers.");
    metrics->SetGaugeCallback("sensorpipe_consumer_lag_records", "Records appended but not yet read, per consumer.",
                              [this] {
                                std::vector<std::pair<Labels, double>> out;
                                std::lock_guard lock(mu_);
                                for (const auto& [name, stream] : streams_) {
                                  for (auto& [consumer, lag] : stream->Lags()) {
                                    out.push_back({{{"stream", name}, {"consumer", consumer}}, lag});
                                  }
                                }
                                return out;
                              });
  }
  ~FileLog() override { metrics_->RemoveCallback("sensorpipe_consumer_lag_records"); }

  Result<std::vector<std::string>> ListStreams() override {
    SP_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->GetChildren(options_.dir));
    std::vector<std::string> out;
    for (const auto& n : names) {
      if (ValidName(n) && env_->FileExists(JoinPath(JoinPath(options_.dir, n), "STREAM"))) out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<Stream*> OpenStream(const std::string& name) override {
    if (!ValidName(name)) return Status::InvalidArgument("bad stream name '" + name + "'");
    std::lock_guard lock(mu_);
    auto it = streams_.find(name);
    if (it != streams_.end()) return it->second.get();
    // A stream's own durability policy, when the config names one, else the log's.
    FileLogOptions options = options_;
    if (auto it = options_.stream_fsync.find(name); it != options_.stream_fsync.end()) options.fsync = it->second;
    auto stream = std::make_unique<FileStream>(env_, clock_, JoinPath(options_.dir, name), name, options, m_);
    SP_RETURN_IF_ERROR(stream->Open(options_.shards));
    Stream* raw = stream.get();
    streams_.emplace(name, std::move(stream));
    return raw;
  }

 private:
  Env* env_;
  Clock* clock_;
  Metrics* metrics_;
  const FileLogOptions options_;
  LogMetrics m_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<FileStream>> streams_;
};

}  // namespace
}  // namespace file_log

Result<std::unique_ptr<Log>> OpenFileLog(Env* env, Clock* clock, Metrics* metrics, FileLogOptions options) {
  if (options.shards == 0) return Status::InvalidArgument("a stream needs at least one shard");
  if (options.read_only) {
    if (!env->FileExists(options.dir)) return Status::NotFound("no log in " + options.dir);
  } else {
    SP_RETURN_IF_ERROR(env->CreateDirs(options.dir));
  }
  return std::unique_ptr<Log>(new file_log::FileLog(env, clock, metrics, std::move(options)));
}

}  // namespace sp
