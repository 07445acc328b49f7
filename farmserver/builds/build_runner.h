// Runs `bazel build|test` on the farm node, in a workspace's farm-side copy:
// admission through the BuildQueue, one warm Bazel server per workspace (the
// least recently used shut down past a limit), the farm's cache and
// build-event service reached with the farm's builder identity, Bazel's
// console recorded as the build's log, cancellation that leaves nothing of the
// build running.
//
//   STATE/bazel/farm.bazelrc        the offline kit's lines
//   STATE/bazel/builder/            builder certificate (owned by the build user)
//   STATE/bazel/roots/WORKSPACE/    --output_user_root of that workspace's Bazel
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "farmserver/bes/build_recorder.h"
#include "farmserver/builds/build_queue.h"
#include "farmserver/builds/child_process.h"

namespace cifs {

struct BuildRunnerOptions {
  std::string state_dir;
  std::string bazel = "bazel";   // name on PATH or a path
  std::string kit_dir;           // offline kit; "" for none
  std::string build_user;        // "" runs builds as the farm's own user
  int max_builds = 2;
  int max_warm_servers = 4;
  int bazel_idle_secs = 3 * 3600;
  std::chrono::milliseconds cancel_grace{5000};
};

struct BuildRequest {
  std::string user;
  std::string workspace;
  std::string workspace_dir;  // the farm-side copy
  UniqueFd cwd;               // directory inside it to run from
  std::string command;
  std::vector<std::string> targets;
  std::vector<std::string> flags;
};

// One farm build, shared by its runner thread and the calls watching it.
class FarmBuild {
 public:
  FarmBuild(std::string id, std::string user, std::string workspace)
      : id_(std::move(id)), user_(std::move(user)), workspace_(std::move(workspace)) {}
  const std::string& id() const { return id_; }
  const std::string& user() const { return user_; }
  const std::string& workspace() const { return workspace_; }
  int queue_position() const { return position_; }
  bool started() const { return started_; }
  bool done() const { return done_; }
  // Blocks until the build has ended (finished, failed or cancelled).
  void WaitDone() const { done_.wait(false); }
  void Cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  friend class BuildRunner;
  const std::string id_, user_, workspace_;
  std::atomic<int> position_{0};
  std::atomic<bool> started_{false}, done_{false}, cancelled_{false};
};

class BuildRunner {
 public:
  BuildRunner(BuildRunnerOptions options, BuildRecorder* recorder, Logger* log)
      : options_(std::move(options)), recorder_(recorder), log_(log), queue_(options_.max_builds) {}
  ~BuildRunner() { Shutdown(); }

  // Prepares the directories, the builder identity (from STATE/ca/ca.key)
  // and the build user; Bazel reaches the farm at `farm_address`
  // (host:port), build links start with `web_url`. When something is
  // missing, builds are refused with the reason and the rest of the farm
  // runs on.
  Status Init(const std::string& farm_address, const std::string& web_url);
  Status available() const;
  const std::string& kit_dir() const { return options_.kit_dir; }
  std::string web_url() const;

  // Records the build and queues it; its runner thread takes it from there.
  Result<std::shared_ptr<FarmBuild>> Submit(BuildRequest request);
  std::shared_ptr<FarmBuild> Find(const std::string& id);

  // The workspace is being deleted: cancels its builds, waits for them to
  // end, stops its Bazel server and removes its output root.
  void ForgetWorkspace(const std::string& workspace);

  // Cancels every build, waits for their threads, shuts the warm servers down.
  void Shutdown();

 private:
  struct Server {
    std::mutex busy;  // held while a build (or a shutdown) uses the server
    std::string workspace_dir;  // under busy
    // Under the runner's mu_: TrimWarmServers reads them for every server.
    std::chrono::steady_clock::time_point last_used;
    bool warm = false;
  };

  Status Prepare();
  void RunBuild(std::shared_ptr<FarmBuild> build, BuildRequest request);
  // Runs Bazel to its end; returns its exit code.
  int Execute(FarmBuild& build, const BuildRequest& request);
  std::vector<std::string> StartupArgs(const std::string& workspace) const;
  ChildSpec Spec(const std::string& workspace, std::vector<std::string> args) const;
  void KillServer(const std::string& workspace);
  void ShutdownServer(const std::string& workspace, Server& server);
  void TrimWarmServers();
  std::shared_ptr<Server> ServerFor(const std::string& workspace);
  std::string RootOf(const std::string& workspace) const;

  BuildRunnerOptions options_;
  BuildRecorder* recorder_;
  Logger* log_;
  BuildQueue queue_;
  // Set by Init, read after available() said yes (both under mu_).
  Status unavailable_ = Status::Unavailable("farm builds are starting up");
  std::string farm_address_;
  std::string web_url_;
  std::string bazel_path_;
  std::optional<RunAs> run_as_;
  std::string builder_dir_;
  std::string user_name_;  // whom builds run as, for USER and LOGNAME

  mutable std::mutex mu_;
  std::condition_variable threads_done_;
  bool shutting_down_ = false;
  int threads_ = 0;
  std::map<std::string, std::shared_ptr<FarmBuild>> builds_;  // running or queued
  std::map<std::string, std::shared_ptr<Server>> servers_;
};

// Bazel's exit code as a name (SUCCESS, BUILD_FAILURE, TESTS_FAILED, ...).
std::string BazelExitName(int code);

}  // namespace cifs
