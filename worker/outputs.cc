#include "worker/outputs.h"

#include "worker/beneath.h"

#include "common/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cifs {

namespace {

re::Digest ToProto(const Digest& d) {
  re::Digest out;
  out.set_hash(d.hash);
  out.set_size_bytes(d.size);
  return out;
}

// A regular file's digest, queued for upload (`Node` is a FileNode or an
// OutputFile: the same three fields).
template <typename Node>
Status AddFile(const std::string& path, const struct stat& st, Node* node, std::vector<UploadBlob>* uploads) {
  auto d = ComputeFileDigest(path);
  if (!d.ok()) return d.status();
  *node->mutable_digest() = ToProto(*d);
  node->set_is_executable(st.st_mode & S_IXUSR);
  uploads->push_back({*d, "", path});
  return Status::Ok();
}

Result<std::string> ReadLink(const std::string& path) {
  std::string buf(4096, '\0');
  ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  if (n < 0) return Status::Internal("cannot read link " + path + ": " + std::strerror(errno));
  buf.resize(static_cast<size_t>(n));
  return buf;
}

// The Directory message of `path`, its subdirectories appended to `children`.
Result<re::Directory> DirectoryOf(const std::string& path, std::vector<re::Directory>* children,
                                  std::vector<UploadBlob>* uploads) {
  auto listed = ListDirNames(path);
  if (!listed.ok()) return Status::Internal("cannot list output " + path + ": " + listed.status().message());
  std::vector<std::string> names = std::move(*listed);
  std::sort(names.begin(), names.end());
  re::Directory out;
  for (const auto& name : names) {
    const std::string p = path + "/" + name;
    struct stat st;
    if (::lstat(p.c_str(), &st) < 0) continue;
    if (S_ISREG(st.st_mode)) {
      auto* f = out.add_files();
      f->set_name(name);
      CIFS_RETURN_IF_ERROR(AddFile(p, st, f, uploads));
    } else if (S_ISLNK(st.st_mode)) {
      auto target = ReadLink(p);
      if (!target.ok()) return target.status();
      auto* l = out.add_symlinks();
      l->set_name(name);
      l->set_target(*target);
    } else if (S_ISDIR(st.st_mode)) {
      auto sub = DirectoryOf(p, children, uploads);
      if (!sub.ok()) return sub.status();
      std::string bytes = sub->SerializeAsString();
      auto* d = out.add_directories();
      d->set_name(name);
      *d->mutable_digest() = ToProto(ComputeDigest(bytes));
      children->push_back(std::move(*sub));
    }
  }
  return out;
}

}  // namespace

namespace {

// The parent of `rel` holds no symlink on the way down from the workdir.
bool ParentIsReal(int workdir_fd, const std::string& rel) {
  auto slash = rel.rfind('/');
  if (slash == std::string::npos) return true;
  return OpenDirBeneath(workdir_fd, rel.substr(0, slash), false).ok();
}

}  // namespace

Status CollectOutputs(const re::Command& command, const std::string& workdir, int workdir_fd,
                      re::ActionResult* result, std::vector<UploadBlob>* uploads) {
  for (const auto& rel : command.output_files()) {
    const std::string p = workdir + "/" + rel;
    struct stat st;
    // Bazel reports what is missing.
    if (!ParentIsReal(workdir_fd, rel) || ::lstat(p.c_str(), &st) < 0) continue;
    if (S_ISREG(st.st_mode)) {
      auto* f = result->add_output_files();
      f->set_path(rel);
      CIFS_RETURN_IF_ERROR(AddFile(p, st, f, uploads));
    } else if (S_ISLNK(st.st_mode)) {
      auto target = ReadLink(p);
      if (!target.ok()) return target.status();
      auto* l = result->add_output_file_symlinks();
      l->set_path(rel);
      l->set_target(*target);
    }
  }
  for (const auto& rel : command.output_directories()) {
    const std::string p = workdir + "/" + rel;
    struct stat st;
    if (!ParentIsReal(workdir_fd, rel) || ::lstat(p.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
    re::Tree tree;
    std::vector<re::Directory> children;
    auto root = DirectoryOf(p, &children, uploads);
    if (!root.ok()) return root.status();
    *tree.mutable_root() = std::move(*root);
    for (auto& c : children) *tree.add_children() = std::move(c);
    std::string bytes = tree.SerializeAsString();
    Digest d = ComputeDigest(bytes);
    auto* o = result->add_output_directories();
    o->set_path(rel);
    *o->mutable_tree_digest() = ToProto(d);
    uploads->push_back({d, std::move(bytes), ""});
  }
  return Status::Ok();
}

}  // namespace cifs
