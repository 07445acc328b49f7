#include "farmserver/fs/fs_service.h"

#include <algorithm>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "farmserver/fs/tree_walk.h"
#include "common/digest.h"
#include "common/files.h"
#include "common/rel_path.h"

namespace cifs {
namespace {

constexpr size_t kChunkBytes = 1 << 20;
// Fetch answers stay below gRPC's 4 MiB message limit; what does not fit is
// left out and the mount asks again.
constexpr int64_t kFetchBudgetBytes = 3 * (1 << 20) + (1 << 19);
// A burst bigger than this (a checkout of another release) is sent as a
// reset: cheaper for the mount than one invalidation per path.
constexpr size_t kMaxChangesPerBatch = 20000;
constexpr std::chrono::milliseconds kWatchPoll{1000};
// ListTree: entries per streamed message (about 200 bytes each), and
// patterns per request.
constexpr int kTreeChunkEntries = 1024;
constexpr int kMaxGlobs = 64;
constexpr std::chrono::seconds kTreeChunkEvery{1};
// Threads listing one ListTree's subtree.
constexpr int kTreeListers = 2;
// Files read ahead of the one being hashed in a listing.
constexpr size_t kReadAheadFiles = 16;

timespec ToTimespec(bool set, bool now, int64_t ns) {
  if (now) return {0, UTIME_NOW};
  if (!set) return {0, UTIME_OMIT};
  return NsToTimespec(ns);
}

}  // namespace

Result<std::shared_ptr<OpenWorkspace>> WorkspaceFsService::Authorize(
    const grpc::ServerContext* ctx, const std::string& workspace, std::initializer_list<std::string_view> paths) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return id.status();
  auto ws = registry_->Get(workspace);
  if (!ws.ok()) return ws.status();
  if (id->name != (*ws)->owner && id->role != Role::kAdmin) {
    return Status::PermissionDenied("workspace '" + workspace + "' belongs to " + (*ws)->owner +
                                    "; only its owner or an admin may use it");
  }
  for (std::string_view p : paths) CIFS_RETURN_IF_ERROR(ValidateWorkspacePath(p));
  return ws;
}

void WorkspaceFsService::Made(OpenWorkspace& ws, std::string_view path, int err, v1::EntryResponse* resp) {
  resp->set_mutation(++ws.mutations);
  resp->set_error(err != 0 ? err : hasher_.FullAttr(*ws.dir, path, resp->mutable_attr()));
}

void WorkspaceFsService::Changed(OpenWorkspace& ws, int err, v1::ChangeResponse* resp) {
  resp->set_mutation(++ws.mutations);
  resp->set_error(err);
}

grpc::Status WorkspaceFsService::Attach(grpc::ServerContext* ctx, const v1::AttachRequest* req,
                                        v1::AttachResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {});
  if (!ws.ok()) return ToGrpc(ws.status());
  Status watched = (*ws)->EnsureWatched();
  if (!watched.ok()) return ToGrpc(watched);
  if (int e = hasher_.FullAttr(*(*ws)->dir, "", resp->mutable_root())) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "cannot stat the workspace: " + std::string(strerror(e)));
  }
  resp->set_epoch((*ws)->journal.epoch());
  resp->set_seq((*ws)->journal.seq());
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::Lookup(grpc::ServerContext* ctx, const v1::PathRequest* req,
                                        v1::EntryResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  resp->set_error(hasher_.FullAttr(*(*ws)->dir, req->path(), resp->mutable_attr()));
  return grpc::Status::OK;
}

int WorkspaceFsService::ListDir(const WorkspaceDir& dir, const std::string& path,
                                const std::function<int64_t(const std::string&)>& hash_limit, v1::Attr* dir_attr,
                                google::protobuf::RepeatedPtrField<v1::Entry>* out) {
  UniqueFd fd;
  if (int e = dir.OpenDir(path, &fd)) return e;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno;
  FillAttr(st, dir_attr);
  DIR* d = ::fdopendir(fd.get());
  if (d == nullptr) return errno;
  fd.release();  // the DIR owns it now
  std::unique_ptr<DIR, int (*)(DIR*)> owned(d, ::closedir);
  struct Named {
    std::string name;
    int64_t limit;
    bool regular;
  };
  std::vector<Named> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string n(name);
    int64_t limit = hash_limit(JoinRelPath(path, n));
    names.push_back({std::move(n), limit, e->d_type == DT_REG});
  }
  // In name order, as a mount lists them and git keeps its index: a walk or
  // a git status through a mount then meets directories in the order a
  // listing ahead sends them.
  std::sort(names.begin(), names.end(), [](const Named& a, const Named& b) { return a.name < b.name; });
  // Files about to be hashed are read ahead a few at a time: the disk then
  // fetches the next ones while this thread hashes (a cold prefetch is
  // otherwise one read at a time).
  size_t ahead = 0;
  auto read_ahead_to = [&](size_t end) {
    for (; ahead < std::min(end, names.size()); ++ahead) {
      if (!names[ahead].regular || names[ahead].limit <= 0) continue;
      UniqueFd f(::openat(::dirfd(d), names[ahead].name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      if (f.valid()) (void)::posix_fadvise(f.get(), 0, 0, POSIX_FADV_WILLNEED);
    }
  };
  for (size_t i = 0; i < names.size(); ++i) {
    read_ahead_to(i + kReadAheadFiles);
    v1::Entry entry;
    entry.set_name(std::move(names[i].name));
    // Hashing is what makes a cold listing slow (it reads every file), so
    // only what was asked for is hashed here. Gone between readdir and stat
    // (a concurrent delete): left out.
    if (hasher_.FullAttrAt(::dirfd(d), entry.name(), entry.mutable_attr(), names[i].limit) != 0) continue;
    *out->Add() = std::move(entry);
  }
  return 0;
}

grpc::Status WorkspaceFsService::ReadDir(grpc::ServerContext* ctx, const v1::ReadDirRequest* req,
                                         v1::ReadDirResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  int64_t limit = req->hash_limit_bytes();
  resp->set_error(ListDir(*(*ws)->dir, req->path(), [limit](const std::string&) { return limit; },
                          resp->mutable_dir(), resp->mutable_entries()));
  if (resp->error() != 0) resp->clear_entries();
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::ListTree(grpc::ServerContext* ctx, const v1::ListTreeRequest* req,
                                          grpc::ServerWriter<v1::ListTreeChunk>* writer) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  if (req->globs_size() > kMaxGlobs) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "at most " + std::to_string(kMaxGlobs) + " patterns");
  }
  for (const auto& g : req->globs()) {
    if (g.empty() || g.size() > kMaxWorkspacePath) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "an empty or over-long pattern");
    }
  }
  if (req->skip_size() > kMaxGlobs) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "at most " + std::to_string(kMaxGlobs) + " subtrees to skip");
  }
  for (const auto& s : req->skip()) {
    if (Status valid = ValidateWorkspacePath(s); !valid.ok()) return ToGrpc(valid);
  }
  auto hash_limit = [req](const std::string& path) -> int64_t {
    if (req->listing_only() || !MatchesAnyGlob(req->globs(), path)) return 0;  // only a hash the farm remembers
    for (const auto& s : req->skip()) {
      if (RelPathWithin(path, s)) return 0;
    }
    return INT64_MAX;
  };
  v1::ListTreeChunk chunk;
  int entries = 0;
  auto last_write = std::chrono::steady_clock::now();
  auto list = [&](const std::string& path, v1::TreeDir* dir) {
    return ListDir(*(*ws)->dir, path, hash_limit, dir->mutable_dir(), dir->mutable_entries());
  };
  auto emit = [&](v1::TreeDir dir) {
    entries += dir.entries_size() + 1;
    *chunk.add_dirs() = std::move(dir);
    // Sent when full, and at least every second: the mount takes a silent
    // stream for a farm that went away.
    if (entries >= kTreeChunkEntries || std::chrono::steady_clock::now() - last_write > kTreeChunkEvery) {
      if (!writer->Write(chunk)) return false;
      chunk.Clear();
      entries = 0;
      last_write = std::chrono::steady_clock::now();
    }
    return true;
  };
  int e = TreeWalk::Run(req->path(), TreeWalkOptions{kTreeListers}, list, emit, [&] { return !ctx->IsCancelled(); });
  if (e == ECANCELED) return grpc::Status::CANCELLED;
  if (e != 0) {
    chunk.Clear();
    chunk.set_error(e);
    writer->Write(chunk);
    return grpc::Status::OK;
  }
  if (chunk.dirs_size() > 0 && !writer->Write(chunk)) return grpc::Status::CANCELLED;
  return grpc::Status::OK;
}

int WorkspaceFsService::ReadBlob(OpenWorkspace& ws, const v1::FetchRequest::Item& item, std::string* data) {
  Digest digest{item.hash(), item.size()};
  if (store_->Contains(digest)) {
    auto blob = store_->Get(digest);
    if (blob.ok()) {
      *data = std::move(*blob);
      return 0;
    }
  }
  UniqueFd fd;
  if (int e = ws.dir->OpenFile(item.path(), O_RDONLY, 0, &fd)) return e == ENOENT ? ESTALE : e;
  // A file version hashed already (the listing that named this hash) is
  // not hashed again: it is that version if the hasher remembers this hash
  // for its size and times both before and after the read (it leaves out
  // files changed within the racy window).
  auto hashed_version = [&] {
    struct stat st;
    std::string known;
    return ::fstat(fd.get(), &st) == 0 && hasher_.Known(st, &known) && known == item.hash();
  };
  bool hashed_before = hashed_version();
  data->resize(static_cast<size_t>(item.size()) + 1);
  size_t got = 0;
  while (got < data->size()) {
    ssize_t n = ::read(fd.get(), data->data() + got, data->size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  data->resize(got);
  if (static_cast<int64_t>(got) != item.size()) return ESTALE;
  if (hashed_before && hashed_version()) return 0;
  Sha256 sha;
  sha.Update(*data);
  if (sha.FinishHex() != item.hash()) return ESTALE;
  return 0;
}

grpc::Status WorkspaceFsService::Fetch(grpc::ServerContext* ctx, const v1::FetchRequest* req,
                                       v1::FetchResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {});
  if (!ws.ok()) return ToGrpc(ws.status());
  int64_t budget = kFetchBudgetBytes;
  for (const auto& item : req->items()) {
    Status valid = ValidateDigest(item.hash(), item.size());
    if (valid.ok()) valid = ValidateWorkspacePath(item.path());
    if (!valid.ok()) return ToGrpc(valid);
    if (item.size() > budget) {
      if (resp->blobs_size() == 0 && item.size() > kFetchBudgetBytes) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "blob too large for Fetch: use ReadFile");
      }
      break;
    }
    auto* blob = resp->add_blobs();
    blob->set_hash(item.hash());
    blob->set_error(ReadBlob(**ws, item, blob->mutable_data()));
    if (blob->error() != 0) blob->clear_data();
    budget -= item.size();
  }
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::ReadFile(grpc::ServerContext* ctx, const v1::ReadFileRequest* req,
                                          grpc::ServerWriter<v1::ReadFileChunk>* writer) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  if (req->offset() < 0 || req->limit() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "negative offset or limit");
  }
  v1::ReadFileChunk chunk;
  auto fail = [&](int e) {
    chunk.Clear();
    chunk.set_error(e);
    writer->Write(chunk);
    return grpc::Status::OK;
  };
  if (req->kept() != 0) {
    std::string data;
    size_t want = static_cast<size_t>(std::min<int64_t>(req->limit(), static_cast<int64_t>(kChunkBytes)));
    if (int e = (*ws)->kept.Read(req->kept(), req->offset(), want, &data)) return fail(e);
    chunk.set_data(std::move(data));
    writer->Write(chunk);
    return grpc::Status::OK;
  }
  if (!req->hash().empty()) {
    Status valid = ValidateDigest(req->hash(), 0);
    if (!valid.ok()) return ToGrpc(valid);
  }
  UniqueFd fd;
  if (int e = (*ws)->dir->OpenFile(req->path(), O_RDONLY, 0, &fd)) return fail(e);
  bool whole = !req->hash().empty();
  int64_t offset = whole ? 0 : req->offset();
  int64_t end = whole ? INT64_MAX : req->offset() + req->limit();
  Sha256 sha;
  std::string buf;
  while (offset < end && !ctx->IsCancelled()) {
    buf.resize(static_cast<size_t>(std::min<int64_t>(kChunkBytes, end - offset)));
    ssize_t n = ::pread(fd.get(), buf.data(), buf.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno);
    if (n == 0) break;
    buf.resize(static_cast<size_t>(n));
    if (whole) sha.Update(buf);
    offset += n;
    chunk.Clear();
    chunk.set_data(buf);
    if (!writer->Write(chunk)) return grpc::Status::CANCELLED;
  }
  // The file changed under the stream: what was sent is not that blob.
  if (whole && sha.FinishHex() != req->hash()) return fail(ESTALE);
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::Create(grpc::ServerContext* ctx, const v1::CreateRequest* req,
                                        v1::EntryResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  UniqueFd fd;
  Made(**ws, req->path(), (*ws)->dir->CreateFile(req->path(), req->mode() & 07777, req->exclusive(), &fd), resp);
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::Mkdir(grpc::ServerContext* ctx, const v1::CreateRequest* req,
                                       v1::EntryResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  Made(**ws, req->path(), (*ws)->dir->Mkdir(req->path(), req->mode() & 07777), resp);
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::Symlink(grpc::ServerContext* ctx, const v1::SymlinkRequest* req,
                                         v1::EntryResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  if (req->target().empty() || req->target().size() >= 4096 || req->target().find('\0') != std::string::npos) {
    resp->set_error(req->target().empty() ? ENOENT : ENAMETOOLONG);
    return grpc::Status::OK;
  }
  Made(**ws, req->path(), (*ws)->dir->Symlink(req->path(), req->target()), resp);
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::Unlink(grpc::ServerContext* ctx, const v1::PathRequest* req,
                                        v1::ChangeResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  UniqueFd keep;
  // Not a regular file there (or none): nothing to keep, the unlink says why.
  if (req->keep()) (void)(*ws)->dir->OpenFile(req->path(), O_RDONLY, 0, &keep);
  int e = (*ws)->dir->Unlink(req->path());
  Changed(**ws, e, resp);
  if (e == 0 && keep.valid()) resp->set_kept((*ws)->kept.Keep(std::move(keep)));
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::Rmdir(grpc::ServerContext* ctx, const v1::PathRequest* req,
                                       v1::ChangeResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  Changed(**ws, (*ws)->dir->Rmdir(req->path()), resp);
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::Rename(grpc::ServerContext* ctx, const v1::RenameRequest* req,
                                        v1::ChangeResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {req->from(), req->to()});
  if (!ws.ok()) return ToGrpc(ws.status());
  if (req->flags() & ~static_cast<uint32_t>(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
    resp->set_error(EINVAL);
    return grpc::Status::OK;
  }
  UniqueFd keep;
  if (req->keep_replaced() && !(req->flags() & RENAME_EXCHANGE)) {
    (void)(*ws)->dir->OpenFile(req->to(), O_RDONLY, 0, &keep);  // none there: nothing replaced
  }
  int e = (*ws)->dir->Rename(req->from(), req->to(), req->flags());
  Changed(**ws, e, resp);
  if (e == 0 && keep.valid()) resp->set_kept((*ws)->kept.Keep(std::move(keep)));
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::Write(grpc::ServerContext* ctx, const v1::WriteRequest* req,
                                       v1::EntryResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  if (req->offset() < 0) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "negative offset");
  UniqueFd fd;
  int e = (*ws)->dir->OpenFile(req->path(), O_WRONLY, 0, &fd);
  if (e == 0 && !PwriteFull(fd.get(), req->data().data(), req->data().size(), req->offset())) e = errno;
  struct stat st;
  if (e == 0 && ::fstat(fd.get(), &st) != 0) e = errno;
  resp->set_mutation(++(*ws)->mutations);
  resp->set_error(e);
  if (e == 0) FillAttr(st, resp->mutable_attr());
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::SetAttr(grpc::ServerContext* ctx, const v1::SetAttrRequest* req,
                                         v1::EntryResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  WorkspaceDir& dir = *(*ws)->dir;
  int e = 0;
  if (req->has_mode()) e = dir.Chmod(req->path(), req->mode());
  if (e == 0 && req->has_size()) {
    UniqueFd fd;
    e = req->size() < 0 ? EINVAL : dir.OpenFile(req->path(), O_WRONLY, 0, &fd);
    if (e == 0 && ::ftruncate(fd.get(), req->size()) != 0) e = errno;
  }
  if (e == 0 && (req->has_atime_ns() || req->has_mtime_ns() || req->atime_now() || req->mtime_now())) {
    struct timespec times[2] = {ToTimespec(req->has_atime_ns(), req->atime_now(), req->atime_ns()),
                                ToTimespec(req->has_mtime_ns(), req->mtime_now(), req->mtime_ns())};
    e = dir.SetTimes(req->path(), times);
  }
  struct stat st;
  if (e == 0) e = dir.Stat(req->path(), &st);
  resp->set_mutation(++(*ws)->mutations);
  resp->set_error(e);
  if (e == 0) FillAttr(st, resp->mutable_attr());  // no hash: the mount knows whether contents changed
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::Fsync(grpc::ServerContext* ctx, const v1::PathRequest* req,
                                       v1::ChangeResponse* resp) {
  auto ws = Authorize(ctx, req->workspace(), {req->path()});
  if (!ws.ok()) return ToGrpc(ws.status());
  WorkspaceDir& dir = *(*ws)->dir;
  UniqueFd fd;
  int e = dir.OpenFile(req->path(), O_RDONLY, 0, &fd);
  if (e == EISDIR) e = dir.OpenDir(req->path(), &fd);
  if (e == 0 && ::fsync(fd.get()) != 0) e = errno;
  resp->set_error(e);
  return grpc::Status::OK;
}

grpc::Status WorkspaceFsService::Watch(grpc::ServerContext* ctx, const v1::WatchRequest* req,
                                       grpc::ServerWriter<v1::ChangeBatch>* writer) {
  auto ws = Authorize(ctx, req->workspace(), {});
  if (!ws.ok()) return ToGrpc(ws.status());
  Status watched = (*ws)->EnsureWatched();
  if (!watched.ok()) return ToGrpc(watched);
  ChangeJournal& journal = (*ws)->journal;
  uint64_t after = req->after();
  v1::ChangeBatch batch;
  batch.set_epoch(journal.epoch());
  if (req->epoch() != journal.epoch() || after > journal.seq()) {
    // The mount's view predates this farm process: it must drop it all.
    after = journal.seq();
    batch.set_seq(after);
    batch.set_reset(true);
    if (!writer->Write(batch)) return grpc::Status::OK;
  }
  while (!ctx->IsCancelled()) {
    auto next = journal.Next(after, kWatchPoll);
    if (next.seq == after && !next.reset) continue;
    batch.Clear();
    batch.set_epoch(journal.epoch());
    batch.set_seq(next.seq);
    batch.set_reset(next.reset || next.paths.size() > kMaxChangesPerBatch);
    batch.set_stat_after((*ws)->mutations.load());
    if (!batch.reset()) {
      for (const auto& path : next.paths) {
        auto* change = batch.add_changes();
        change->set_path(path);
        struct stat st;
        change->set_exists((*ws)->dir->Stat(path, &st) == 0);
        if (change->exists()) FillAttr(st, change->mutable_attr());
      }
    }
    if (!writer->Write(batch)) break;
    after = next.seq;
  }
  return grpc::Status::OK;
}

}  // namespace cifs
