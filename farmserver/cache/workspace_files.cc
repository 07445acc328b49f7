#include "farmserver/cache/workspace_files.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/files.h"
#include "common/unique_fd.h"

namespace cifs {

namespace {

int64_t Ns(const struct timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

}  // namespace

void WorkspaceFileIndex::Remember(const Digest& digest, std::string path, const struct stat& st) {
  std::lock_guard lock(mu_);
  if (by_hash_.size() >= kMaxEntries) by_hash_.clear();
  by_hash_[digest.hash] = {std::move(path), st.st_dev, st.st_ino, st.st_size, Ns(st.st_mtim), Ns(st.st_ctim)};
}

std::optional<WorkspaceFileIndex::Seen> WorkspaceFileIndex::Find(const Digest& digest) {
  std::lock_guard lock(mu_);
  auto it = by_hash_.find(digest.hash);
  if (it == by_hash_.end() || it->second.size != digest.size) return std::nullopt;
  return it->second;
}

bool WorkspaceFileIndex::Same(const Seen& seen, const struct stat& st) {
  return S_ISREG(st.st_mode) && st.st_dev == seen.dev && st.st_ino == seen.ino && st.st_size == seen.size &&
         Ns(st.st_mtim) == seen.mtime_ns && Ns(st.st_ctim) == seen.ctime_ns;
}

void WorkspaceFileIndex::Forget(const Digest& digest) {
  std::lock_guard lock(mu_);
  by_hash_.erase(digest.hash);
}

bool WorkspaceFileIndex::Has(const Digest& digest) {
  auto seen = Find(digest);
  if (!seen) return false;
  struct stat st;
  if (::lstat(seen->path.c_str(), &st) == 0 && Same(*seen, st)) return true;
  Forget(digest);
  return false;
}

std::optional<std::string> WorkspaceFileIndex::Read(const Digest& digest) {
  auto seen = Find(digest);
  if (!seen) return std::nullopt;
  UniqueFd fd(::open(seen->path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st;
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !Same(*seen, st)) {
    Forget(digest);
    return std::nullopt;
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  if (PreadFull(fd.get(), data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()) ||
      ComputeDigest(data).hash != digest.hash) {
    Forget(digest);
    return std::nullopt;
  }
  return data;
}

std::vector<size_t> WorkspaceFilesStore::FindMissing(const std::vector<DigestRef>& digests) {
  std::vector<size_t> missing = base()->FindMissing(digests);
  std::vector<size_t> out;
  for (size_t i : missing) {
    Digest d{std::string(digests[i].hash), digests[i].size};
    if (!files_->Has(d)) out.push_back(i);
  }
  return out;
}

bool WorkspaceFilesStore::Contains(const Digest& digest) {
  return base()->Contains(digest) || files_->Has(digest);
}

bool WorkspaceFilesStore::Ingest(const Digest& digest) {
  auto data = files_->Read(digest);
  return data && base()->Put(digest, *data).ok();
}

Result<std::string> WorkspaceFilesStore::Get(const Digest& digest) {
  auto data = base()->Get(digest);
  if (data.ok() || data.status().code() != Status::Code::kNotFound) return data;
  auto file = files_->Read(digest);
  if (!file) return data.status();
  if (Status s = base()->Put(digest, *file); !s.ok()) return s;
  return *file;
}

Result<std::unique_ptr<BlobReader>> WorkspaceFilesStore::OpenRead(const Digest& digest) {
  auto reader = base()->OpenRead(digest);
  if (reader.ok() || reader.status().code() != Status::Code::kNotFound || !Ingest(digest)) return reader;
  return base()->OpenRead(digest);
}

}  // namespace cifs
