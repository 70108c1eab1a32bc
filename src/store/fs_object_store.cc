#include "store/fs_object_store.h"

#include <algorithm>

namespace sp {

namespace {
bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
Status CheckKey(const std::string& key) {
  if (key.empty() || key[0] == '/' || key.find("..") != std::string::npos) {
    return Status::InvalidArgument("bad object key '" + key + "'");
  }
  return Status::OK();
}
}  // namespace

Status FsObjectStore::CreateDurableDirs(const std::string& dir) {
  if (env_->FileExists(dir)) return Status::OK();
  const std::string parent = DirName(dir);
  SP_RETURN_IF_ERROR(CreateDurableDirs(parent));
  SP_RETURN_IF_ERROR(env_->CreateDirs(dir));
  return env_->SyncDir(parent);
}

Status FsObjectStore::Put(const std::string& key, std::string_view data) {
  SP_RETURN_IF_ERROR(CheckKey(key));
  const std::string path = JoinPath(root_, key);
  SP_RETURN_IF_ERROR(CreateDurableDirs(DirName(path)));
  // Temp file, fsync, rename, fsync of the folder: readers listing *.ndjson.zst see the whole
  // object or nothing, and once Put returns the object survives a crash.
  return env_->WriteFileAtomic(path, data);
}

Status FsObjectStore::PutFile(const std::string& key, const std::string& local_path) {
  SP_RETURN_IF_ERROR(CheckKey(key));
  const std::string path = JoinPath(root_, key);
  SP_RETURN_IF_ERROR(CreateDurableDirs(DirName(path)));
  // The file's bytes must be on disk before its name is: otherwise a crash after the rename could
  // leave a current catalog entry pointing at an empty or partial file.
  SP_ASSIGN_OR_RETURN(auto file, env_->NewAppendableFile(local_path));
  SP_RETURN_IF_ERROR(file->Sync());
  SP_RETURN_IF_ERROR(file->Close());
  if (!env_->RenameFile(local_path, path).ok()) {
    // Another file system (a tmp folder elsewhere): copy instead.
    SP_ASSIGN_OR_RETURN(std::string data, env_->ReadFile(local_path));
    SP_RETURN_IF_ERROR(env_->WriteFileAtomic(path, data));
    return env_->RemoveFile(local_path);
  }
  return env_->SyncDir(DirName(path));
}

Result<std::string> FsObjectStore::Get(const std::string& key) {
  SP_RETURN_IF_ERROR(CheckKey(key));
  return env_->ReadFile(JoinPath(root_, key));
}

Status FsObjectStore::GetFile(const std::string& key, const std::string& path) {
  SP_ASSIGN_OR_RETURN(std::string data, Get(key));
  SP_ASSIGN_OR_RETURN(auto file, env_->NewWritableFile(path));
  SP_RETURN_IF_ERROR(file->Append(data));
  return file->Close();
}

Result<PinnedFiles> FsObjectStore::Pin(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> paths;
  paths.reserve(objects.size());
  for (const ObjectInfo& o : objects) {
    SP_RETURN_IF_ERROR(CheckKey(o.key));
    paths.push_back(JoinPath(root_, o.key));
  }
  return PinnedFiles(std::move(paths), nullptr);
}

Status FsObjectStore::Walk(const std::string& dir, const std::string& key_prefix, std::vector<ObjectInfo>* out) {
  auto children = env_->GetChildren(dir);
  if (!children.ok()) return children.status().IsNotFound() ? Status::OK() : children.status();
  for (const auto& name : *children) {
    const std::string path = JoinPath(dir, name);
    const std::string key = key_prefix.empty() ? name : key_prefix + "/" + name;
    auto size = env_->GetFileSize(path);
    auto grand = env_->GetChildren(path);
    if (grand.ok()) {
      SP_RETURN_IF_ERROR(Walk(path, key, out));
    } else if (size.ok() && !EndsWith(name, ".tmp")) {
      out->push_back({key, *size});
    }
  }
  return Status::OK();
}

Result<std::vector<ObjectInfo>> FsObjectStore::List(const std::string& prefix) {
  // Walk the deepest folder the prefix names fully, then filter by the whole prefix.
  const size_t slash = prefix.rfind('/');
  const std::string dir_key = slash == std::string::npos ? "" : prefix.substr(0, slash);
  std::vector<ObjectInfo> out;
  SP_RETURN_IF_ERROR(Walk(dir_key.empty() ? root_ : JoinPath(root_, dir_key), dir_key, &out));
  out.erase(std::remove_if(out.begin(), out.end(), [&](const ObjectInfo& o) { return o.key.rfind(prefix, 0) != 0; }),
            out.end());
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status FsObjectStore::Delete(const std::string& key) {
  SP_RETURN_IF_ERROR(CheckKey(key));
  const std::string path = JoinPath(root_, key);
  Status s = env_->RemoveFile(path);
  if (s.IsNotFound()) return Status::OK();
  SP_RETURN_IF_ERROR(s);
  SP_RETURN_IF_ERROR(env_->SyncDir(DirName(path)));
  // Drop partition folders that became empty; a folder still in use refuses, which is fine.
  for (std::string dir = DirName(path); dir.size() > root_.size() && dir.rfind(root_, 0) == 0; dir = DirName(dir)) {
    if (!env_->RemoveDir(dir).ok()) break;
  }
  return Status::OK();
}

}  // namespace sp
