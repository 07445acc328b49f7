#include "fsd/fuse_bridge.h"

#include <cerrno>

#include "fsd/mount.h"

namespace cifs {
namespace {

Mount* M(fuse_req_t req) { return static_cast<Mount*>(fuse_req_userdata(req)); }

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = [](void* userdata, struct fuse_conn_info* conn) { static_cast<Mount*>(userdata)->Init(conn); };
  ops.lookup = [](fuse_req_t req, fuse_ino_t parent, const char* name) { M(req)->Lookup(req, parent, name); };
  ops.forget = [](fuse_req_t req, fuse_ino_t ino, uint64_t n) {
    M(req)->Forget(ino, n);
    fuse_reply_none(req);
  };
  ops.forget_multi = [](fuse_req_t req, size_t count, struct fuse_forget_data* forgets) {
    for (size_t i = 0; i < count; ++i) M(req)->Forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  };
  ops.getattr = [](fuse_req_t req, fuse_ino_t ino, struct fuse_file_info*) { M(req)->GetAttr(req, ino); };
  ops.setattr = [](fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, struct fuse_file_info*) {
    M(req)->SetAttr(req, ino, attr, to_set);
  };
  ops.readlink = [](fuse_req_t req, fuse_ino_t ino) { M(req)->ReadLink(req, ino); };
  ops.mknod = [](fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t) {
    M(req)->MkNod(req, parent, name, mode);
  };
  ops.mkdir = [](fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
    M(req)->MkDir(req, parent, name, mode);
  };
  ops.symlink = [](fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
    M(req)->Symlink(req, target, parent, name);
  };
  ops.unlink = [](fuse_req_t req, fuse_ino_t parent, const char* name) { M(req)->Unlink(req, parent, name, false); };
  ops.rmdir = [](fuse_req_t req, fuse_ino_t parent, const char* name) { M(req)->Unlink(req, parent, name, true); };
  ops.rename = [](fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
                  unsigned int flags) { M(req)->Rename(req, parent, name, newparent, newname, flags); };
  // Hard links would need one farm file under two names; the workspace
  // model has none. Git falls back to rename when link fails.
  ops.link = [](fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); };
  ops.create = [](fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, struct fuse_file_info* fi) {
    M(req)->Create(req, parent, name, mode, fi);
  };
  ops.open = [](fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) { M(req)->Open(req, ino, fi); };
  ops.read = [](fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
    M(req)->Read(req, ino, size, off, fi);
  };
  ops.write = [](fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                 struct fuse_file_info* fi) { M(req)->Write(req, ino, buf, size, off, fi); };
  // Every write is on the farm when it returns: nothing is left to flush, so
  // flush stays unimplemented (ENOSYS once, then the kernel stops sending it)
  // and release needs no work (libfuse answers it).
  ops.fsync = [](fuse_req_t req, fuse_ino_t ino, int, struct fuse_file_info*) { M(req)->Fsync(req, ino); };
  ops.opendir = [](fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) { M(req)->OpenDir(req, ino, fi); };
  ops.readdir = [](fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
    M(req)->ReadDir(req, ino, size, off, fi, false);
  };
  ops.readdirplus = [](fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
    M(req)->ReadDir(req, ino, size, off, fi, true);
  };
  ops.fsyncdir = [](fuse_req_t req, fuse_ino_t ino, int, struct fuse_file_info*) { M(req)->Fsync(req, ino); };
  ops.statfs = [](fuse_req_t req, fuse_ino_t) { M(req)->StatFs(req); };
  // Extended attributes stay unimplemented: libfuse answers ENOSYS and the
  // kernel stops asking.
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& MountOperations() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace cifs
