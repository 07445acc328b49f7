// fsd's picture of a mounted workspace: one node per file the kernel knows
// or a listing returned, with the farm's attributes, the directory tree
// (parent + name, so a node's farm path follows renames) and the kernel's
// lookup counts. Every method locks; none calls out (no RPC, no notify), so
// the lock is only ever held briefly.
#pragma once

#include <fuse_lowlevel.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cifs/v1/fs.pb.h"

namespace cifs {

// What the kernel must forget: a name in a directory, or an inode's
// attributes and cached pages. Sent by the notifier thread, never from a
// request handler.
struct Invalidation {
  fuse_ino_t ino = 0;
  std::string name;  // set: the entry `name` in directory `ino`
};

class InodeTable {
 public:
  explicit InodeTable(const v1::Attr& root);

  struct NodeView {
    fuse_ino_t ino = 0;
    fuse_ino_t parent = 0;
    v1::Attr attr;
    bool attr_stale = false;
    bool written = false;  // changed through this mount since the farm last hashed it
    std::string path;  // farm path; empty for the root
    bool attached = true;  // false once removed from the tree (still open somewhere)
    bool kernel_holds = false;  // looked up and not forgotten: perhaps open
    uint64_t kept = 0;  // removed: the farm's id of the file it kept open (0: none)
  };
  std::optional<NodeView> Get(fuse_ino_t ino);

  enum class Found { kYes, kNo, kUnknown };
  // Looks `name` up among `dir`'s children: kNo only when the listing is
  // complete. With kYes, counts a kernel lookup and hands the child to
  // `found` under the lock (a cold `git status` makes one call per path).
  using EntryFn = std::function<void(fuse_ino_t ino, const v1::Attr& attr)>;
  Found LookupRef(fuse_ino_t dir, std::string_view name, const EntryFn& found);

  // Records `name` in `dir` with `attr` (made or found by the farm), counts a
  // kernel lookup, returns the node.
  NodeView AddRef(fuse_ino_t dir, const std::string& name, const v1::Attr& attr);
  // The node at farm path `path` if the table knows it (0 if not).
  fuse_ino_t FindPath(const std::string& path);
  // `name` in `dir` as known, without counting a lookup.
  std::optional<NodeView> Peek(fuse_ino_t dir, const std::string& name);

  // For readdirplus: counts one more kernel lookup of a listed child.
  void Ref(fuse_ino_t ino);
  void Forget(fuse_ino_t ino, uint64_t n);

  bool Listed(fuse_ino_t dir);
  // Waits until `dir` is listed, `until` passes or WakeListingWaiters is
  // called; true when it is listed.
  bool AwaitListed(fuse_ino_t dir, std::chrono::steady_clock::time_point until);
  void WakeListingWaiters();
  enum class DirKind { kGone, kNotDir, kUnlisted, kListed };
  DirKind DirState(fuse_ino_t ino);
  // Replaces `dir`'s children with a fresh listing. Known nodes keep their
  // numbers; those whose contents changed are returned for invalidation.
  std::vector<Invalidation> SetListing(fuse_ino_t dir, const v1::Attr& dir_attr,
                                       const google::protobuf::RepeatedPtrField<v1::Entry>& entries);
  // Gives the files of `dir` the hashes in `entries` where the table knows
  // the same file (same size and mtime, not written through this mount)
  // without one: nothing it knows is replaced.
  void LearnHashes(fuse_ino_t dir, const google::protobuf::RepeatedPtrField<v1::Entry>& entries);
  struct Child {
    std::string name;
    fuse_ino_t ino;
    v1::Attr attr;
  };
  // A copy, for callers that go on to call out (the local store, the farm).
  std::vector<Child> Children(fuse_ino_t dir);
  // Hands `fn` the children of `dir` in name order from the `from`-th, under
  // the lock, until it returns false; with `count_lookups` (readdirplus) each
  // child it accepts counts a kernel lookup. Copies nothing: a listing of a
  // large directory comes in many small calls.
  using ChildFn = std::function<bool(const std::string& name, fuse_ino_t ino, const v1::Attr& attr)>;
  void VisitChildren(fuse_ino_t dir, size_t from, bool count_lookups, const ChildFn& fn);
  // In name order.
  std::vector<fuse_ino_t> Subdirs(fuse_ino_t dir, bool only_unlisted = false);

  // Attributes the farm just returned for `ino`. Without `contents_changed`
  // a missing hash keeps the one known (chmod, utimens).
  void SetAttr(fuse_ino_t ino, const v1::Attr& attr, bool contents_changed);
  void MarkStale(fuse_ino_t ino);
  // Written or truncated through this mount: its bytes are read from the farm
  // until a fresh hash arrives. True if its contents were handed to the
  // kernel's page cache (ClaimFill) since the last write: that fill may have
  // landed over the bytes this write put there, so the caller invalidates.
  bool MarkWritten(fuse_ino_t ino);
  // Whether the kernel may cache `hash` as `ino`'s contents: the kernel
  // holds the inode, and it is attached, fresh, unwritten and has that hash.
  // MayFill only asks; ClaimFill checks and records in one step, so a write
  // either comes after (and MarkWritten says so) or makes it false.
  bool MayFill(fuse_ino_t ino, const std::string& hash);
  bool ClaimFill(fuse_ino_t ino, const std::string& hash);

  // Mirrors a successful unlink/rmdir/rename made through this mount.
  // `kept`: the farm's id of the removed (or replaced) file it kept open.
  void Remove(fuse_ino_t dir, const std::string& name, uint64_t kept = 0);
  void Move(fuse_ino_t from_dir, const std::string& from, fuse_ino_t to_dir, const std::string& to, bool exchange,
            uint64_t kept_replaced = 0);

  // A change the farm reported (made there, or echoing ours).
  std::vector<Invalidation> ApplyChange(const v1::Change& change);
  // Changes were missed: everything cached is suspect.
  std::vector<Invalidation> InvalidateAll();

  size_t size();

 private:
  struct Node {
    fuse_ino_t parent = 0;  // 0: detached
    std::string name;
    v1::Attr attr;
    bool attr_stale = false;
    bool written = false;
    bool filled = false;  // see ClaimFill
    uint64_t nlookup = 0;
    uint64_t kept = 0;
    bool listed = false;
    std::map<std::string, fuse_ino_t, std::less<>> children;
  };
  Node* Find(fuse_ino_t ino);
  static bool Fillable(const Node* n, const std::string& hash);
  std::string PathOf(fuse_ino_t ino);
  NodeView View(fuse_ino_t ino, Node& n);
  fuse_ino_t Upsert(fuse_ino_t dir, const std::string& name, const v1::Attr& attr,
                    std::vector<Invalidation>* invals);
  void Detach(fuse_ino_t dir, const std::string& name, uint64_t kept = 0);
  void MaybeErase(fuse_ino_t ino);

  std::mutex mu_;
  std::condition_variable listed_cv_;  // a listing was set
  uint64_t wakes_ = 0;
  fuse_ino_t next_ino_ = FUSE_ROOT_ID + 1;
  std::unordered_map<fuse_ino_t, Node> nodes_;
};

}  // namespace cifs
