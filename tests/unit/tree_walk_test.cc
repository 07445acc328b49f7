// The farm's parallel tree listing: every directory once, each after the
// one holding it, the workspace's .git last, and a stop that stops it.
#include "farmserver/fs/tree_walk.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <algorithm>

namespace cifs {
namespace {

// A tree in memory: directory path -> its subdirectory names.
class FakeTree {
 public:
  FakeTree() {
    for (int i = 0; i < 20; ++i) {
      std::string d = "src/d" + std::to_string(i);
      Add(d);
      for (int j = 0; j < 5; ++j) Add(d + "/sub" + std::to_string(j));
    }
    Add(".git");
    for (int i = 0; i < 16; ++i) Add(".git/objects/" + std::to_string(i));
    Add("zz");
  }
  void Add(const std::string& path) {
    std::string parent, rest = path;
    size_t slash;
    while ((slash = rest.find('/')) != std::string::npos) {
      std::string name = rest.substr(0, slash);
      dirs_[parent].insert(name);
      parent = parent.empty() ? name : parent + "/" + name;
      rest = rest.substr(slash + 1);
    }
    dirs_[parent].insert(rest);
    dirs_[path];
  }
  int List(const std::string& path, v1::TreeDir* out) {
    auto it = dirs_.find(path);
    if (it == dirs_.end() || path == gone_) return ENOENT;
    for (const auto& name : it->second) {  // std::set: in name order, as the farm lists
      auto* e = out->add_entries();
      e->set_name(name);
      e->mutable_attr()->set_type(v1::Attr::DIRECTORY);
    }
    return 0;
  }
  size_t size() const { return dirs_.size(); }
  std::string gone_ = "(none)";

 private:
  std::map<std::string, std::set<std::string>> dirs_;
};

std::string Parent(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

std::vector<std::string> Walked(FakeTree& tree, int threads) {
  std::vector<std::string> order;
  int e = TreeWalk::Run(
      "", TreeWalkOptions{threads, 8}, [&](const std::string& p, v1::TreeDir* d) { return tree.List(p, d); },
      [&](v1::TreeDir d) {
        order.push_back(d.path());
        return true;
      },
      [] { return true; });
  EXPECT_EQ(e, 0);
  return order;
}

TEST(TreeWalkTest, EveryDirectoryOnceAfterItsParent) {
  FakeTree tree;
  for (int threads : {1, 4}) {
    auto order = Walked(tree, threads);
    ASSERT_EQ(order.size(), tree.size());
    std::set<std::string> seen;
    for (const auto& p : order) {
      if (!p.empty()) {
        EXPECT_TRUE(seen.count(Parent(p))) << p << " came before its parent (" << threads << " threads)";
      }
      EXPECT_TRUE(seen.insert(p).second) << p << " came twice";
    }
  }
}

TEST(TreeWalkTest, DepthFirstInNameOrderWithTheWorkspacesDotGitLast) {
  FakeTree tree;
  // One lister: the order is exact. More only start .git once nothing else
  // waits to be listed.
  auto order = Walked(tree, 1);
  ASSERT_EQ(order.size(), tree.size());
  EXPECT_EQ(order[1], "src");
  EXPECT_EQ(order[2], "src/d0");
  EXPECT_EQ(order[3], "src/d0/sub0");
  size_t git = std::find(order.begin(), order.end(), ".git") - order.begin();
  EXPECT_EQ(order[git - 1], "zz");
  for (size_t i = git; i < order.size(); ++i) EXPECT_TRUE(order[i].starts_with(".git")) << order[i];
}

TEST(TreeWalkTest, TheRootsErrorIsReturnedAndOnesBelowAreLeftOut) {
  FakeTree tree;
  auto list = [&](const std::string& p, v1::TreeDir* d) { return tree.List(p, d); };
  auto none = [](v1::TreeDir) { return true; };
  EXPECT_EQ(TreeWalk::Run("no/such", {}, list, none, [] { return true; }), ENOENT);
  tree.gone_ = "src/d3";  // removed while the walk went on
  std::vector<std::string> order;
  EXPECT_EQ(TreeWalk::Run(
                "src", {}, list,
                [&](v1::TreeDir d) {
                  order.push_back(d.path());
                  return true;
                },
                [] { return true; }),
            0);
  EXPECT_EQ(order.size(), 1u + 19 * 6) << "src, and 19 of its 20 subtrees";
}

TEST(TreeWalkTest, AStoppedConsumerOrACancelledCallEndsTheWalk) {
  FakeTree tree;
  auto list = [&](const std::string& p, v1::TreeDir* d) { return tree.List(p, d); };
  int emitted = 0;
  EXPECT_EQ(TreeWalk::Run("", {}, list, [&](v1::TreeDir) { return ++emitted < 3; }, [] { return true; }),
            ECANCELED);
  EXPECT_EQ(emitted, 3);
  std::atomic<int> listed = 0;
  auto slow = [&](const std::string& p, v1::TreeDir* d) {
    ++listed;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return tree.List(p, d);
  };
  EXPECT_EQ(TreeWalk::Run("", TreeWalkOptions{2, 16384}, slow, [](v1::TreeDir) { return true; }, [] { return false; }),
            ECANCELED);
  EXPECT_LT(listed.load(), static_cast<int>(tree.size())) << "the walk went on after the call was cancelled";
}

}  // namespace
}  // namespace cifs
