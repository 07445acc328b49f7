// The FUSE requests of a Mount. Answers come from the inode table and the
// local store where they can; otherwise one farm call, whose errno is the
// answer. No handler sends a kernel notification (the notifier does).
#include <fcntl.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/rel_path.h"
#include "fsd/mount.h"

namespace cifs {
namespace {

mode_t TypeBits(v1::Attr::Type t) {
  switch (t) {
    case v1::Attr::DIRECTORY:
      return S_IFDIR;
    case v1::Attr::SYMLINK:
      return S_IFLNK;
    default:
      return S_IFREG;
  }
}

}  // namespace

void Mount::Init(struct fuse_conn_info* conn) {
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  if (conn->capable & FUSE_CAP_READDIRPLUS) {
    conn->want |= FUSE_CAP_READDIRPLUS;
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;  // always plus: one call fills the entry cache
  }
  // The farm-side file decides; the kernel need not clear setuid bits for us.
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;  // every write reaches the farm before it returns
  // O_TRUNC arrives as a setattr(size 0) before the open, so it needs no open.
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  // Opens carry no state here (reads and writes go by inode), so the kernel
  // may skip OPEN/RELEASE and OPENDIR/RELEASEDIR round trips altogether; it
  // then keeps page and readdir caches as with keep_cache. Counting opens
  // instead cost every warm open a round trip (a warm read of every file
  // went from 1.06x to 2.1x the disk's), so fsd does not know which files
  // are open: see ShouldKeep.
  no_open_ = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
  no_opendir_ = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
  if (no_open_) conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
  if (no_opendir_) conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
}

void Mount::FillStat(fuse_ino_t ino, const v1::Attr& a, struct stat* st) const {
  std::memset(st, 0, sizeof *st);
  st->st_ino = ino;
  st->st_mode = TypeBits(a.type()) | (a.mode() & 07777);
  st->st_nlink = a.nlink() > 0 ? a.nlink() : 1;
  st->st_uid = uid_;
  st->st_gid = gid_;
  st->st_size = a.size();
  st->st_blksize = 4096;
  st->st_blocks = a.blocks();
  st->st_atim = NsToTimespec(a.atime_ns());
  st->st_mtim = NsToTimespec(a.mtime_ns());
  st->st_ctim = NsToTimespec(a.ctime_ns());
}

fuse_entry_param Mount::EntryParam(fuse_ino_t ino, const v1::Attr& attr) const {
  fuse_entry_param e{};
  e.ino = ino;
  e.attr_timeout = options_.cache_timeout_s;
  e.entry_timeout = options_.cache_timeout_s;
  FillStat(ino, attr, &e.attr);
  return e;
}

void Mount::ReplyEntry(fuse_req_t req, const InodeTable::NodeView& v) {
  fuse_entry_param e = EntryParam(v.ino, v.attr);
  if (fuse_reply_entry(req, &e) != 0) table_->Forget(v.ino, 1);  // the kernel never got it
}

int Mount::PathIn(fuse_ino_t parent, const char* name, std::string* path) {
  auto v = table_->Get(parent);
  if (!v || !v->attached) return ENOENT;
  if (v->attr.type() != v1::Attr::DIRECTORY) return ENOTDIR;
  if (std::strlen(name) > 255) return ENAMETOOLONG;
  *path = JoinRelPath(v->path, name);
  return 0;
}

int Mount::List(fuse_ino_t dir, int64_t hash_limit) {
  std::promise<int> mine;
  std::shared_future<int> result;
  bool leader = false;
  {
    std::lock_guard lock(listing_mu_);
    auto it = listing_.find(dir);
    if (it != listing_.end()) {
      result = it->second;
    } else {
      result = mine.get_future().share();
      listing_[dir] = result;
      leader = true;
    }
  }
  if (!leader) return result.get();
  int err = 0;
  auto v = table_->Get(dir);
  if (!v || !v->attached) {
    err = ENOENT;
  } else if (v->attr.type() != v1::Attr::DIRECTORY) {
    err = ENOTDIR;
  } else if (hash_limit == 0 && AwaitListAhead(dir, v->path)) {
    err = 0;
  } else {
    v1::ReadDirRequest req;
    req.set_path(v->path);
    req.set_hash_limit_bytes(hash_limit);
    v1::ReadDirResponse resp;
    err = farm_.Call(&v1::WorkspaceFs::Stub::ReadDir, req, &resp);
    if (err == 0) notifier_.Push(table_->SetListing(dir, resp.dir(), resp.entries()));
    if (err == 0) ListAhead(v->path);
  }
  {
    std::lock_guard lock(listing_mu_);
    listing_.erase(dir);
  }
  mine.set_value(err);
  return err;
}

int Mount::Refresh(fuse_ino_t ino, InodeTable::NodeView* view) {
  auto v = table_->Get(ino);
  if (!v) return ESTALE;
  if (!v->attached) return ENOENT;
  v1::PathRequest req;
  req.set_path(v->path);
  v1::EntryResponse resp;
  if (int e = farm_.Call(&v1::WorkspaceFs::Stub::Lookup, req, &resp)) return e;
  table_->SetAttr(ino, resp.attr(), true);
  auto fresh = table_->Get(ino);
  if (!fresh) return ESTALE;
  *view = *fresh;
  return 0;
}

void Mount::Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (std::strlen(name) > 255) return (void)fuse_reply_err(req, ENAMETOOLONG);
  lookups_.fetch_add(1, std::memory_order_relaxed);
  fuse_entry_param found{};
  auto take = [&](fuse_ino_t ino, const v1::Attr& attr) { found = EntryParam(ino, attr); };
  for (int attempt = 0; attempt < 2; ++attempt) {
    switch (table_->LookupRef(parent, name, take)) {
      case InodeTable::Found::kYes:
        if (fuse_reply_entry(req, &found) != 0) table_->Forget(found.ino, 1);  // the kernel never got it
        primer_->NoteLookup(parent);
        return;
      case InodeTable::Found::kNo: {
        // Remembered as absent until the farm reports the name.
        fuse_entry_param e{};
        e.entry_timeout = options_.cache_timeout_s;
        fuse_reply_entry(req, &e);
        return;
      }
      case InodeTable::Found::kUnknown:
        if (attempt > 0) break;
        if (int err = List(parent)) return (void)fuse_reply_err(req, err);
    }
  }
  // Listed, and unknown again: the listing was forgotten in between (a farm
  // back from a restart resets every listing). Ask for the one name.
  std::string path;
  if (int e = PathIn(parent, name, &path)) return (void)fuse_reply_err(req, e);
  v1::PathRequest r;
  r.set_path(path);
  v1::EntryResponse resp;
  if (int e = farm_.Call(&v1::WorkspaceFs::Stub::Lookup, r, &resp)) return (void)fuse_reply_err(req, e);
  ReplyEntry(req, table_->AddRef(parent, name, resp.attr()));
}

void Mount::Forget(fuse_ino_t ino, uint64_t nlookup) {
  table_->Forget(ino, nlookup);
  primer_->NoteForgotten(ino);  // a directory's entries went with it
}

void Mount::GetAttr(fuse_req_t req, fuse_ino_t ino) {
  auto v = table_->Get(ino);
  if (!v) return (void)fuse_reply_err(req, ESTALE);
  InodeTable::NodeView fresh = *v;
  if (v->attr_stale && v->attached) {
    int e = Refresh(ino, &fresh);
    // While the farm is away, what is known keeps being answered.
    if (e == EIO) fresh = *v;
    else if (e) return (void)fuse_reply_err(req, e);
  }
  struct stat st;
  FillStat(ino, fresh.attr, &st);
  if (!fresh.attached) st.st_nlink = 0;  // removed, still open: as fstat on a local disk
  fuse_reply_attr(req, &st, options_.cache_timeout_s);
}

void Mount::SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set) {
  auto in_flight = farm_.BeginMutation();
  auto v = table_->Get(ino);
  if (!v) return (void)fuse_reply_err(req, ESTALE);
  if (!v->attached) return (void)fuse_reply_err(req, ENOENT);
  if (((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != uid_) ||
      ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != gid_)) {
    return (void)fuse_reply_err(req, EPERM);  // files belong to the workspace's owner
  }
  v1::SetAttrRequest r;
  r.set_path(v->path);
  if (to_set & FUSE_SET_ATTR_MODE) r.set_mode(attr->st_mode & 07777);
  if (to_set & FUSE_SET_ATTR_SIZE) r.set_size(attr->st_size);
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) r.set_atime_now(true);
  else if (to_set & FUSE_SET_ATTR_ATIME) r.set_atime_ns(TimespecToNs(attr->st_atim));
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) r.set_mtime_now(true);
  else if (to_set & FUSE_SET_ATTR_MTIME) r.set_mtime_ns(TimespecToNs(attr->st_mtim));
  v1::EntryResponse resp;
  if (int e = farm_.Call(&v1::WorkspaceFs::Stub::SetAttr, r, &resp)) return (void)fuse_reply_err(req, e);
  table_->SetAttr(ino, resp.attr(), r.has_size());
  if (r.has_size() && table_->MarkWritten(ino)) notifier_.Push({{ino, ""}});  // as in Write
  struct stat st;
  auto fresh = table_->Get(ino);
  FillStat(ino, fresh ? fresh->attr : resp.attr(), &st);
  fuse_reply_attr(req, &st, options_.cache_timeout_s);
}

void Mount::ReadLink(fuse_req_t req, fuse_ino_t ino) {
  auto v = table_->Get(ino);
  if (!v) return (void)fuse_reply_err(req, ESTALE);
  if (v->attr.type() != v1::Attr::SYMLINK) return (void)fuse_reply_err(req, EINVAL);
  InodeTable::NodeView fresh = *v;
  if (v->attr_stale || v->attr.symlink_target().empty()) {
    int e = Refresh(ino, &fresh);
    if (e == EIO && !v->attr.symlink_target().empty()) fresh = *v;
    else if (e) return (void)fuse_reply_err(req, e);
  }
  fuse_reply_readlink(req, fresh.attr.symlink_target().c_str());
}

fuse_ino_t Mount::Made(fuse_req_t req, fuse_ino_t parent, const char* name, int err, const v1::Attr& attr) {
  if (err) {
    fuse_reply_err(req, err);
    return 0;
  }
  auto v = table_->AddRef(parent, name, attr);
  table_->MarkStale(parent);  // its mtime moved
  ReplyEntry(req, v);
  return v.ino;
}

void Mount::MkNod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  auto in_flight = farm_.BeginMutation();
  if (!S_ISREG(mode)) return (void)fuse_reply_err(req, EPERM);  // no devices or fifos in a workspace
  v1::CreateRequest r;
  if (int e = PathIn(parent, name, r.mutable_path())) return (void)fuse_reply_err(req, e);
  r.set_mode(mode & 07777);
  r.set_exclusive(true);
  v1::EntryResponse resp;
  int e = farm_.Call(&v1::WorkspaceFs::Stub::Create, r, &resp, FarmFs::Replay::kNever);
  Made(req, parent, name, e, resp.attr());
}

void Mount::MkDir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  auto in_flight = farm_.BeginMutation();
  v1::CreateRequest r;
  if (int e = PathIn(parent, name, r.mutable_path())) return (void)fuse_reply_err(req, e);
  r.set_mode(mode & 07777);
  v1::EntryResponse resp;
  int e = farm_.Call(&v1::WorkspaceFs::Stub::Mkdir, r, &resp, FarmFs::Replay::kNever);
  fuse_ino_t made = Made(req, parent, name, e, resp.attr());
  // A new directory is empty: its listing is known without asking.
  if (made != 0) table_->SetListing(made, resp.attr(), {});
}

void Mount::Symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  auto in_flight = farm_.BeginMutation();
  v1::SymlinkRequest r;
  if (int e = PathIn(parent, name, r.mutable_path())) return (void)fuse_reply_err(req, e);
  r.set_target(target);
  v1::EntryResponse resp;
  int e = farm_.Call(&v1::WorkspaceFs::Stub::Symlink, r, &resp, FarmFs::Replay::kNever);
  Made(req, parent, name, e, resp.attr());
}

void Mount::Unlink(fuse_req_t req, fuse_ino_t parent, const char* name, bool dir) {
  auto in_flight = farm_.BeginMutation();
  v1::PathRequest r;
  if (int e = PathIn(parent, name, r.mutable_path())) return (void)fuse_reply_err(req, e);
  r.set_keep(!dir && ShouldKeep(parent, name));
  v1::ChangeResponse resp;
  int e = farm_.Call(dir ? &v1::WorkspaceFs::Stub::Rmdir : &v1::WorkspaceFs::Stub::Unlink, r, &resp,
                     FarmFs::Replay::kRemoval);
  if (e == 0) table_->Remove(parent, name, resp.kept());
  fuse_reply_err(req, e);
}

void Mount::Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
                   unsigned int flags) {
  auto in_flight = farm_.BeginMutation();
  v1::RenameRequest r;
  if (int e = PathIn(parent, name, r.mutable_from())) return (void)fuse_reply_err(req, e);
  if (int e = PathIn(newparent, newname, r.mutable_to())) return (void)fuse_reply_err(req, e);
  r.set_flags(flags);
  // An editor's save over a file someone reads.
  r.set_keep_replaced(!(flags & RENAME_EXCHANGE) && ShouldKeep(newparent, newname));
  v1::ChangeResponse resp;
  int e = farm_.Call(&v1::WorkspaceFs::Stub::Rename, r, &resp, FarmFs::Replay::kRemoval);
  if (e == 0) table_->Move(parent, name, newparent, newname, (flags & RENAME_EXCHANGE) != 0, resp.kept());
  fuse_reply_err(req, e);
}

void Mount::Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, struct fuse_file_info* fi) {
  auto in_flight = farm_.BeginMutation();
  v1::CreateRequest r;
  if (int e = PathIn(parent, name, r.mutable_path())) return (void)fuse_reply_err(req, e);
  r.set_mode(mode & 07777);
  r.set_exclusive((fi->flags & O_EXCL) != 0);
  v1::EntryResponse resp;
  // Without O_EXCL a create is an open-or-create, so a replay is harmless.
  if (int e = farm_.Call(&v1::WorkspaceFs::Stub::Create, r, &resp,
                         (fi->flags & O_EXCL) ? FarmFs::Replay::kNever : FarmFs::Replay::kSafe)) {
    return (void)fuse_reply_err(req, e);
  }
  if ((fi->flags & O_TRUNC) && resp.attr().size() > 0) {
    // O_CREAT|O_TRUNC on a name another client just made: still truncate.
    v1::SetAttrRequest t;
    t.set_path(r.path());
    t.set_size(0);
    if (int e = farm_.Call(&v1::WorkspaceFs::Stub::SetAttr, t, &resp)) return (void)fuse_reply_err(req, e);
  }
  auto v = table_->AddRef(parent, name, resp.attr());
  table_->MarkStale(parent);
  fi->fh = 0;
  fi->keep_cache = 1;
  fuse_entry_param e = EntryParam(v.ino, v.attr);
  if (fuse_reply_create(req, &e, fi) != 0) table_->Forget(v.ino, 1);
}

void Mount::Open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  if (no_open_) return (void)fuse_reply_err(req, ENOSYS);  // once: the kernel stops asking
  auto v = table_->Get(ino);
  if (!v) return (void)fuse_reply_err(req, ESTALE);
  if (v->attr.type() == v1::Attr::DIRECTORY) return (void)fuse_reply_err(req, EISDIR);
  fi->fh = 0;
  fi->keep_cache = 1;
  fi->noflush = 1;
  fuse_reply_open(req, fi);
}

bool Mount::ShouldKeep(fuse_ino_t dir, const char* name) {
  auto v = table_->Peek(dir, name);
  if (!v || v->attr.type() != v1::Attr::FILE || !v->kernel_holds) return false;
  if (v->written) return true;  // its bytes are the farm's
  if (v->attr.size() == 0) return false;
  return v->attr.hash().empty() || !local_->Contains(Digest{v->attr.hash(), v->attr.size()});
}

int Mount::EnsureLocal(fuse_ino_t ino, InodeTable::NodeView* cur) {
  for (int attempt = 0;; ++attempt) {
    if (!cur->attr_stale && cur->attr.hash().empty() && cur->attr.size() <= ContentFetcher::kSmallFileBytes &&
        attempt == 0) {
      // A small file: its neighbours are likely next, so hash them all in
      // one listing and fetch them in one batch below.
      if (List(cur->parent, ContentFetcher::kSmallFileBytes) == 0) {
        if (auto again = table_->Get(ino)) *cur = *again;
      }
    }
    if (cur->attr_stale || cur->attr.hash().empty()) {
      InodeTable::NodeView known = *cur;
      int e = Refresh(ino, cur);
      if (e == EIO && !known.attr.hash().empty()) {
        *cur = known;  // farm away: serve what we have
        e = 0;
      }
      if (e) return e;
    }
    if (cur->attr.size() == 0) return 0;
    auto neighbours = [&] {
      // Small files beside it come along in the same call.
      std::vector<ContentWant> out;
      std::string dir = ParentRelPath(cur->path);
      for (const auto& c : table_->Children(cur->parent)) {
        if (out.size() >= ContentFetcher::kMaxBatchFiles) break;
        // Only small files not held yet ride along (Ensure): others must not
        // use up the candidates, or every read past a directory's first batch
        // would fetch its file alone.
        if (c.attr.type() != v1::Attr::FILE || c.attr.hash().empty() || c.ino == ino ||
            c.attr.size() > ContentFetcher::kSmallFileBytes || local_->Contains(Digest{c.attr.hash(), c.attr.size()})) {
          continue;
        }
        out.push_back({JoinRelPath(dir, c.name), c.attr.hash(), c.attr.size()});
      }
      return out;
    };
    int e = fetcher_.Ensure({cur->path, cur->attr.hash(), cur->attr.size()}, neighbours);
    if (e == ESTALE && attempt == 0) {
      cur->attr.clear_hash();
      cur->attr_stale = true;
      continue;
    }
    return e;
  }
}

int Mount::ReadFromFarm(const InodeTable::NodeView& v, size_t size, off_t off, std::string* buf) {
  if (!v.attached && v.kept == 0) return ESTALE;
  v1::ReadFileRequest r;
  r.set_workspace(options_.workspace);
  if (v.attached) {
    r.set_path(v.path);
  } else {
    r.set_kept(v.kept);
  }
  r.set_offset(off);
  r.set_limit(static_cast<int64_t>(size));
  grpc::ClientContext ctx;
  farm_.Prepare(&ctx);
  auto reader = farm_.stub()->ReadFile(&ctx, r);
  v1::ReadFileChunk chunk;
  int err = 0;
  while (reader->Read(&chunk)) {
    if (chunk.error()) err = chunk.error();
    *buf += chunk.data();
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) err = farm_.FromGrpc(s);
  return err;
}

void Mount::Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info*) {
  auto v = table_->Get(ino);
  if (!v) return (void)fuse_reply_err(req, ESTALE);
  if (v->attr.type() == v1::Attr::DIRECTORY) return (void)fuse_reply_err(req, EISDIR);
  std::string buf;
  if (v->written) {
    // Written through this mount since the farm last hashed it: read the
    // bytes as they are now rather than fetch the whole file again.
    if (int e = ReadFromFarm(*v, size, off, &buf)) return (void)fuse_reply_err(req, e);
    return (void)fuse_reply_buf(req, buf.data(), buf.size());
  }
  // Everything else is served from the local store, by hash.
  InodeTable::NodeView cur = *v;
  bool held = cur.attr.size() == 0 ||
              (!cur.attr.hash().empty() && local_->Contains(Digest{cur.attr.hash(), cur.attr.size()}));
  if (!cur.attached) {
    // Removed while open: what it held is what it still reads, from here or
    // from the copy the farm kept open.
    if (!held) {
      if (int e = ReadFromFarm(cur, size, off, &buf)) return (void)fuse_reply_err(req, e);
      return (void)fuse_reply_buf(req, buf.data(), buf.size());
    }
  } else if (cur.attr_stale || !held) {
    if (int e = EnsureLocal(ino, &cur)) return (void)fuse_reply_err(req, e);
    if (!held) NoteColdRead(ParentRelPath(cur.path));
  }
  if (cur.attr.size() == 0) return (void)fuse_reply_buf(req, nullptr, 0);
  // A blob evicted since it was found, or found damaged and dropped by this
  // read, is fetched once more rather than failing the read.
  for (int attempt = 0;; ++attempt) {
    auto reader = local_->OpenRead(Digest{cur.attr.hash(), cur.attr.size()});
    Status s = reader.ok() ? (*reader)->Read(off, size, &buf) : reader.status();
    if (s.ok()) break;
    bool again = attempt == 0 && cur.attached &&
                 (s.code() == Status::Code::kNotFound || s.code() == Status::Code::kDataLoss);
    if (!again) return (void)fuse_reply_err(req, EIO);
    buf.clear();
    if (int e = EnsureLocal(ino, &cur)) return (void)fuse_reply_err(req, e);
  }
  fuse_reply_buf(req, buf.data(), buf.size());
  if (held && cur.attached && off == 0) NoteHeldRead(cur.parent);
}

void Mount::Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, struct fuse_file_info*) {
  auto in_flight = farm_.BeginMutation();
  auto v = table_->Get(ino);
  if (!v) return (void)fuse_reply_err(req, ESTALE);
  if (!v->attached) return (void)fuse_reply_err(req, ESTALE);
  v1::WriteRequest r;
  r.set_path(v->path);
  r.set_offset(off);
  r.set_data(buf, size);
  v1::EntryResponse resp;
  if (int e = farm_.Call(&v1::WorkspaceFs::Stub::Write, r, &resp)) return (void)fuse_reply_err(req, e);
  table_->SetAttr(ino, resp.attr(), true);
  // A cache fill sent while this write was on its way may have put the old
  // bytes over the new ones in the kernel's pages: drop them.
  if (table_->MarkWritten(ino)) notifier_.Push({{ino, ""}});
  fuse_reply_write(req, size);
}

void Mount::Fsync(fuse_req_t req, fuse_ino_t ino) {
  auto v = table_->Get(ino);
  if (!v) return (void)fuse_reply_err(req, ESTALE);
  if (!v->attached) return (void)fuse_reply_err(req, 0);  // removed: nothing left to make durable
  v1::PathRequest r;
  r.set_path(v->path);
  v1::ChangeResponse resp;
  fuse_reply_err(req, farm_.Call(&v1::WorkspaceFs::Stub::Fsync, r, &resp));
}

void Mount::OpenDir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  if (no_opendir_) return (void)fuse_reply_err(req, ENOSYS);  // once: the kernel stops asking
  switch (table_->DirState(ino)) {
    case InodeTable::DirKind::kGone:
      return (void)fuse_reply_err(req, ESTALE);
    case InodeTable::DirKind::kNotDir:
      return (void)fuse_reply_err(req, ENOTDIR);
    default:
      break;
  }
  fi->fh = 0;
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

void Mount::PrefetchSubdirectories(fuse_ino_t dir) {
  for (fuse_ino_t child : table_->Subdirs(dir, /*only_unlisted=*/true)) {
    if (!list_ahead_.TrySubmit([this, child] { List(child); })) break;
  }
}

void Mount::ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info*, bool plus) {
  switch (table_->DirState(ino)) {
    case InodeTable::DirKind::kGone:
      return (void)fuse_reply_err(req, ESTALE);
    case InodeTable::DirKind::kNotDir:
      return (void)fuse_reply_err(req, ENOTDIR);
    case InodeTable::DirKind::kUnlisted:
      if (int e = List(ino)) return (void)fuse_reply_err(req, e);
      PrefetchSubdirectories(ino);
      break;
    case InodeTable::DirKind::kListed:
      if (off == 0) PrefetchSubdirectories(ino);
      break;
  }
  if (off == 0) primer_->NoteListed(ino);
  // The kernel caches what we return (cache_readdir) until the directory
  // changes; offsets index the sorted names, stable while it does not.
  std::string buf(size, '\0');
  size_t used = 0;
  size_t next = static_cast<size_t>(off);
  auto add = [&](const char* name, const fuse_entry_param& e) {
    size_t need = plus ? fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &e, next + 1)
                       : fuse_add_direntry(req, buf.data() + used, size - used, name, &e.attr, next + 1);
    if (need > size - used) return false;
    used += need;
    ++next;
    return true;
  };
  bool room = true;
  while (room && next < 2) {
    fuse_entry_param e{};
    e.attr.st_ino = next == 0 ? ino : FUSE_ROOT_ID;
    e.attr.st_mode = S_IFDIR;
    room = add(next == 0 ? "." : "..", e);
  }
  if (room) {
    // Each entry handed over with readdirplus counts as a lookup.
    table_->VisitChildren(ino, next - 2, plus, [&](const std::string& name, fuse_ino_t child, const v1::Attr& attr) {
      fuse_entry_param e = EntryParam(child, attr);
      if (!plus) e.ino = 0;  // plain readdir hands over no node
      return add(name.c_str(), e);
    });
  }
  fuse_reply_buf(req, buf.data(), used);
}

void Mount::StatFs(fuse_req_t req) {
  struct statvfs st {};
  st.f_bsize = 4096;
  st.f_frsize = 4096;
  st.f_blocks = 1ULL << 32;  // the farm's disk is not ours to report exactly
  st.f_bfree = 1ULL << 31;
  st.f_bavail = 1ULL << 31;
  st.f_files = 1ULL << 32;
  st.f_ffree = 1ULL << 31;
  st.f_namemax = 255;
  fuse_reply_statfs(req, &st);
}

}  // namespace cifs
