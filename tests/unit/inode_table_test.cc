// The fsd inode table: listings, renames, and how farm-side changes turn
// into kernel invalidations (and our own changes echoing back into none).
#include "fsd/inode_table.h"

#include <gtest/gtest.h>

namespace cifs {
namespace {

v1::Attr File(int64_t size, int64_t mtime, const std::string& hash = "") {
  v1::Attr a;
  a.set_type(v1::Attr::FILE);
  a.set_mode(0644);
  a.set_size(size);
  a.set_mtime_ns(mtime);
  a.set_ctime_ns(mtime);
  a.set_hash(hash);
  return a;
}

v1::Attr Dir() {
  v1::Attr a;
  a.set_type(v1::Attr::DIRECTORY);
  a.set_mode(0755);
  return a;
}

google::protobuf::RepeatedPtrField<v1::Entry> Entries(std::vector<std::pair<std::string, v1::Attr>> list) {
  google::protobuf::RepeatedPtrField<v1::Entry> out;
  for (auto& [name, attr] : list) {
    auto* e = out.Add();
    e->set_name(name);
    *e->mutable_attr() = attr;
  }
  return out;
}

v1::Change Change(const std::string& path, bool exists, const v1::Attr& attr = {}) {
  v1::Change c;
  c.set_path(path);
  c.set_exists(exists);
  *c.mutable_attr() = attr;
  return c;
}

// LookupRef, and the node as Get sees it.
InodeTable::Found Lookup(InodeTable& t, fuse_ino_t dir, const std::string& name, InodeTable::NodeView* out) {
  fuse_ino_t ino = 0;
  std::string hash;
  auto found = t.LookupRef(dir, name, [&](fuse_ino_t i, const v1::Attr& attr) {
    ino = i;
    hash = attr.hash();
  });
  if (found == InodeTable::Found::kYes) {
    auto v = t.Get(ino);
    EXPECT_TRUE(v.has_value());
    if (v) *out = *v;
    EXPECT_EQ(out->attr.hash(), hash) << "LookupRef hands over the node's attributes";
  }
  return found;
}

bool Has(const std::vector<Invalidation>& invals, fuse_ino_t ino, const std::string& name = "") {
  for (const auto& i : invals) {
    if (i.ino == ino && i.name == name) return true;
  }
  return false;
}

TEST(InodeTableTest, ListingAnswersLookupsIncludingAbsentNames) {
  InodeTable t(Dir());
  InodeTable::NodeView v;
  EXPECT_EQ(Lookup(t, FUSE_ROOT_ID, "a.txt", &v), InodeTable::Found::kUnknown);
  t.SetListing(FUSE_ROOT_ID, Dir(), Entries({{"a.txt", File(3, 1, "h1")}, {"src", Dir()}}));
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "a.txt", &v), InodeTable::Found::kYes);
  EXPECT_EQ(v.path, "a.txt");
  EXPECT_EQ(v.attr.hash(), "h1");
  EXPECT_EQ(Lookup(t, FUSE_ROOT_ID, "missing", &v), InodeTable::Found::kNo);
}

TEST(InodeTableTest, LearnsHashesOnlyForTheSameFileWithoutOne) {
  InodeTable t(Dir());
  t.SetListing(FUSE_ROOT_ID, Dir(),
               Entries({{"same", File(3, 1)}, {"changed", File(3, 1)}, {"known", File(3, 1, "h0")}, {"w", File(3, 1)}}));
  InodeTable::NodeView w;
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "w", &w), InodeTable::Found::kYes);
  t.MarkWritten(w.ino);
  t.LearnHashes(FUSE_ROOT_ID, Entries({{"same", File(3, 1, "h1")},
                                       {"changed", File(4, 2, "h2")},
                                       {"known", File(3, 1, "h3")},
                                       {"w", File(3, 1, "h4")},
                                       {"new", File(3, 1, "h5")}}));
  auto hash = [&](const std::string& name) {
    auto v = t.Peek(FUSE_ROOT_ID, name);
    return v ? v->attr.hash() : std::string("(none)");
  };
  EXPECT_EQ(hash("same"), "h1");
  EXPECT_EQ(hash("changed"), "") << "another version of the file";
  EXPECT_EQ(hash("known"), "h0") << "what the table knows is kept";
  EXPECT_EQ(hash("w"), "") << "written through the mount: its bytes are the farm's";
  EXPECT_EQ(hash("new"), "(none)") << "nothing is added";
}

TEST(InodeTableTest, FindsPathsItKnows) {
  InodeTable t(Dir());
  t.SetListing(FUSE_ROOT_ID, Dir(), Entries({{"src", Dir()}}));
  fuse_ino_t src = t.FindPath("src");
  ASSERT_NE(src, 0u);
  t.SetListing(src, Dir(), Entries({{"a.c", File(1, 1)}}));
  EXPECT_EQ(t.FindPath(""), FUSE_ROOT_ID);
  EXPECT_NE(t.FindPath("src/a.c"), 0u);
  EXPECT_EQ(t.FindPath("src/b.c"), 0u);
  EXPECT_EQ(t.FindPath("src/a.c/x"), 0u);
}

TEST(InodeTableTest, RelistingKeepsNumbersAndReportsChangedContents) {
  InodeTable t(Dir());
  t.SetListing(FUSE_ROOT_ID, Dir(), Entries({{"a", File(3, 1, "h1")}, {"b", File(3, 1, "h2")}}));
  InodeTable::NodeView a, b;
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "a", &a), InodeTable::Found::kYes);
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "b", &b), InodeTable::Found::kYes);
  auto invals = t.SetListing(FUSE_ROOT_ID, Dir(), Entries({{"a", File(4, 2, "h3")}}));
  InodeTable::NodeView again;
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "a", &again), InodeTable::Found::kYes);
  EXPECT_EQ(again.ino, a.ino);
  EXPECT_TRUE(Has(invals, a.ino)) << "changed contents must drop the page cache";
  EXPECT_TRUE(Has(invals, FUSE_ROOT_ID, "b")) << "a vanished name must drop the dentry";
  auto gone = t.Get(b.ino);
  ASSERT_TRUE(gone.has_value());  // still looked up by the kernel
  EXPECT_FALSE(gone->attached);
}

TEST(InodeTableTest, RenameMovesTheNodeAndReplacesTheTarget) {
  InodeTable t(Dir());
  t.SetListing(FUSE_ROOT_ID, Dir(), Entries({{"src", Dir()}, {"a", File(1, 1)}, {"b", File(2, 1)}}));
  InodeTable::NodeView src, a, b;
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "src", &src), InodeTable::Found::kYes);
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "a", &a), InodeTable::Found::kYes);
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "b", &b), InodeTable::Found::kYes);
  t.SetListing(src.ino, Dir(), Entries({}));
  t.Move(FUSE_ROOT_ID, "a", src.ino, "b", false);
  EXPECT_EQ(t.Get(a.ino)->path, "src/b");
  t.Move(FUSE_ROOT_ID, "b", src.ino, "b", false);  // over an existing file
  EXPECT_EQ(t.Get(b.ino)->path, "src/b");
  EXPECT_FALSE(t.Get(a.ino)->attached);
  InodeTable::NodeView v;
  EXPECT_EQ(Lookup(t, FUSE_ROOT_ID, "b", &v), InodeTable::Found::kNo);
  t.Forget(a.ino, 1);
  EXPECT_FALSE(t.Get(a.ino).has_value()) << "detached and forgotten: gone";
}

TEST(InodeTableTest, FarmChangesInvalidateWhatTheKernelCaches) {
  InodeTable t(Dir());
  t.SetListing(FUSE_ROOT_ID, Dir(), Entries({{"a", File(3, 1, "h1")}}));
  InodeTable::NodeView a;
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "a", &a), InodeTable::Found::kYes);

  // Our own write, echoed with the attributes we already have: nothing to do.
  EXPECT_TRUE(t.ApplyChange(Change("a", true, File(3, 1))).empty());

  // Edited on the farm: drop the page cache and forget the hash.
  auto invals = t.ApplyChange(Change("a", true, File(5, 2)));
  EXPECT_TRUE(Has(invals, a.ino));
  EXPECT_EQ(t.Get(a.ino)->attr.hash(), "");
  EXPECT_EQ(t.Get(a.ino)->attr.size(), 5);

  // Created on the farm: the negative dentry and the listing must go.
  invals = t.ApplyChange(Change("new", true, File(1, 3)));
  EXPECT_TRUE(Has(invals, FUSE_ROOT_ID, "new"));
  EXPECT_FALSE(t.Listed(FUSE_ROOT_ID));

  // Deleted on the farm.
  invals = t.ApplyChange(Change("a", false));
  EXPECT_TRUE(Has(invals, FUSE_ROOT_ID, "a"));
  EXPECT_FALSE(t.Get(a.ino)->attached);

  // Below a directory we never saw: nothing is cached, nothing to do.
  EXPECT_TRUE(t.ApplyChange(Change("unknown/dir/file", true, File(1, 1))).empty());
}

TEST(InodeTableTest, ResetInvalidatesEverythingButKeepsOpenNodes) {
  InodeTable t(Dir());
  t.SetListing(FUSE_ROOT_ID, Dir(), Entries({{"a", File(3, 1, "h1")}}));
  InodeTable::NodeView a;
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "a", &a), InodeTable::Found::kYes);
  auto invals = t.InvalidateAll();
  EXPECT_TRUE(Has(invals, FUSE_ROOT_ID, "a"));
  EXPECT_TRUE(Has(invals, a.ino));
  EXPECT_TRUE(t.Get(a.ino)->attached);
  EXPECT_TRUE(t.Get(a.ino)->attr_stale);
  InodeTable::NodeView v;
  EXPECT_EQ(Lookup(t, FUSE_ROOT_ID, "a", &v), InodeTable::Found::kUnknown) << "must list again";
}

TEST(InodeTableTest, AFillIsClaimedOnlyForCurrentHeldContentsAndAWriteAfterItSaysSo) {
  InodeTable t(Dir());
  t.SetListing(FUSE_ROOT_ID, Dir(), Entries({{"a.c", File(3, 1, "h1")}, {"b.c", File(3, 1, "h2")}}));
  fuse_ino_t a = t.FindPath("a.c"), b = t.FindPath("b.c");
  ASSERT_NE(a, 0u);
  EXPECT_FALSE(t.ClaimFill(a, "h1")) << "the kernel does not hold it yet";
  InodeTable::NodeView v;
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "a.c", &v), InodeTable::Found::kYes);
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "b.c", &v), InodeTable::Found::kYes);
  EXPECT_FALSE(t.ClaimFill(a, "h-old")) << "contents that are not the file's any more";
  EXPECT_TRUE(t.ClaimFill(a, "h1"));
  // A write after the claim: the fill may have landed over it.
  EXPECT_TRUE(t.MarkWritten(a));
  EXPECT_FALSE(t.MarkWritten(a)) << "said once";
  EXPECT_FALSE(t.ClaimFill(a, "h1")) << "written through the mount: its bytes are the farm's";
  // A write with no fill before it has nothing to drop.
  EXPECT_FALSE(t.MarkWritten(b));
  // A stale or removed file takes no fill.
  t.SetListing(FUSE_ROOT_ID, Dir(), Entries({{"c.c", File(3, 1, "h3")}}));
  ASSERT_EQ(Lookup(t, FUSE_ROOT_ID, "c.c", &v), InodeTable::Found::kYes);
  fuse_ino_t c = v.ino;
  t.MarkStale(c);
  EXPECT_FALSE(t.ClaimFill(c, "h3"));
  t.Remove(FUSE_ROOT_ID, "c.c");
  EXPECT_FALSE(t.ClaimFill(c, "h3"));
}

}  // namespace
}  // namespace cifs
