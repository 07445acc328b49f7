#include "farmserver/builds/bazel_flags.h"

#include <gtest/gtest.h>

namespace cifs {
namespace {

const std::string kKit = "/opt/cifs/kit";

Status Check(std::vector<std::string> flags, std::vector<std::string> targets = {}) {
  return CheckBazelRequest("build", targets, flags, kKit);
}

TEST(BazelFlags, EverydayFlagsPass) {
  EXPECT_TRUE(Check({"-c", "opt", "--copt=-O2", "--copt", "-DX=1", "--test_output=all", "--keep_going",
                     "--config=ci", "--define=a=b", "--test_filter=Foo.*", "--jobs=4", "--nocache_test_results"})
                  .ok());
  EXPECT_TRUE(CheckBazelRequest("test", {"//...", "-//app:slow", ":rel", "@repo//x:y"}, {}, kKit).ok());
}

TEST(BazelFlags, OnlyBuildAndTest) {
  for (const char* cmd : {"run", "clean", "shutdown", "query", "", "build --x"}) {
    Status s = CheckBazelRequest(cmd, {}, {}, kKit);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << cmd;
  }
}

TEST(BazelFlags, StartupOptionsAreRefusedInEveryForm) {
  for (const char* f : {"--output_base=/x", "--output_user_root=/x", "--host_jvm_args=-Xmx1g", "--batch", "--nobatch",
                        "--bazelrc=/x", "--nohome_rc", "--max_idle_secs=1", "-output_base=/x", "--install_base=/x",
                        "--server_javabase=/x"}) {
    Status s = Check({f});
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << f;
    EXPECT_NE(s.message().find("startup option"), std::string::npos) << s.message();
  }
}

TEST(BazelFlags, FarmOwnedFlagsAreRefused) {
  for (const char* f : {"--remote_cache=grpc://evil:1", "--bes_backend=grpcs://evil", "--tls_client_key=/etc/shadow",
                        "--invocation_id=1", "--build_event_json_file=/tmp/x", "--profile=/tmp/p",
                        "--symlink_prefix=/tmp/", "--package_path=/elsewhere", "--remote_header=x=y",
                        "--experimental_convenience_symlinks=normal", "--remote_executor=grpc://x"}) {
    Status s = Check({f});
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << f;
    EXPECT_NE(s.message().find("the farm sets it itself"), std::string::npos) << s.message();
  }
}

TEST(BazelFlags, CachesAndRepositoriesOnlyInsideTheKit) {
  EXPECT_TRUE(Check({"--override_repository=rules_cc=/opt/cifs/kit/rules_cc"}).ok());
  EXPECT_TRUE(Check({"--disk_cache=/opt/cifs/kit/disk"}).ok());
  EXPECT_TRUE(Check({"--repository_cache", "/opt/cifs/kit/repos"}).ok());
  for (std::vector<std::string> flags : std::vector<std::vector<std::string>>{
           {"--override_repository=rules_cc=/tmp/evil"},
           {"--disk_cache=/tmp/dc"},
           {"--disk_cache", "/tmp/dc"},
           {"--repository_cache=/opt/cifs/kit/../../etc"},
           {"--distdir=/opt/cifs/kitten"},
           {"--disk_cache=relative/dir"},
           {"--disk_cache"}}) {
    Status s = Check(flags);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << flags[0];
    EXPECT_NE(s.message().find("inside the farm's Bazel kit"), std::string::npos) << s.message();
  }
  EXPECT_FALSE(CheckBazelRequest("build", {}, {"--disk_cache=/opt/cifs/kit/x"}, "").ok());
}

TEST(BazelFlags, TargetsCannotSmuggleFlags) {
  EXPECT_FALSE(Check({}, {"--output_base=/x"}).ok());
  EXPECT_FALSE(Check({}, {"-x"}).ok());
  EXPECT_FALSE(Check({}, {"//a\nb"}).ok());
  EXPECT_FALSE(Check({}, {""}).ok());
  EXPECT_FALSE(Check({"--"}).ok());
  EXPECT_FALSE(Check({std::string("--copt=a\0b", 10)}).ok());
}

}  // namespace
}  // namespace cifs
