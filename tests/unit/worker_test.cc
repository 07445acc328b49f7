#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/files.h"
#include "worker/file_cache.h"
#include "worker/sandbox.h"
#include "worker/slot.h"

namespace cifs {
namespace {

namespace fs = std::filesystem;

bool Has(const std::vector<std::string>& v, const std::vector<std::string>& seq) {
  return std::search(v.begin(), v.end(), seq.begin(), seq.end()) != v.end();
}

TEST(SandboxTest, BwrapSeesOnlyTheSystemAndItsOwnRootWithoutNetworkUnlessAsked) {
  SandboxSpec spec;
  spec.bwrap = "/usr/bin/bwrap";
  spec.execroot = "/w/exec/1/root";
  spec.workdir = "sub";
  spec.argv = {"sh", "-c", "true"};
  spec.env = {{"PATH", "/bin"}};
  auto a = BwrapArgv(spec, {{"/bin", "usr/bin"}});
  EXPECT_TRUE(Has(a, {"--unshare-all"}));
  EXPECT_FALSE(Has(a, {"--share-net"}));
  EXPECT_TRUE(Has(a, {"--clearenv"}));
  EXPECT_TRUE(Has(a, {"--ro-bind", "/usr", "/usr"}));
  EXPECT_TRUE(Has(a, {"--symlink", "usr/bin", "/bin"}));
  EXPECT_TRUE(Has(a, {"--bind", "/w/exec/1/root", "/execroot"}));
  EXPECT_TRUE(Has(a, {"--chdir", "/execroot/sub"}));
  EXPECT_TRUE(Has(a, {"--setenv", "PATH", "/bin"}));
  EXPECT_TRUE(Has(a, {"--", "sh", "-c", "true"}));
  // The command comes last, after every bwrap option.
  EXPECT_EQ(a.back(), "true");
  spec.network = true;
  EXPECT_TRUE(Has(BwrapArgv(spec, {}), {"--share-net"}));
}

class RunSandboxedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/bwrap", X_OK) != 0) GTEST_FAIL() << "bubblewrap is not installed (scripts/install-deps)";
    dir_ = fs::temp_directory_path() / ("cifs-sandbox-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "root");
    fs::create_directories(dir_ / "secret");
    ASSERT_TRUE(WriteFileAtomic((dir_ / "secret" / "key").string(), "s3cret").ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result<SandboxResult> Run(const std::string& script, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    SandboxSpec spec;
    spec.bwrap = "/usr/bin/bwrap";
    spec.execroot = (dir_ / "root").string();
    spec.argv = {"/bin/sh", "-c", script};
    spec.env = {{"PATH", "/usr/bin:/bin"}};
    spec.stdout_path = (dir_ / "stdout").string();
    spec.stderr_path = (dir_ / "stderr").string();
    spec.timeout = timeout;
    return RunSandboxed(spec);
  }
  static std::string Read(const fs::path& p) {
    auto data = ReadFile(p.string());
    return data.ok() ? *data : "";
  }
  std::string Out() { return Read(dir_ / "stdout"); }

  fs::path dir_;
};

TEST_F(RunSandboxedTest, WritesLandInItsRootAndNothingElseOfTheMachineIsThere) {
  auto r = Run("echo made > out && cat " + (dir_ / "secret" / "key").string() + " 2>&1; ls /; ls /sys 2>&1; exit 0");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(Read(dir_ / "root" / "out"), "made\n");
  std::string out = Out();
  EXPECT_EQ(out.find("s3cret"), std::string::npos) << out;
  EXPECT_NE(out.find("No such file"), std::string::npos) << out;
  // Only what the sandbox lays out: no /home, /root, /var, /sys, /run.
  for (const char* hidden : {"home", "root", "var", "run", "sys"}) {
    EXPECT_EQ(("\n" + out).find("\n" + std::string(hidden) + "\n"), std::string::npos) << hidden << " in " << out;
  }
}

TEST_F(RunSandboxedTest, TheSystemIsReadOnlyAndExitCodesComeBack) {
  auto r = Run("touch /usr/cifs-was-here 2>/dev/null && exit 0; exit 7");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_FALSE(fs::exists("/usr/cifs-was-here"));
}

TEST_F(RunSandboxedTest, PastItsTimeoutEverythingItStartedIsKilled) {
  auto r = Run("sleep 600 & sleep 600", std::chrono::milliseconds(300));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_NE(r->exit_code, 0);
}

TEST(SlotTest, OneNodeHoldsTheWorkerAndEveryChangeIsNewerThanTheLast) {
  Slot slot;
  int node1 = 0, node2 = 0;
  const v1::WorkerAvailability start = slot.Now();
  EXPECT_FALSE(start.busy());
  v1::WorkerAvailability claimed;
  ASSERT_TRUE(slot.Claim(&node1, &claimed));
  EXPECT_TRUE(claimed.busy());
  EXPECT_GT(claimed.epoch(), start.epoch());
  v1::WorkerAvailability refused;
  EXPECT_FALSE(slot.Claim(&node2, &refused));
  // Refusing changes nothing: the decline carries the state node2 must keep.
  EXPECT_TRUE(refused.busy());
  EXPECT_EQ(refused.epoch(), claimed.epoch());
  const v1::WorkerAvailability freed = slot.Release();
  EXPECT_FALSE(freed.busy());
  EXPECT_GT(freed.epoch(), claimed.epoch());
  EXPECT_TRUE(slot.Claim(&node2, &claimed));
}

TEST(FileCacheTest, KeepsWithinItsBoundEvictingWhatWasPlacedLeastRecently) {
  const fs::path dir = fs::temp_directory_path() / ("cifs-file-cache-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  // What an earlier process of the worker left: three 100-byte blobs, the
  // first the oldest, and a write it did not finish.
  std::vector<Digest> blobs;
  for (char c : {'a', 'b', 'c'}) {
    Digest d{std::string(64, c), 100};
    fs::create_directories(dir / d.hash.substr(0, 2));
    const fs::path path = dir / d.hash.substr(0, 2) / (d.hash + "-100");
    ASSERT_TRUE(WriteFileAtomic(path.string(), std::string(100, c)).ok());
    fs::last_write_time(path, fs::file_time_type::clock::now() - std::chrono::hours(3 - blobs.size()));
    blobs.push_back(d);
  }
  ASSERT_TRUE(WriteFileAtomic((dir / "aa" / "partial.tmp").string(), "x").ok());
  FileCache cache(dir.string(), 250);
  cache.Load();
  EXPECT_EQ(cache.bytes(), 300u);
  EXPECT_FALSE(fs::exists(dir / "aa" / "partial.tmp"));
  // An action uses the oldest: now b is the least recently used.
  fs::create_directories(dir / "root");
  ASSERT_TRUE(cache.Place(blobs[0], false, (dir / "root" / "in").string()).ok());
  EXPECT_EQ(cache.Check(), 0);
  EXPECT_EQ(cache.Trim(), 1);
  EXPECT_EQ(cache.bytes(), 200u);
  EXPECT_TRUE(cache.Place(blobs[0], false, (dir / "root" / "in2").string()).ok());
  EXPECT_TRUE(cache.Place(blobs[1], false, (dir / "root" / "in3").string()).code() == Status::Code::kNotFound);
  EXPECT_TRUE(cache.Place(blobs[2], false, (dir / "root" / "in4").string()).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cifs
