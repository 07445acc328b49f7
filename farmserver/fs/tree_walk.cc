#include "farmserver/fs/tree_walk.h"

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common/rel_path.h"

namespace cifs {
namespace {

constexpr auto kConsumerTick = std::chrono::milliseconds(100);

struct Walk {
  Walk(const TreeWalkOptions& o, const TreeWalk::ListFn& l) : options(o), list(l) {}
  const TreeWalkOptions& options;
  const TreeWalk::ListFn& list;
  std::mutex mu;
  std::condition_variable work_cv;  // something to list, room to list it, or the end
  std::condition_variable out_cv;   // something listed, or the end
  std::vector<std::string> stack;   // to list; the back first
  std::deque<v1::TreeDir> out;      // listed, for the consumer
  size_t buffered = 0;              // entries in `out`
  int busy = 0;                     // listers at work
  bool stop = false;

  bool Finished() const { return stack.empty() && busy == 0; }

  // With `mu` held: `dir` is listed; what is below it comes after it.
  void Listed(v1::TreeDir dir) {
    // The workspace's .git at the bottom of the stack: listed last.
    bool git_last = dir.path().empty();
    if (git_last) {
      for (const auto& e : dir.entries()) {
        if (e.name() == ".git" && e.attr().type() == v1::Attr::DIRECTORY) stack.push_back(".git");
      }
    }
    for (auto it = dir.entries().rbegin(); it != dir.entries().rend(); ++it) {
      if (it->attr().type() == v1::Attr::DIRECTORY && !(git_last && it->name() == ".git")) {
        stack.push_back(JoinRelPath(dir.path(), it->name()));
      }
    }
    buffered += static_cast<size_t>(dir.entries_size()) + 1;
    out.push_back(std::move(dir));
  }

  void Lister() {
    for (;;) {
      std::string path;
      {
        std::unique_lock lock(mu);
        work_cv.wait(lock, [&] {
          return stop || Finished() || (!stack.empty() && buffered < options.max_buffered_entries);
        });
        if (stop || Finished()) return;
        path = std::move(stack.back());
        stack.pop_back();
        ++busy;
      }
      v1::TreeDir dir;
      dir.set_path(path);
      int e = list(path, &dir);
      {
        std::lock_guard lock(mu);
        --busy;
        if (e == 0) Listed(std::move(dir));  // else removed while we walked: left out
      }
      work_cv.notify_all();
      out_cv.notify_one();
    }
  }
};

}  // namespace

int TreeWalk::Run(const std::string& root, const TreeWalkOptions& options, const ListFn& list, const EmitFn& emit,
                  const ContinueFn& go_on) {
  Walk walk(options, list);
  {
    v1::TreeDir dir;
    dir.set_path(root);
    if (int e = list(root, &dir)) return e;
    walk.Listed(std::move(dir));
  }
  std::vector<std::thread> listers;
  for (int i = 0; i < std::max(1, options.threads); ++i) listers.emplace_back([&walk] { walk.Lister(); });
  int rc = 0;
  for (;;) {
    std::deque<v1::TreeDir> got;
    bool finished;
    {
      std::unique_lock lock(walk.mu);
      walk.out_cv.wait_for(lock, kConsumerTick, [&] { return !walk.out.empty() || walk.Finished(); });
      got.swap(walk.out);
      walk.buffered = 0;
      finished = walk.Finished();
    }
    walk.work_cv.notify_all();
    for (auto& dir : got) {
      if (!emit(std::move(dir))) {
        rc = ECANCELED;
        break;
      }
    }
    if (rc != 0 || finished) break;
    if (!go_on()) {
      rc = ECANCELED;
      break;
    }
  }
  {
    std::lock_guard lock(walk.mu);
    walk.stop = true;
  }
  walk.work_cv.notify_all();
  for (auto& t : listers) t.join();
  return rc;
}

}  // namespace cifs
