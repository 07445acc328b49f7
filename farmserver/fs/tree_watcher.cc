#include "farmserver/fs/tree_watcher.h"

#include "common/rel_path.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace cifs {
namespace fs = std::filesystem;
namespace {

constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO |
                           IN_DONT_FOLLOW | IN_ONLYDIR | IN_EXCL_UNLINK;

}  // namespace

Result<std::unique_ptr<TreeWatcher>> TreeWatcher::Start(std::string root, ChangeJournal* journal) {
  UniqueFd in(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!in.valid()) return Status::IoError("inotify_init1", errno);
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.valid()) return Status::IoError("eventfd", errno);
  return std::make_unique<TreeWatcher>(Passkey(), std::move(root), journal, std::move(in), std::move(stop));
}

TreeWatcher::TreeWatcher(Passkey, std::string root, ChangeJournal* journal, UniqueFd inotify, UniqueFd stop)
    : root_(std::move(root)), journal_(journal), inotify_(std::move(inotify)), stop_(std::move(stop)) {
  thread_ = std::thread([this] {
    // Watching a large tree takes a while; nobody waits for it. Whatever
    // changed meanwhile may have been missed, so those already watching
    // are told to reset once it is in place.
    WatchTree("", false);
    journal_->AddReset();
    Run();
  });
}

TreeWatcher::~TreeWatcher() {
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void TreeWatcher::WatchTree(const std::string& rel, bool report) {
  std::string abs = rel.empty() ? root_ : root_ + "/" + rel;
  int wd = ::inotify_add_watch(inotify_.get(), abs.c_str(), kMask);
  if (wd < 0) {
    if (errno == ENOSPC) journal_->AddReset();  // out of watches: say changes may be missed
    return;
  }
  paths_[wd] = rel;  // a moved directory keeps its descriptor: this renames it
  std::error_code ec;
  for (fs::directory_iterator it(abs, ec), end; !ec && it != end; it.increment(ec)) {
    std::string child = JoinRelPath(rel, it->path().filename().string());
    if (report) journal_->Add(child);
    if (it->is_directory(ec) && !it->is_symlink(ec)) WatchTree(child, report);
  }
}

void TreeWatcher::Handle(const struct inotify_event& ev) {
  if (ev.mask & IN_Q_OVERFLOW) {
    journal_->AddReset();
    return;
  }
  auto it = paths_.find(ev.wd);
  if (ev.mask & IN_IGNORED) {
    if (it != paths_.end()) paths_.erase(it);
    return;
  }
  if (it == paths_.end() || ev.len == 0) return;
  std::string path = JoinRelPath(it->second, ev.name);
  journal_->Add(path);
  if ((ev.mask & IN_ISDIR) && (ev.mask & (IN_CREATE | IN_MOVED_TO))) WatchTree(path, true);
}

void TreeWatcher::Run() {
  alignas(struct inotify_event) char buf[64 * 1024];
  struct pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    for (;;) {
      ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
      if (n <= 0) break;
      for (char* p = buf; p < buf + n;) {
        auto* ev = reinterpret_cast<struct inotify_event*>(p);
        Handle(*ev);
        p += sizeof(struct inotify_event) + ev->len;
      }
    }
  }
}

}  // namespace cifs
