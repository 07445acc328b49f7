// Runs `bazel build|test` on the farm node, in a workspace's farm-side copy
// or a validation's checkout: admission through the BuildQueue, one warm
// Bazel server per workspace (the least recently used shut down past a
// limit), Bazel's console recorded as the build's log, cancellation that
// leaves nothing of the build running.
//
// Sealed: every workspace's builds (and every repository's validations) run
// under a uid of their own (BuildUids), never root. That uid may read its own
// tree, write its own output root and read its own build's credential; the
// kernel refuses it everything else the farm keeps. Each build reaches the
// cache and the build-event service with a certificate of its own (CN = the
// build's id), registered in BuildScopes while the build runs and useless
// after. A validation's root is removed with every process of its uid when
// it ends, so nothing one PR's code left behind meets the next PR's
// validation; it starts on a root only baselines (builds of the target's
// tip, trusted code) used since, warm when one ran.
//
//   STATE/bazel/farm.bazelrc        the offline kit's lines
//   STATE/bazel/uids                workspace -> uid
//   STATE/bazel/creds/BUILD/        that build's certificate (its uid's, 0700)
//   STATE/bazel/roots/WORKSPACE/    that workspace's Bazel: out/ (--output_user_root), home/, tmp/
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "farmserver/bes/build_recorder.h"
#include "farmserver/build_scopes.h"
#include "farmserver/builds/build_queue.h"
#include "farmserver/builds/build_uids.h"
#include "process/child_process.h"
#include "identity/certificate_authority.h"

namespace cifs {

struct BuildRunnerOptions {
  std::string state_dir;
  std::string bazel = "bazel";   // name on PATH or a path
  std::string kit_dir;           // offline kit; "" for none
  UidRange build_uids{810000, 819999};
  int max_builds = 2;
  int max_warm_servers = 4;
  int bazel_idle_secs = 3 * 3600;
  std::chrono::milliseconds cancel_grace{5000};
  // The node runs remote-execution workers: farm builds send their actions
  // there too, so one build uses every worker's cores.
  bool remote_exec = false;
};

struct BuildRequest {
  BuildKind kind = BuildKind::kWorkspace;
  std::string user;
  std::string workspace;
  std::string workspace_dir;  // the farm-side copy
  UniqueFd cwd;               // directory inside it to run from
  std::string command;
  std::vector<std::string> targets;  // for "query": the expression
  std::vector<std::string> flags;
  // Keep Bazel's console (stdout and stderr, up to 16 MiB) in the
  // FarmBuild as well as in its log: a query's answer is read from it.
  bool capture_output = false;
  // Non-workspace builds: whose untrusted code runs (e.g. "pr/12/3"). A
  // root only ever meets one taint between wipes; a baseline has none.
  std::string taint;
  // kBatch: the validation tiers it may also read (BuildCacheScope).
  std::vector<std::string> also_read;
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
  // The console, when the request asked to keep it; read once done().
  const std::string& output() const { return output_; }

 private:
  friend class BuildRunner;
  const std::string id_, user_, workspace_;
  std::atomic<int> position_{0};
  std::atomic<bool> started_{false}, done_{false}, cancelled_{false};
  std::string output_;  // written by the runner thread before done_
};

class BuildRunner {
 public:
  BuildRunner(BuildRunnerOptions options, BuildRecorder* recorder, BuildScopes* scopes, Logger* log)
      : options_(std::move(options)), recorder_(recorder), scopes_(scopes), log_(log), queue_(options_.max_builds) {}
  ~BuildRunner() { Shutdown(); }

  // Prepares the directories, the CA that signs each build's credential
  // (STATE/ca/ca.key) and the uid map; Bazel reaches the farm at `farm_address`
  // (host:port), build links start with `web_url`. When something is
  // missing, builds are refused with the reason and the rest of the farm
  // runs on.
  Status Init(const std::string& farm_address, const std::string& web_url);
  Status available() const;
  // The uid something the farm runs for `key` runs as (a workspace, a
  // repository's validations, the remote-execution workers).
  Result<RunAs> UidFor(const std::string& key) { return WhoRuns(key); }
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
  // Whose code a non-workspace build runs ("" for a baseline's trusted code).
  std::string TaintOf(const BuildRequest& request);
  // A validation or batch wipes its root when it ends; an analysis leaves
  // it warm for its PR's test.
  static bool EndsTaint(BuildKind kind);
  void RunBuild(std::shared_ptr<FarmBuild> build, BuildRequest request);
  // Runs Bazel to its end; returns its exit code.
  int Execute(FarmBuild& build, const BuildRequest& request);
  int RunBazel(FarmBuild& build, const BuildRequest& request, const RunAs& who, const std::string& creds);
  // Runs `args` as `who` to its end, recording its console; its exit code.
  int RunChild(FarmBuild& build, const BuildRequest& request, const RunAs& who, std::vector<std::string> args);
  // Opens the build's tree and output root to `who` alone.
  Status SealFor(const BuildRequest& request, const RunAs& who);
  // Writes the build's certificate into `dir` (owned by `who`, 0700).
  Status IssueCredential(const FarmBuild& build, const RunAs& who, const std::string& dir);
  Result<RunAs> WhoRuns(const std::string& workspace);
  // Stops everything running as `who` and removes the root of `key`.
  void Wipe(const std::string& key, const RunAs& who);
  // One farm per uid range on a node (a lock held while the farm runs).
  Status LockUidRange();
  std::vector<std::string> StartupArgs(const std::string& workspace) const;
  ChildSpec Spec(const std::string& workspace, const RunAs& who, std::vector<std::string> args) const;
  // Adds the farm's own line to a build's console; a log that cannot take it
  // is reported in the farm's log instead.
  void Note(const std::string& build_id, const std::string& text);
  void KillServer(const std::string& workspace);
  void ShutdownServer(const std::string& workspace, Server& server);
  void TrimWarmServers();
  std::shared_ptr<Server> ServerFor(const std::string& workspace);
  // STATE/bazel/roots/WORKSPACE (the farm's, 0750 to the build's group)
  // holding out/ (--output_user_root), home/ and tmp/ (the build uid's).
  std::string RootOf(const std::string& workspace) const;
  std::string OutputRootOf(const std::string& workspace) const;

  BuildRunnerOptions options_;
  BuildRecorder* recorder_;
  BuildScopes* scopes_;
  Logger* log_;
  BuildQueue queue_;
  // Set by Init, read after available() said yes (both under mu_).
  Status unavailable_ = Status::Unavailable("farm builds are starting up");
  std::string farm_address_;
  std::string web_url_;
  std::string bazel_path_;
  std::string bazel_label_;  // DescribeBazel(bazel_path_), for the build records
  std::optional<CertificateAuthority> ca_;
  std::unique_ptr<BuildUids> uids_;
  UniqueFd uid_range_lock_;

  mutable std::mutex mu_;
  std::condition_variable threads_done_;
  bool shutting_down_ = false;
  int threads_ = 0;
  std::map<std::string, std::shared_ptr<FarmBuild>> builds_;  // running or queued
  std::map<std::string, std::shared_ptr<Server>> servers_;
  // Per validation root, whose untrusted code it met since it was wiped:
  // "" only trusted code (baselines), so any validation may start on it
  // warm; a taint, so only builds of that same taint may (a PR's analysis
  // then its test). Absent: unknown, wiped first.
  std::map<std::string, std::string> root_taint_;
  std::atomic<uint64_t> untainted_{0};
};

// Bazel's exit code as a name (SUCCESS, BUILD_FAILURE, TESTS_FAILED, ...).
std::string BazelExitName(int code);

}  // namespace cifs
