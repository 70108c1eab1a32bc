#include "store/object_cache.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

namespace sp {

namespace {

constexpr const char* kLockName = "LOCK";
constexpr const char* kTmpName = ".tmp";

}  // namespace

// An open file description (OFD) lock on dir/LOCK: shared while the cache is open, exclusive while
// it evicts. Unlike flock, a failed change from shared to exclusive keeps the shared lock (record
// locks check for conflicts before they change anything); unlike classic fcntl locks, it belongs
// to this open file, not to the process, so two caches in one process exclude each other too. The
// kernel drops it when the process dies.
class ObjectCache::FolderLock {
 public:
  static Result<std::unique_ptr<FolderLock>> Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno("open " + path, errno);
    std::unique_ptr<FolderLock> lock(new FolderLock(fd, path));
    SP_RETURN_IF_ERROR(lock->Set(F_RDLCK, /*wait=*/true));
    return lock;
  }
  ~FolderLock() { ::close(fd_); }

  //! True when the lock is now exclusive; false (still shared) when another holder exists.
  bool TryExclusive() { return Set(F_WRLCK, /*wait=*/false).ok(); }
  void Shared() {
    if (Status s = Set(F_RDLCK, /*wait=*/true); !s.ok()) spdlog::error("object cache: {}", s.ToString());
  }

 private:
  FolderLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status Set(short type, bool wait) {
    struct flock fl = {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;  // start 0, length 0: the whole file
    while (::fcntl(fd_, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("lock " + path_, errno);
    }
    return Status::OK();
  }
  const int fd_;
  const std::string path_;
};

ObjectCache::ObjectCache(std::unique_ptr<ObjectStore> remote, Env* env, Metrics* metrics, ObjectCacheOptions options,
                         std::unique_ptr<FolderLock> lock)
    : remote_(std::move(remote)), env_(env), options_(std::move(options)), lock_(std::move(lock)) {
  tmp_seq_ = std::random_device{}();  // two caches of one process write different temporary files
  tmp_seq_ <<= 32;
  if (metrics == nullptr) {
    own_metrics_ = std::make_unique<Metrics>();
    metrics = own_metrics_.get();
  }
  hits_ = metrics->GetCounter("sensorpipe_cache_hits_total", "Objects a reader found in the local object cache.");
  fetches_ = metrics->GetCounter("sensorpipe_cache_fetches_total",
                                 "Objects fetched from the remote store into the local object cache.");
  fetched_bytes_ = metrics->GetCounter("sensorpipe_cache_fetched_bytes_total",
                                       "Bytes fetched from the remote store into the local object cache.");
  evictions_ = metrics->GetCounter("sensorpipe_cache_evictions_total",
                                   "Copies evicted from the local object cache, least recently used first.");
  deferred_ = metrics->GetCounter("sensorpipe_cache_evictions_deferred_total",
                                  "Times the object cache was over its bound while another process had it open, so "
                                  "nothing was evicted.");
  bytes_gauge_ = metrics->GetGauge("sensorpipe_cache_bytes", "Bytes of object copies in the local object cache.");
}

ObjectCache::~ObjectCache() = default;

Result<std::unique_ptr<ObjectCache>> ObjectCache::Open(std::unique_ptr<ObjectStore> remote, Env* env, Metrics* metrics,
                                                       ObjectCacheOptions options) {
  SP_RETURN_IF_ERROR(env->CreateDirs(JoinPath(options.dir, kTmpName)));
  SP_ASSIGN_OR_RETURN(auto lock, FolderLock::Open(JoinPath(options.dir, kLockName)));
  std::unique_ptr<ObjectCache> cache(
      new ObjectCache(std::move(remote), env, metrics, std::move(options), std::move(lock)));
  std::lock_guard l(cache->index_->mu);
  if (cache->lock_->TryExclusive()) {
    // Alone: temporary files are what a process that died mid-fetch left.
    const std::string tmp = JoinPath(cache->options_.dir, kTmpName);
    SP_ASSIGN_OR_RETURN(std::vector<std::string> stale, env->GetChildren(tmp));
    for (const std::string& name : stale) SP_RETURN_IF_ERROR(env->RemoveFile(JoinPath(tmp, name)));
    cache->lock_->Shared();
  }
  SP_RETURN_IF_ERROR(cache->Rescan());
  // Copies fetched longest ago are evicted first: a restart keeps roughly the old order.
  std::vector<std::pair<int64_t, Entry*>> by_age;
  for (auto& [rel, e] : cache->index_->entries) {
    auto mtime = env->GetModificationMicros(JoinPath(cache->options_.dir, rel));
    by_age.emplace_back(mtime.ok() ? *mtime : 0, &e);
  }
  std::sort(by_age.begin(), by_age.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [mtime, e] : by_age) e->last_use = ++cache->index_->tick;
  return cache;
}

Result<std::string> ObjectCache::RelativePath(const std::string& key) const {
  std::string rel = remote_->Locate(key);
  if (const size_t scheme = rel.find("://"); scheme != std::string::npos) rel.erase(0, scheme + 3);
  rel.erase(0, rel.find_first_not_of('/'));
  // One file per object: a key that a path would normalise into another's ("a//b", "a/./b"), out
  // of the folder ("..") or onto the cache's own files cannot be cached. Lake keys are never so.
  const Status bad = Status::InvalidArgument("object key '" + key + "' cannot be cached as a file");
  if (rel == kLockName) return bad;
  for (size_t start = 0; start <= rel.size();) {
    const size_t end = std::min(rel.find('/', start), rel.size());
    const std::string_view segment = std::string_view(rel).substr(start, end - start);
    if (segment.empty() || segment == "." || segment == ".." || (start == 0 && segment == kTmpName)) return bad;
    start = end + 1;
  }
  return rel;
}

uint64_t ObjectCache::bytes() const {
  std::lock_guard l(index_->mu);
  return index_->bytes;
}

void ObjectCache::UpdateGauge() {
  bytes_gauge_->Set(static_cast<double>(index_->bytes));
}

bool ObjectCache::PinIfPresent(const std::string& rel, uint64_t size) {
  // The disk, not only the index: another process may have fetched the copy, or someone emptied
  // the folder by hand.
  auto on_disk = env_->GetFileSize(JoinPath(options_.dir, rel));
  if (!on_disk.ok() || (size != 0 && *on_disk != size)) return false;
  Index& x = *index_;
  Entry& e = x.entries[rel];
  x.bytes = x.bytes - e.size + *on_disk;
  e.size = *on_disk;
  e.last_use = ++x.tick;
  ++e.pins;
  return true;
}

Result<PinnedFiles> ObjectCache::Pin(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> rels, paths;
  for (const ObjectInfo& o : objects) {
    SP_ASSIGN_OR_RETURN(std::string rel, RelativePath(o.key));
    paths.push_back(JoinPath(options_.dir, rel));
    rels.push_back(std::move(rel));
  }
  std::vector<std::string> pinned;
  std::vector<size_t> missing;
  {
    std::lock_guard l(index_->mu);
    for (size_t i = 0; i < objects.size(); ++i) {
      if (PinIfPresent(rels[i], objects[i].size)) {
        pinned.push_back(rels[i]);
      } else {
        missing.push_back(i);
      }
    }
    hits_->Inc(pinned.size());
    UpdateGauge();
  }
  if (!missing.empty()) {
    std::lock_guard fetching(fetch_mu_);
    for (const size_t i : missing) {
      if (Status s = Fetch(objects[i].key, rels[i], objects[i].size); !s.ok()) {
        Unpin(*index_, pinned);
        return s;
      }
      pinned.push_back(rels[i]);
    }
  }
  return PinnedFiles(std::move(paths), [index = std::weak_ptr<Index>(index_), rels = std::move(pinned)] {
    // The cache may be gone (a reader outlived it): then there is nothing to release.
    if (auto x = index.lock()) Unpin(*x, rels);
  });
}

Status ObjectCache::Fetch(const std::string& key, const std::string& rel, uint64_t size) {
  {
    std::lock_guard l(index_->mu);
    if (PinIfPresent(rel, size)) {  // another Pin fetched it while this one waited
      hits_->Inc();
      return Status::OK();
    }
    MakeRoom(size);
  }
  // No lock held: a fetch may take a while, and nobody else writes this temporary file.
  const std::string tmp =
      JoinPath(JoinPath(options_.dir, kTmpName), std::to_string(::getpid()) + "-" + std::to_string(++tmp_seq_));
  const std::string path = JoinPath(options_.dir, rel);
  Status s = [&]() -> Status {
    SP_RETURN_IF_ERROR(remote_->GetFile(key, tmp));
    SP_ASSIGN_OR_RETURN(const uint64_t got, env_->GetFileSize(tmp));
    if (size != 0 && got != size) {
      return Status::Corruption(Locate(key) + " has " + std::to_string(got) + " bytes where the catalog says " +
                                std::to_string(size));
    }
    // Synced before the rename: after a power cut a copy is whole or absent, never a same-sized
    // file of zeros that a later size check would take for the object. The folder is not synced:
    // a copy lost that way is fetched again.
    SP_ASSIGN_OR_RETURN(auto file, env_->NewAppendableFile(tmp));
    SP_RETURN_IF_ERROR(file->Sync());
    SP_RETURN_IF_ERROR(file->Close());
    SP_RETURN_IF_ERROR(env_->CreateDirs(DirName(path)));
    return env_->RenameFile(tmp, path);
  }();
  if (!s.ok()) {
    (void)env_->RemoveFile(tmp);
    return s;
  }
  std::lock_guard l(index_->mu);
  if (!PinIfPresent(rel, 0)) return Status::IOError("object cache: " + path + " vanished right after its fetch");
  fetches_->Inc();
  fetched_bytes_->Inc(index_->entries[rel].size);
  UpdateGauge();
  return Status::OK();
}

void ObjectCache::MakeRoom(uint64_t incoming) {
  Index& x = *index_;
  if (x.bytes + incoming <= options_.max_bytes) return;
  if (!lock_->TryExclusive()) {
    deferred_->Inc();
    return;
  }
  // Alone with the folder: count what other processes fetched into it, then evict.
  if (Status s = Rescan(); !s.ok()) spdlog::warn("object cache: {}", s.ToString());
  std::vector<std::pair<uint64_t, std::string>> unpinned;  // (last use, path)
  for (const auto& [rel, e] : x.entries) {
    if (e.pins == 0) unpinned.emplace_back(e.last_use, rel);
  }
  std::sort(unpinned.begin(), unpinned.end());
  for (const auto& [last_use, rel] : unpinned) {
    if (x.bytes + incoming <= options_.max_bytes) break;
    RemoveCopy(rel);
    evictions_->Inc();
  }
  lock_->Shared();
  UpdateGauge();
}

Status ObjectCache::Rescan() {
  std::map<std::string, Entry> found;
  SP_RETURN_IF_ERROR(Walk("", &found));
  Index& x = *index_;
  x.bytes = 0;
  for (auto& [rel, e] : found) {
    if (auto it = x.entries.find(rel); it != x.entries.end()) {
      e.last_use = it->second.last_use;
      e.pins = it->second.pins;
    }
    x.bytes += e.size;
  }
  x.entries = std::move(found);
  UpdateGauge();
  return Status::OK();
}

Status ObjectCache::Walk(const std::string& rel_dir, std::map<std::string, Entry>* out) {
  auto children = env_->GetChildren(JoinPath(options_.dir, rel_dir));
  if (!children.ok()) return children.status().IsNotFound() ? Status::OK() : children.status();
  for (const std::string& name : *children) {
    if (rel_dir.empty() && (name == kLockName || name == kTmpName)) continue;
    const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
    const std::string path = JoinPath(options_.dir, rel);
    if (env_->GetChildren(path).ok()) {
      SP_RETURN_IF_ERROR(Walk(rel, out));
    } else if (auto size = env_->GetFileSize(path); size.ok()) {
      (*out)[rel].size = *size;
    }
  }
  return Status::OK();
}

void ObjectCache::RemoveCopy(const std::string& rel) {
  const std::string path = JoinPath(options_.dir, rel);
  if (Status s = env_->RemoveFile(path); !s.ok() && !s.IsNotFound()) {
    spdlog::warn("object cache: {}", s.ToString());
    return;
  }
  Index& x = *index_;
  if (auto it = x.entries.find(rel); it != x.entries.end()) {
    x.bytes -= it->second.size;
    x.entries.erase(it);
  }
  // Drop folders that became empty; one still in use refuses, which is fine.
  for (std::string dir = DirName(path); dir.size() > options_.dir.size(); dir = DirName(dir)) {
    if (!env_->RemoveDir(dir).ok()) break;
  }
}

void ObjectCache::Unpin(Index& x, const std::vector<std::string>& rels) {
  std::lock_guard l(x.mu);
  for (const std::string& rel : rels) {
    if (auto it = x.entries.find(rel); it != x.entries.end() && it->second.pins > 0) --it->second.pins;
  }
}

Status ObjectCache::Delete(const std::string& key) {
  SP_RETURN_IF_ERROR(remote_->Delete(key));
  SP_ASSIGN_OR_RETURN(const std::string rel, RelativePath(key));
  std::lock_guard l(index_->mu);
  if (auto it = index_->entries.find(rel); it != index_->entries.end() && it->second.pins > 0) return Status::OK();
  RemoveCopy(rel);  // also a copy another process fetched, which this one never indexed
  UpdateGauge();
  return Status::OK();
}

}  // namespace sp
