#include "fsd/inode_table.h"

#include <set>
#include <utility>

namespace cifs {
namespace {

bool SameContents(const v1::Attr& a, const v1::Attr& b) {
  return a.size() == b.size() && a.mtime_ns() == b.mtime_ns();
}

bool SameAttrs(const v1::Attr& a, const v1::Attr& b) {
  return a.type() == b.type() && a.mode() == b.mode() && a.size() == b.size() && a.mtime_ns() == b.mtime_ns() &&
         a.ctime_ns() == b.ctime_ns() && a.nlink() == b.nlink();
}

}  // namespace

InodeTable::InodeTable(const v1::Attr& root) {
  Node& n = nodes_[FUSE_ROOT_ID];
  n.attr = root;
}

InodeTable::Node* InodeTable::Find(fuse_ino_t ino) {
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::string InodeTable::PathOf(fuse_ino_t ino) {
  std::vector<const std::string*> parts;
  while (ino != FUSE_ROOT_ID) {
    Node* n = Find(ino);
    if (n == nullptr || n->parent == 0) return std::string(1, '\0');  // detached: no path
    parts.push_back(&n->name);
    ino = n->parent;
  }
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!path.empty()) path += '/';
    path += **it;
  }
  return path;
}

InodeTable::NodeView InodeTable::View(fuse_ino_t ino, Node& n) {
  NodeView v;
  v.ino = ino;
  v.parent = n.parent;
  v.attr = n.attr;
  v.attr_stale = n.attr_stale;
  v.written = n.written;
  v.path = PathOf(ino);
  v.attached = v.path.empty() || v.path[0] != '\0';
  if (!v.attached) v.path.clear();
  v.kernel_holds = n.nlookup > 0;
  v.kept = n.kept;
  return v;
}

std::optional<InodeTable::NodeView> InodeTable::Get(fuse_ino_t ino) {
  std::lock_guard lock(mu_);
  Node* n = Find(ino);
  if (n == nullptr) return std::nullopt;
  return View(ino, *n);
}

InodeTable::Found InodeTable::LookupRef(fuse_ino_t dir, std::string_view name, const EntryFn& found) {
  std::lock_guard lock(mu_);
  Node* d = Find(dir);
  if (d == nullptr) return Found::kUnknown;
  auto it = d->children.find(name);
  if (it != d->children.end()) {
    Node* c = Find(it->second);
    if (c != nullptr && (!c->attr_stale || d->listed)) {
      c->nlookup++;
      found(it->second, c->attr);
      return Found::kYes;
    }
  }
  return d->listed ? Found::kNo : Found::kUnknown;
}

fuse_ino_t InodeTable::Upsert(fuse_ino_t dir, const std::string& name, const v1::Attr& attr,
                              std::vector<Invalidation>* invals) {
  Node* d = Find(dir);
  auto it = d->children.find(name);
  if (it != d->children.end()) {
    fuse_ino_t ino = it->second;
    Node* c = Find(ino);
    if (c != nullptr && c->attr.type() == attr.type()) {
      bool changed = !SameContents(c->attr, attr) || (!attr.hash().empty() && c->attr.hash() != attr.hash()) ||
                     c->attr.symlink_target() != attr.symlink_target();
      if (changed && invals) invals->push_back({ino, ""});
      std::string hash = c->attr.hash();
      c->attr = attr;
      if (attr.hash().empty() && !changed) c->attr.set_hash(hash);
      if (!attr.hash().empty()) c->written = false;
      c->attr_stale = false;
      return ino;
    }
    Detach(dir, name);  // another kind of thing now has the name
    if (invals) invals->push_back({dir, name});
    d = Find(dir);
  }
  fuse_ino_t ino = next_ino_++;
  Node& c = nodes_[ino];
  c.parent = dir;
  c.name = name;
  c.attr = attr;
  Find(dir)->children[name] = ino;
  return ino;
}

InodeTable::NodeView InodeTable::AddRef(fuse_ino_t dir, const std::string& name, const v1::Attr& attr) {
  std::lock_guard lock(mu_);
  fuse_ino_t ino = Upsert(dir, name, attr, nullptr);
  Node& n = nodes_[ino];
  n.nlookup++;
  return View(ino, n);
}

fuse_ino_t InodeTable::FindPath(const std::string& path) {
  std::lock_guard lock(mu_);
  fuse_ino_t ino = FUSE_ROOT_ID;
  size_t start = 0;
  while (!path.empty() && start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    Node* d = Find(ino);
    if (d == nullptr) return 0;
    auto it = d->children.find(path.substr(start, end - start));
    if (it == d->children.end()) return 0;
    ino = it->second;
    start = end + 1;
  }
  return ino;
}

std::optional<InodeTable::NodeView> InodeTable::Peek(fuse_ino_t dir, const std::string& name) {
  std::lock_guard lock(mu_);
  Node* d = Find(dir);
  if (d == nullptr) return std::nullopt;
  auto it = d->children.find(name);
  if (it == d->children.end()) return std::nullopt;
  Node* c = Find(it->second);
  if (c == nullptr) return std::nullopt;
  return View(it->second, *c);
}

void InodeTable::Ref(fuse_ino_t ino) {
  std::lock_guard lock(mu_);
  if (Node* n = Find(ino)) n->nlookup++;
}

void InodeTable::Forget(fuse_ino_t ino, uint64_t count) {
  std::lock_guard lock(mu_);
  Node* n = Find(ino);
  if (n == nullptr) return;
  n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
  MaybeErase(ino);
}

void InodeTable::MaybeErase(fuse_ino_t ino) {
  Node* n = Find(ino);
  if (n == nullptr || ino == FUSE_ROOT_ID || n->parent != 0 || n->nlookup > 0) return;
  std::vector<fuse_ino_t> children;
  for (auto& [name, child] : n->children) children.push_back(child);
  nodes_.erase(ino);
  for (fuse_ino_t c : children) {
    if (Node* cn = Find(c)) {
      cn->parent = 0;
      MaybeErase(c);
    }
  }
}

void InodeTable::Detach(fuse_ino_t dir, const std::string& name, uint64_t kept) {
  Node* d = Find(dir);
  if (d == nullptr) return;
  auto it = d->children.find(name);
  if (it == d->children.end()) return;
  fuse_ino_t ino = it->second;
  d->children.erase(it);
  if (Node* c = Find(ino)) {
    c->parent = 0;
    c->kept = kept;
    MaybeErase(ino);
  }
}

bool InodeTable::Listed(fuse_ino_t dir) {
  std::lock_guard lock(mu_);
  Node* d = Find(dir);
  return d != nullptr && d->listed;
}

bool InodeTable::AwaitListed(fuse_ino_t dir, std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mu_);
  const uint64_t wakes = wakes_;
  listed_cv_.wait_until(lock, until, [&] {
    Node* d = Find(dir);
    return d == nullptr || d->listed || wakes_ != wakes;
  });
  Node* d = Find(dir);
  return d != nullptr && d->listed;
}

void InodeTable::WakeListingWaiters() {
  {
    std::lock_guard lock(mu_);
    ++wakes_;
  }
  listed_cv_.notify_all();
}

InodeTable::DirKind InodeTable::DirState(fuse_ino_t ino) {
  std::lock_guard lock(mu_);
  Node* n = Find(ino);
  if (n == nullptr) return DirKind::kGone;
  if (n->attr.type() != v1::Attr::DIRECTORY) return DirKind::kNotDir;
  return n->listed ? DirKind::kListed : DirKind::kUnlisted;
}

std::vector<Invalidation> InodeTable::SetListing(fuse_ino_t dir, const v1::Attr& dir_attr,
                                                 const google::protobuf::RepeatedPtrField<v1::Entry>& entries) {
  std::lock_guard lock(mu_);
  std::vector<Invalidation> invals;
  Node* d = Find(dir);
  if (d == nullptr) return invals;
  d->attr = dir_attr;
  d->attr_stale = false;
  std::set<std::string> names;
  for (const auto& e : entries) {
    names.insert(e.name());
    Upsert(dir, e.name(), e.attr(), &invals);
  }
  d = Find(dir);
  std::vector<std::string> gone;
  for (auto& [name, ino] : d->children) {
    if (!names.count(name)) gone.push_back(name);
  }
  for (const auto& name : gone) {
    Detach(dir, name);
    invals.push_back({dir, name});
  }
  Find(dir)->listed = true;
  listed_cv_.notify_all();
  return invals;
}

void InodeTable::LearnHashes(fuse_ino_t dir, const google::protobuf::RepeatedPtrField<v1::Entry>& entries) {
  std::lock_guard lock(mu_);
  Node* d = Find(dir);
  if (d == nullptr) return;
  for (const auto& e : entries) {
    if (e.attr().hash().empty()) continue;
    auto it = d->children.find(e.name());
    if (it == d->children.end()) continue;
    Node* c = Find(it->second);
    if (c == nullptr || c->written || !c->attr.hash().empty() || c->attr.type() != e.attr().type() ||
        !SameContents(c->attr, e.attr())) {
      continue;
    }
    c->attr.set_hash(e.attr().hash());
  }
}

std::vector<InodeTable::Child> InodeTable::Children(fuse_ino_t dir) {
  std::lock_guard lock(mu_);
  std::vector<Child> out;
  Node* d = Find(dir);
  if (d == nullptr) return out;
  out.reserve(d->children.size());
  for (auto& [name, ino] : d->children) out.push_back({name, ino, nodes_[ino].attr});
  return out;
}

void InodeTable::VisitChildren(fuse_ino_t dir, size_t from, bool count_lookups, const ChildFn& fn) {
  std::lock_guard lock(mu_);
  Node* d = Find(dir);
  if (d == nullptr || from >= d->children.size()) return;
  for (auto it = std::next(d->children.begin(), static_cast<ptrdiff_t>(from)); it != d->children.end(); ++it) {
    Node* c = Find(it->second);
    if (c == nullptr) continue;
    if (!fn(it->first, it->second, c->attr)) return;
    if (count_lookups) c->nlookup++;
  }
}

std::vector<fuse_ino_t> InodeTable::Subdirs(fuse_ino_t dir, bool only_unlisted) {
  std::lock_guard lock(mu_);
  std::vector<fuse_ino_t> out;
  Node* d = Find(dir);
  if (d == nullptr) return out;
  for (const auto& [name, ino] : d->children) {
    Node* c = Find(ino);
    if (c != nullptr && c->attr.type() == v1::Attr::DIRECTORY && !(only_unlisted && c->listed)) out.push_back(ino);
  }
  return out;
}

void InodeTable::SetAttr(fuse_ino_t ino, const v1::Attr& attr, bool contents_changed) {
  std::lock_guard lock(mu_);
  Node* n = Find(ino);
  if (n == nullptr) return;
  std::string hash = n->attr.hash();
  std::string target = n->attr.symlink_target();
  n->attr = attr;
  if (attr.hash().empty() && !contents_changed) n->attr.set_hash(hash);
  if (attr.symlink_target().empty()) n->attr.set_symlink_target(target);
  if (!attr.hash().empty()) n->written = false;
  n->attr_stale = false;
}

bool InodeTable::MarkWritten(fuse_ino_t ino) {
  std::lock_guard lock(mu_);
  Node* n = Find(ino);
  if (n == nullptr) return false;
  n->written = true;
  return std::exchange(n->filled, false);
}

bool InodeTable::Fillable(const Node* n, const std::string& hash) {
  return n != nullptr && n->nlookup > 0 && n->parent != 0 && !n->written && !n->attr_stale && n->attr.hash() == hash;
}

bool InodeTable::MayFill(fuse_ino_t ino, const std::string& hash) {
  std::lock_guard lock(mu_);
  return Fillable(Find(ino), hash);
}

bool InodeTable::ClaimFill(fuse_ino_t ino, const std::string& hash) {
  std::lock_guard lock(mu_);
  Node* n = Find(ino);
  if (!Fillable(n, hash)) return false;
  n->filled = true;
  return true;
}

void InodeTable::MarkStale(fuse_ino_t ino) {
  std::lock_guard lock(mu_);
  if (Node* n = Find(ino)) n->attr_stale = true;
}

void InodeTable::Remove(fuse_ino_t dir, const std::string& name, uint64_t kept) {
  std::lock_guard lock(mu_);
  Detach(dir, name, kept);
  if (Node* d = Find(dir)) d->attr_stale = true;
}

void InodeTable::Move(fuse_ino_t from_dir, const std::string& from, fuse_ino_t to_dir, const std::string& to,
                      bool exchange, uint64_t kept_replaced) {
  std::lock_guard lock(mu_);
  Node* fd = Find(from_dir);
  Node* td = Find(to_dir);
  if (fd == nullptr || td == nullptr) return;
  fd->attr_stale = td->attr_stale = true;
  auto take = [&](Node* d, const std::string& name) -> fuse_ino_t {
    auto it = d->children.find(name);
    if (it == d->children.end()) return 0;
    fuse_ino_t ino = it->second;
    d->children.erase(it);
    return ino;
  };
  fuse_ino_t moving = take(fd, from);
  fuse_ino_t other = exchange ? take(td, to) : 0;
  if (!exchange) Detach(to_dir, to, kept_replaced);
  auto place = [&](fuse_ino_t ino, fuse_ino_t dir, const std::string& name) {
    Node* d = Find(dir);
    Node* n = Find(ino);
    if (ino == 0 || n == nullptr) {
      d->listed = false;  // something we never saw moved in: list again
      return;
    }
    n->parent = dir;
    n->name = name;
    n->attr_stale = true;  // rename changes ctime
    d->children[name] = ino;
  };
  place(moving, to_dir, to);
  if (exchange) place(other, from_dir, from);
}

std::vector<Invalidation> InodeTable::ApplyChange(const v1::Change& change) {
  std::lock_guard lock(mu_);
  std::vector<Invalidation> invals;
  const std::string& path = change.path();
  fuse_ino_t dir = FUSE_ROOT_ID;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) break;
    Node* d = Find(dir);
    auto it = d->children.find(path.substr(start, slash - start));
    if (it == d->children.end()) return invals;  // nothing cached below an unknown directory
    dir = it->second;
    start = slash + 1;
  }
  std::string name = path.substr(start);
  Node* d = Find(dir);
  if (d == nullptr || name.empty()) return invals;
  auto it = d->children.find(name);
  fuse_ino_t ino = it == d->children.end() ? 0 : it->second;
  Node* x = ino ? Find(ino) : nullptr;
  if (!change.exists()) {
    if (x == nullptr) return invals;  // gone already (our own unlink echoing back)
    Detach(dir, name);
    Find(dir)->attr_stale = true;
    invals.push_back({dir, name});
    invals.push_back({dir, ""});
    return invals;
  }
  if (x == nullptr || x->attr.type() != change.attr().type()) {
    if (x != nullptr) Detach(dir, name);
    d = Find(dir);
    d->listed = false;
    d->attr_stale = true;
    invals.push_back({dir, name});  // also drops a cached "no such file"
    invals.push_back({dir, ""});
    return invals;
  }
  if (SameAttrs(x->attr, change.attr())) return invals;  // our own change, echoed
  bool contents = !SameContents(x->attr, change.attr());
  std::string hash = x->attr.hash();
  std::string target = x->attr.symlink_target();
  x->attr = change.attr();
  if (!contents) x->attr.set_hash(hash);
  if (x->attr.type() == v1::Attr::SYMLINK) {
    x->attr.set_symlink_target(target);
    x->attr_stale = true;  // the target may have changed: read it again
  }
  invals.push_back({ino, ""});
  return invals;
}

std::vector<Invalidation> InodeTable::InvalidateAll() {
  std::lock_guard lock(mu_);
  std::vector<Invalidation> invals;
  for (auto& [ino, n] : nodes_) {
    n.attr_stale = true;
    n.listed = false;
    if (n.parent != 0) invals.push_back({n.parent, n.name});
    invals.push_back({ino, ""});
  }
  return invals;
}

size_t InodeTable::size() {
  std::lock_guard lock(mu_);
  return nodes_.size();
}

}  // namespace cifs
