#include "worker/file_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>
#include <tuple>

#include "common/files.h"
#include "common/unique_fd.h"

namespace cifs {

namespace fs = std::filesystem;

namespace {

Status WriteNew(const std::string& path, const std::string& data, int mode) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return Status::Internal("cannot create " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Status::ResourceExhausted("cannot write " + tmp + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), mode) < 0 || ::rename(tmp.c_str(), path.c_str()) < 0) {
    return Status::Internal("cannot store " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::string FileCache::PathOf(const Digest& d, bool executable) const {
  return dir_ + "/" + d.hash.substr(0, 2) + "/" + d.hash + "-" + std::to_string(d.size) + (executable ? "x" : "");
}

Status FileCache::Fill(CasClient& cas, const std::vector<Digest>& need, std::vector<Digest>* missing) {
  std::vector<Digest> fetch;
  std::set<std::string> seen;
  for (const auto& d : need) {
    if (seen.insert(d.hash).second && !Exists(PathOf(d, false))) fetch.push_back(d);
  }
  return cas.Fetch(fetch, [&](const Digest& d, std::string data) { return Store(d, data); }, missing);
}

Status FileCache::Store(const Digest& d, const std::string& data) {
  const std::string path = PathOf(d, false);
  CIFS_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.rfind('/')), 0700));
  CIFS_RETURN_IF_ERROR(WriteNew(path, data, 0444));
  Used(path, data.size());
  return Status::Ok();
}

void FileCache::Load() {
  std::vector<std::tuple<struct timespec, std::string, uint64_t>> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st;
    const std::string path = it->path().string();
    if (::lstat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
    if (path.ends_with(".tmp")) {  // a write a killed process did not finish
      ::unlink(path.c_str());
      continue;
    }
    found.emplace_back(st.st_mtim, path, static_cast<uint64_t>(st.st_size));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    const auto& x = std::get<0>(a);
    const auto& y = std::get<0>(b);
    return x.tv_sec != y.tv_sec ? x.tv_sec < y.tv_sec : x.tv_nsec < y.tv_nsec;
  });
  for (const auto& [mtime, path, size] : found) Used(path, size);
}

void FileCache::Used(const std::string& path, uint64_t size) {
  if (auto it = index_.find(path); it != index_.end()) {
    lru_.splice(lru_.end(), lru_, it->second);
    return;
  }
  lru_.emplace_back(path, size);
  index_[path] = std::prev(lru_.end());
  bytes_ += size;
}

void FileCache::Evict(const std::string& path) {
  ::unlink(path.c_str());
  auto it = index_.find(path);
  if (it == index_.end()) return;
  bytes_ -= it->second->second;
  lru_.erase(it->second);
  index_.erase(it);
}

int FileCache::Trim() {
  int evicted = 0;
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    Evict(std::string(lru_.front().first));
    evicted++;
  }
  return evicted;
}

Status FileCache::Place(const Digest& d, bool executable, const std::string& path) {
  const std::string cached = PathOf(d, executable);
  // Linked first, checked after: on a warm cache that is one call per file.
  if (::link(cached.c_str(), path.c_str()) < 0) {
    if (errno == ENOENT) {
      if (!executable || !Exists(PathOf(d, false))) return Status::NotFound("not cached: " + d.ToString());
      // Its own inode: chmod of a shared one would make every link executable.
      auto data = ReadFile(PathOf(d, false));
      if (!data.ok()) return data.status();
      CIFS_RETURN_IF_ERROR(WriteNew(cached, *data, 0555));
      Used(cached, data->size());
      return Place(d, executable, path);
    }
    if (errno != EMLINK && errno != EXDEV) {
      return Status::Internal("cannot link " + path + ": " + std::strerror(errno));
    }
    auto data = ReadFile(cached);
    if (!data.ok()) return data.status();
    return WriteNew(path, *data, executable ? 0555 : 0444);
  }
  struct stat st;
  if (::lstat(cached.c_str(), &st) == 0) {
    handed_[cached] = st.st_ctim;
    Used(cached, static_cast<uint64_t>(st.st_size));
  }
  return Status::Ok();
}

int FileCache::Check() {
  int evicted = 0;
  for (const auto& [path, ctime] : handed_) {
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) continue;
    // Placing links moves ctime too, but every Place ran before the action.
    if (st.st_ctim.tv_sec != ctime.tv_sec || st.st_ctim.tv_nsec != ctime.tv_nsec) {
      Evict(path);
      evicted++;
    }
  }
  handed_.clear();
  return evicted;
}

}  // namespace cifs
