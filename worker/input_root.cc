#include "worker/input_root.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

namespace cifs {

namespace {

Status CheckName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return Status::InvalidArgument("the input root names an entry '" + name + "'");
  }
  return Status::Ok();
}

struct FileToPlace {
  Digest digest;
  bool executable;
  std::string path;
};

}  // namespace

Status MaterializeInputRoot(CasClient& cas, FileCache& cache, const re::Digest& root_digest, const std::string& root,
                            std::vector<Digest>* missing) {
  // Directory messages, level by level: one batch per level of the tree.
  std::map<std::string, re::Directory> dirs;  // by hash
  std::vector<Digest> level{{root_digest.hash(), root_digest.size_bytes()}};
  while (!level.empty()) {
    std::vector<Digest> next;
    CIFS_RETURN_IF_ERROR(cas.Fetch(
        level,
        [&](const Digest& d, std::string data) {
          re::Directory dir;
          if (!dir.ParseFromString(data)) return Status::InvalidArgument("directory " + d.ToString() + " is malformed");
          for (const auto& sub : dir.directories()) {
            if (!dirs.count(sub.digest().hash())) next.push_back({sub.digest().hash(), sub.digest().size_bytes()});
          }
          dirs.emplace(d.hash, std::move(dir));
          return Status::Ok();
        },
        missing));
    level.clear();
    for (auto& d : next) {
      if (!dirs.count(d.hash)) level.push_back(std::move(d));
    }
  }

  std::vector<FileToPlace> files;
  std::vector<Digest> contents;
  // Depth first, directories made as they are met.
  std::vector<std::pair<std::string, const re::Directory*>> todo{{root, &dirs.at(root_digest.hash())}};
  while (!todo.empty()) {
    auto [path, dir] = todo.back();
    todo.pop_back();
    for (const auto& f : dir->files()) {
      CIFS_RETURN_IF_ERROR(CheckName(f.name()));
      files.push_back({{f.digest().hash(), f.digest().size_bytes()}, f.is_executable(), path + "/" + f.name()});
    }
    for (const auto& l : dir->symlinks()) {
      CIFS_RETURN_IF_ERROR(CheckName(l.name()));
      if (::symlink(l.target().c_str(), (path + "/" + l.name()).c_str()) < 0) {
        return Status::Internal("cannot make symlink " + l.name() + ": " + std::strerror(errno));
      }
    }
    for (const auto& sub : dir->directories()) {
      CIFS_RETURN_IF_ERROR(CheckName(sub.name()));
      const std::string sub_path = path + "/" + sub.name();
      if (::mkdir(sub_path.c_str(), 0755) < 0) {
        return Status::Internal("cannot make " + sub_path + ": " + std::strerror(errno));
      }
      todo.push_back({sub_path, &dirs.at(sub.digest().hash())});
    }
  }
  // What the cache lacks is fetched in one round of batches, then placed.
  std::vector<const FileToPlace*> later;
  for (const auto& f : files) {
    Status s = cache.Place(f.digest, f.executable, f.path);
    if (s.code() == Status::Code::kNotFound) {
      later.push_back(&f);
      contents.push_back(f.digest);
      continue;
    }
    CIFS_RETURN_IF_ERROR(s);
  }
  if (later.empty()) return Status::Ok();
  CIFS_RETURN_IF_ERROR(cache.Fill(cas, contents, missing));
  for (const FileToPlace* f : later) {
    CIFS_RETURN_IF_ERROR(cache.Place(f->digest, f->executable, f->path));
  }
  return Status::Ok();
}

}  // namespace cifs
