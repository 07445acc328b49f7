#include "farmserver/builds/build_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "farmserver/builds/bazel_label.h"
#include "farmserver/builds/status_dedup.h"
#include "common/bazel_kit.h"
#include "common/clock.h"
#include "common/files.h"
#include "identity/certificate_authority.h"

namespace cifs {

namespace fs = std::filesystem;

namespace {

// A build's certificate is refused once its build ends (BuildScopes); its
// validity only bounds one the farm could not unregister (a crash).
constexpr int kBuildCertDays = 2;

std::string NewInvocationId() {
  std::random_device rd;
  std::uniform_int_distribution<uint32_t> d;
  uint8_t b[16];
  for (int i = 0; i < 16; i += 4) {
    uint32_t v = d(rd);
    for (int j = 0; j < 4; ++j) b[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  b[6] = (b[6] & 0x0f) | 0x40;  // UUID version 4, as Bazel makes them
  b[8] = (b[8] & 0x3f) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

Status ChownTree(const std::string& path, const RunAs& who) {
  std::error_code ec;
  if (::lchown(path.c_str(), who.uid, who.gid) < 0) return Status::Internal("chown " + path + " failed");
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (::lchown(it->path().c_str(), who.uid, who.gid) < 0) return Status::Internal("chown " + path + " failed");
  }
  return Status::Ok();
}

// Build uids walk to their trees by name: every directory above the state
// directory must let others through (search permission, not listing).
Status CheckTraversable(const std::string& state_dir) {
  std::error_code ec;
  for (fs::path p = fs::absolute(state_dir, ec).parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH)) {
      return Status::FailedPrecondition("farm builds are off: their uids cannot reach the state directory through " +
                                        p.string() + " (mode " + std::to_string((st.st_mode >> 6) & 7) +
                                        std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                                        "); let others pass it with chmod o+x " + p.string());
    }
    if (p == p.root_path()) break;
  }
  return Status::Ok();
}

// `dir` and what is directly in it belong to `uid` (a directory made while
// builds ran as someone else is then handed over whole).
bool OwnedBy(const std::string& root, uid_t uid) {
  struct stat st {};
  if (::stat(root.c_str(), &st) < 0 || st.st_uid != uid) return false;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    if (::lstat(e.path().c_str(), &st) < 0 || st.st_uid != uid) return false;
  }
  return true;
}

}  // namespace

std::string BazelExitName(int code) {
  switch (code) {
    case 0: return "SUCCESS";
    case 1: return "BUILD_FAILURE";
    case 2: return "COMMAND_LINE_ERROR";
    case 3: return "TESTS_FAILED";
    case 4: return "NO_TESTS_FOUND";
    case 8: return "INTERRUPTED";
    case 36: return "LOCAL_ENVIRONMENTAL_ERROR";
    case 37: return "BLAZE_INTERNAL_ERROR";
    case 38: return "PUBLISH_ERROR";
    default: return "EXIT_" + std::to_string(code);
  }
}

Status BuildRunner::available() const {
  std::lock_guard lock(mu_);
  return unavailable_;
}

std::string BuildRunner::web_url() const {
  std::lock_guard lock(mu_);
  return web_url_;
}

Status BuildRunner::Init(const std::string& farm_address, const std::string& web_url) {
  Status s = Prepare();
  std::lock_guard lock(mu_);
  farm_address_ = farm_address;
  web_url_ = web_url;
  unavailable_ = s;
  if (s.ok()) {
    log_->Info("build_runner_ready", {{"bazel", bazel_path_},
                                      {"bazel_version", bazel_label_},
                                      {"build_uids", std::to_string(options_.build_uids.first) + "-" +
                                                         std::to_string(options_.build_uids.last)},
                                      {"max_builds", options_.max_builds},
                                      {"max_warm_servers", options_.max_warm_servers},
                                      {"kit", options_.kit_dir}});
  }
  return s;
}

Status BuildRunner::Prepare() {
  auto bazel = FindExecutable(options_.bazel);
  if (!bazel.ok()) return Status::FailedPrecondition("farm builds are off: " + bazel.status().message());
  bazel_path_ = *bazel;
  bazel_label_ = DescribeBazel(bazel_path_);
  if (::geteuid() != 0) {
    return Status::FailedPrecondition(
        "farm builds are off: they run under a uid of their own per workspace (--build-uids), which needs "
        "farmserver to run as root; start it as root to build on this node");
  }
  CIFS_RETURN_IF_ERROR(CheckTraversable(options_.state_dir));
  std::string base = options_.state_dir + "/bazel";
  // A build walks to its own files by name; it lists nothing the farm keeps.
  for (const auto& dir : {options_.state_dir, base, base + "/roots", base + "/creds"}) {
    CIFS_RETURN_IF_ERROR(MakeDirs(dir, 0711));
  }
  CIFS_RETURN_IF_ERROR(LockUidRange());
  auto uids = BuildUids::Open(base + "/uids", options_.build_uids);
  if (!uids.ok()) return uids.status();
  uids_ = std::move(*uids);

  // Servers a killed farm left behind still run its builds: stop them; and
  // credentials of its builds are worthless now.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(base + "/roots", ec)) KillServer(e.path().filename().string());
  for (const auto& e : fs::directory_iterator(base + "/creds", ec)) fs::remove_all(e.path(), ec);
  fs::remove_all(base + "/builder", ec);  // the shared credential of farms before per-build ones

  std::vector<std::string> rc = {"# written by farmserver for the builds it runs"};
  if (!options_.kit_dir.empty()) {
    for (auto& line : KitBazelrcLines(options_.kit_dir)) rc.push_back(std::move(line));
  }
  std::string text;
  for (const auto& l : rc) text += l + "\n";
  CIFS_RETURN_IF_ERROR(WriteFileAtomic(base + "/farm.bazelrc", text, 0644));

  auto ca_key = ReadFile(options_.state_dir + "/ca/ca.key");
  auto ca_cert = ReadFile(options_.state_dir + "/ca/ca.crt");
  if (!ca_key.ok() || !ca_cert.ok()) {
    return Status::FailedPrecondition("farm builds are off: the farm has no CA key in " + options_.state_dir +
                                      "/ca to issue its builds' certificates");
  }
  auto ca = CertificateAuthority::Load(*ca_key, *ca_cert);
  if (!ca.ok()) return ca.status();
  ca_ = std::move(*ca);
  return Status::Ok();
}

Status BuildRunner::LockUidRange() {
  // Two farms on one node under the same uids would kill each other's
  // builds (a validation ends by killing its uid's processes) and read each
  // other's trees. The lock is the kernel's: it goes with the process.
  const auto& r = options_.build_uids;
  const std::string range = std::to_string(r.first) + "-" + std::to_string(r.last);
  const std::string dir = fs::is_directory("/run/lock") ? "/run/lock" : "/tmp";
  const std::string path = dir + "/cifs-build-uids-" + std::to_string(r.first) + ".lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd.valid()) return Status::FailedPrecondition("farm builds are off: cannot open " + path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
    return Status::FailedPrecondition("farm builds are off: another farm on this node runs its builds under "
                                      "--build-uids " + range + "; give each farm a range of its own");
  }
  uid_range_lock_ = std::move(fd);
  return Status::Ok();
}

Result<RunAs> BuildRunner::WhoRuns(const std::string& workspace) {
  if (!uids_) return Status::FailedPrecondition("farm builds are off");
  auto uid = uids_->For(workspace);
  if (!uid.ok()) return uid.status();
  // A group of its own too, and no supplementary groups: nothing shared.
  return RunAs{*uid, static_cast<gid_t>(*uid), {}};
}

Status BuildRunner::SealFor(const BuildRequest& request, const RunAs& who) {
  // The tree: root's, readable by this uid's group alone. Below it files
  // keep their modes; nobody else gets past the top.
  if (::chown(request.workspace_dir.c_str(), 0, who.gid) < 0 || ::chmod(request.workspace_dir.c_str(), 0750) < 0) {
    return Status::Internal("cannot open " + request.workspace_dir + " to its build uid");
  }
  // Its root: the farm's, entered by this uid's group alone, whatever modes
  // Bazel gives what it makes inside.
  const std::string root = RootOf(request.workspace);
  std::error_code ec;
  if (request.kind != BuildKind::kWorkspace) {
    // A validation may only meet what trusted code or its own PR's code
    // left: a root that only baselines (and builds of its taint) used since
    // it was wiped. It leaves the root tainted until the wipe that ends it.
    const std::string taint = TaintOf(request);
    bool reuse;
    {
      std::lock_guard lock(mu_);
      auto it = root_taint_.find(request.workspace);
      reuse = it != root_taint_.end() && (it->second.empty() || it->second == taint);
      root_taint_[request.workspace] = taint;
    }
    if (!reuse) Wipe(request.workspace, who);
  }
  CIFS_RETURN_IF_ERROR(MakeDirs(root, 0750));
  if (::chown(root.c_str(), 0, who.gid) < 0) return Status::Internal("cannot chown " + root);
  for (const char* sub : {"/out", "/home", "/tmp"}) {
    const std::string dir = root + sub;
    CIFS_RETURN_IF_ERROR(MakeDirs(dir, 0700));
    // Made under another uid (an older farm, a changed range): handed over whole.
    if (!OwnedBy(dir, who.uid)) CIFS_RETURN_IF_ERROR(ChownTree(dir, who));
  }
  return Status::Ok();
}

Status BuildRunner::IssueCredential(const FarmBuild& build, const RunAs& who, const std::string& dir) {
  auto cert = ca_->IssueClient(build.id(), Role::kBuilder, kBuildCertDays);
  if (!cert.ok()) return cert.status();
  if (::mkdir(dir.c_str(), 0700) < 0 || ::chown(dir.c_str(), who.uid, who.gid) < 0) {
    return Status::Internal("cannot create " + dir);
  }
  // Lives as long as the build: no fsync, nothing to replace atomically.
  auto put = [&](const char* name, const std::string& data) {
    const std::string path = dir + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid() || ::fchown(fd.get(), who.uid, who.gid) < 0 ||
        ::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
      return Status::Internal("cannot write " + path);
    }
    return Status::Ok();
  };
  CIFS_RETURN_IF_ERROR(put("key.pem", cert->key_pem));
  CIFS_RETURN_IF_ERROR(put("cert.pem", cert->cert_pem));
  return put("ca.crt", ca_->ca().cert_pem);
}

std::string BuildRunner::RootOf(const std::string& workspace) const {
  return options_.state_dir + "/bazel/roots/" + workspace;
}

std::string BuildRunner::OutputRootOf(const std::string& workspace) const { return RootOf(workspace) + "/out"; }

std::vector<std::string> BuildRunner::StartupArgs(const std::string& workspace) const {
  return {"bazel",
          "--output_user_root=" + OutputRootOf(workspace),
          "--nohome_rc",
          "--bazelrc=" + options_.state_dir + "/bazel/farm.bazelrc",
          "--max_idle_secs=" + std::to_string(options_.bazel_idle_secs)};
}

ChildSpec BuildRunner::Spec(const std::string& workspace, const RunAs& who, std::vector<std::string> args) const {
  ChildSpec spec;
  spec.exe = bazel_path_;
  spec.argv = std::move(args);
  // Build uids have no passwd entry: name them for Bazel and the tools it runs.
  const std::string user = "cifs-build-" + std::to_string(who.uid);
  spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "HOME=" + RootOf(workspace) + "/home",
              "TMPDIR=" + RootOf(workspace) + "/tmp",
              "USER=" + user,
              "LOGNAME=" + user,
              "LANG=C.UTF-8",
              "TERM=dumb"};
  spec.run_as = who;
  return spec;
}

std::shared_ptr<BuildRunner::Server> BuildRunner::ServerFor(const std::string& workspace) {
  std::lock_guard lock(mu_);
  auto& s = servers_[workspace];
  if (!s) s = std::make_shared<Server>();
  return s;
}

Result<std::shared_ptr<FarmBuild>> BuildRunner::Submit(BuildRequest request) {
  CIFS_RETURN_IF_ERROR(available());
  auto build = std::make_shared<FarmBuild>(NewInvocationId(), request.user, request.workspace);
  v1::Build record;
  record.set_id(build->id());
  record.set_user(request.user);
  record.set_command(request.command);
  record.set_workspace(request.workspace);
  record.set_workspace_dir(request.workspace_dir);
  for (const auto& t : request.targets) record.add_patterns(t);
  record.set_start_time_ms(NowMs());
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return Status::Unavailable("the farm is shutting down");
    record.set_bazel_version(bazel_label_);
    CIFS_RETURN_IF_ERROR(recorder_->Register(std::move(record)));
    builds_[build->id()] = build;
    ++threads_;
  }
  // The thread owns the request (and its directory descriptor) from here.
  std::thread([this, build, req = std::move(request)]() mutable { RunBuild(build, std::move(req)); }).detach();
  return build;
}

std::shared_ptr<FarmBuild> BuildRunner::Find(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = builds_.find(id);
  return it == builds_.end() ? nullptr : it->second;
}

void BuildRunner::RunBuild(std::shared_ptr<FarmBuild> build, BuildRequest request) {
  int exit_code = 8;
  std::string exit_name = "CANCELLED";
  {
    auto ticket = queue_.Enqueue(request.workspace);
    int last = -1;
    while (!build->cancelled()) {
      int pos = ticket->Wait(std::chrono::milliseconds(200));
      build->position_ = pos;
      if (pos == 0) break;
      if (pos != last) {
        Note(build->id(), "cifs: waiting for a build slot, position " + std::to_string(pos) + "\n");
        last = pos;
      }
    }
    if (!build->cancelled()) {
      build->started_ = true;
      auto server = ServerFor(request.workspace);
      std::lock_guard busy(server->busy);
      server->workspace_dir = request.workspace_dir;
      log_->Info("build_started", {{"id", build->id()}, {"user", build->user()}, {"workspace", build->workspace()}});
      exit_code = Execute(*build, request);
      std::lock_guard lock(mu_);
      server->warm = !EndsTaint(request.kind);  // a validation's server is gone
      server->last_used = std::chrono::steady_clock::now();
      exit_name = build->cancelled() ? "CANCELLED" : BazelExitName(exit_code);
    } else {
      Note(build->id(), "cifs: cancelled before it started\n");
    }
  }
  Status s = recorder_->Finish(build->id(), exit_code, exit_name);
  if (!s.ok()) log_->Error("build_finish_failed", {{"id", build->id()}, {"error", s.ToString()}});
  log_->Info("build_finished", {{"id", build->id()}, {"exit_code", exit_code}, {"exit_name", exit_name}});
  build->done_ = true;
  build->done_.notify_all();
  TrimWarmServers();
  std::lock_guard lock(mu_);
  builds_.erase(build->id());
  --threads_;
  threads_done_.notify_all();
}

std::string BuildRunner::TaintOf(const BuildRequest& request) {
  if (request.kind == BuildKind::kBaseline) return "";
  // Untrusted code that names no taint shares its root with nothing.
  return request.taint.empty() ? "build/" + std::to_string(++untainted_) : request.taint;
}

bool BuildRunner::EndsTaint(BuildKind kind) { return kind == BuildKind::kValidation || kind == BuildKind::kBatch; }

int BuildRunner::Execute(FarmBuild& build, const BuildRequest& request) {
  auto fail = [&](const Status& s) {
    Note(build.id(), "cifs: " + s.message() + "\n");
    return 36;
  };
  auto who = WhoRuns(request.workspace);
  if (!who.ok()) return fail(who.status());
  if (Status s = SealFor(request, *who); !s.ok()) return fail(s);
  const std::string creds = options_.state_dir + "/bazel/creds/" + build.id();
  if (Status s = IssueCredential(build, *who, creds); !s.ok()) return fail(s);
  scopes_->Add({build.id(), request.user, BuildCacheScope(request.kind, request.user, build.id(), request.also_read)});
  int code = RunBazel(build, request, *who, creds);
  scopes_->Remove(build.id());
  std::error_code ec;
  fs::remove_all(creds, ec);
  if (EndsTaint(request.kind)) {
    // Nothing of the code it ran outlives it; the empty root is pristine.
    Wipe(request.workspace, *who);
    std::lock_guard lock(mu_);
    root_taint_[request.workspace] = "";
  }
  return code;
}

void BuildRunner::Wipe(const std::string& key, const RunAs& who) {
  KillServer(key);
  KillAllProcessesOf(who.uid);
  std::error_code ec;
  fs::remove_all(RootOf(key), ec);
  if (ec) log_->Warn("bazel_root_not_removed", {{"key", key}, {"error", ec.message()}});
}

int BuildRunner::RunBazel(FarmBuild& build, const BuildRequest& request, const RunAs& who, const std::string& creds) {
  std::vector<std::string> args = StartupArgs(request.workspace);
  args.push_back(request.command);
  if (request.command == "query") {
    // Reads the graph only: no cache, no build events, an answer to parse.
    for (const char* f : {"--color=no", "--curses=no", "--noshow_progress"}) args.emplace_back(f);
    for (const auto& f : request.flags) args.push_back(f);
    args.emplace_back("--");
    for (const auto& t : request.targets) args.push_back(t);
    return RunChild(build, request, who, std::move(args));
  }
  // Defaults the user's flags may override. A failing test's log is on the
  // farm, so it is printed rather than pointed at.
  for (const char* f : {"--color=yes", "--curses=no", "--show_progress_rate_limit=0.5", "--test_output=errors"}) {
    args.emplace_back(f);
  }
  for (const auto& f : request.flags) args.push_back(f);
  // After the user's flags, so neither they nor a --config from the
  // workspace's .bazelrc can point the build elsewhere.
  std::string grpcs = "grpcs://" + farm_address_;
  for (std::string f : {std::string("--experimental_convenience_symlinks=ignore"), "--invocation_id=" + build.id(),
                        "--remote_cache=" + grpcs, "--bes_backend=" + grpcs,
                        "--tls_certificate=" + creds + "/ca.crt",
                        "--tls_client_certificate=" + creds + "/cert.pem",
                        "--tls_client_key=" + creds + "/key.pem", std::string("--remote_timeout=60"),
                        std::string("--bes_timeout=60s")}) {
    args.push_back(std::move(f));
  }
  if (!web_url_.empty()) args.push_back("--bes_results_url=" + web_url_ + "/builds/");
  if (options_.remote_exec) args.push_back("--remote_executor=" + grpcs);
  args.emplace_back("--");
  if (request.targets.empty()) args.emplace_back("//...");
  for (const auto& t : request.targets) args.push_back(t);
  return RunChild(build, request, who, std::move(args));
}

int BuildRunner::RunChild(FarmBuild& build, const BuildRequest& request, const RunAs& who,
                          std::vector<std::string> args) {
  constexpr size_t kMaxCaptured = 16 << 20;
  ChildSpec spec = Spec(request.workspace, who, std::move(args));
  spec.cwd_fd = request.cwd.get();
  auto child = ChildProcess::Start(spec);
  if (!child.ok()) {
    Note(build.id(), "cifs: " + child.status().message() + "\n");
    return 36;
  }
  std::optional<std::chrono::steady_clock::time_point> interrupted;
  bool killed = false;
  std::string buf(64 * 1024, '\0');
  StatusLineDedup dedup;
  auto drain = [&] {
    for (;;) {
      ssize_t n = ::read(child->output_fd(), buf.data(), buf.size());
      if (n <= 0) return;
      if (std::string shown = dedup.Filter(std::string_view(buf.data(), static_cast<size_t>(n))); !shown.empty()) {
        Note(build.id(), shown);
      }
      if (request.capture_output && build.output_.size() < kMaxCaptured) build.output_.append(buf.data(), n);
    }
  };
  for (;;) {
    pollfd p[2] = {{child->output_fd(), POLLIN, 0}, {child->exit_fd(), POLLIN, 0}};
    ::poll(p, child->exit_fd() >= 0 ? 2 : 1, 200);
    drain();
    if (child->Poll()) break;
    if (build.cancelled() && !interrupted) {
      Note(build.id(), "\ncifs: cancelling the build on the farm\n");
      child->Signal(SIGINT);  // Bazel stops the server's work and exits
      interrupted = std::chrono::steady_clock::now();
    }
    if (interrupted && !killed && std::chrono::steady_clock::now() - *interrupted > options_.cancel_grace) {
      Note(build.id(), "cifs: Bazel did not stop in time; killing it and its server\n");
      KillProcessTree(child->pid());
      KillServer(request.workspace);
      killed = true;
    }
  }
  drain();
  if (std::string rest = dedup.Flush(); !rest.empty()) Note(build.id(), rest);
  log_->Debug("bazel_exited", {{"id", build.id()}});
  return killed ? 8 : child->Wait();
}

void BuildRunner::KillServer(const std::string& workspace) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(OutputRootOf(workspace), ec)) {
    auto pid = ReadFile((e.path() / "server" / "server.pid.txt").string());
    if (pid.ok() && std::atoi(pid->c_str()) > 1) KillProcessTree(static_cast<pid_t>(std::atoi(pid->c_str())));
  }
}

void BuildRunner::ShutdownServer(const std::string& workspace, Server& server) {
  UniqueFd dir(::open(server.workspace_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) {
    KillServer(workspace);
  } else {
    auto args = StartupArgs(workspace);
    args.emplace_back("shutdown");
    std::optional<ChildProcess> child;
    if (auto who = WhoRuns(workspace); who.ok()) {
      ChildSpec spec = Spec(workspace, *who, std::move(args));
      spec.cwd_fd = dir.get();
      if (auto started = ChildProcess::Start(spec); started.ok()) child.emplace(std::move(*started));
    }
    if (child) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!child->Poll() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!child->Poll()) KillServer(workspace);
    } else {
      KillServer(workspace);
    }
  }
  {
    std::lock_guard lock(mu_);
    server.warm = false;
  }
  log_->Info("bazel_server_stopped", {{"workspace", workspace}});
}

void BuildRunner::TrimWarmServers() {
  for (;;) {
    std::string victim;
    std::shared_ptr<Server> server;
    {
      std::lock_guard lock(mu_);
      int warm = 0;
      for (auto& [ws, s] : servers_) warm += s->warm;
      if (warm <= options_.max_warm_servers) return;
      for (auto& [ws, s] : servers_) {
        if (!s->warm || !s->busy.try_lock()) continue;
        s->busy.unlock();
        if (!server || s->last_used < server->last_used) {
          victim = ws;
          server = s;
        }
      }
    }
    if (!server) return;
    std::unique_lock busy(server->busy, std::try_to_lock);
    if (!busy.owns_lock()) return;  // a build took it meanwhile
    ShutdownServer(victim, *server);
  }
}

void BuildRunner::ForgetWorkspace(const std::string& workspace) {
  {
    std::unique_lock lock(mu_);
    auto theirs = [&] {
      bool any = false;
      for (auto& [id, b] : builds_) {
        if (b->workspace() == workspace) {
          b->Cancel();
          any = true;
        }
      }
      return any;
    };
    threads_done_.wait_for(lock, std::chrono::seconds(60), [&] { return !theirs(); });
  }
  std::shared_ptr<Server> server;
  {
    std::lock_guard lock(mu_);
    if (auto it = servers_.find(workspace); it != servers_.end()) {
      server = it->second;
      servers_.erase(it);
    }
  }
  if (server) {
    std::lock_guard busy(server->busy);
    bool warm;
    {
      std::lock_guard lock(mu_);
      warm = server->warm;
    }
    if (warm) ShutdownServer(workspace, *server);
  }
  KillServer(workspace);  // one left from before a farm restart
  if (auto uid = uids_ ? uids_->Find(workspace) : std::nullopt) {
    KillAllProcessesOf(*uid);  // and whatever its builds started
    if (Status s = uids_->Forget(workspace); !s.ok()) {
      log_->Warn("build_uid_not_forgotten", {{"workspace", workspace}, {"error", s.ToString()}});
    }
  }
  std::error_code ec;
  fs::remove_all(RootOf(workspace), ec);
  if (ec) log_->Warn("bazel_root_not_removed", {{"workspace", workspace}, {"error", ec.message()}});
}

void BuildRunner::Shutdown() {
  std::vector<std::pair<std::string, std::shared_ptr<Server>>> servers;
  {
    std::unique_lock lock(mu_);
    if (shutting_down_ && threads_ == 0 && servers_.empty()) return;
    shutting_down_ = true;
    for (auto& [id, b] : builds_) b->Cancel();
    threads_done_.wait(lock, [&] { return threads_ == 0; });
    for (auto& [ws, s] : servers_) {
      if (s->warm) servers.emplace_back(ws, s);
    }
    servers_.clear();
  }
  // In parallel: each `bazel shutdown` waits for its JVM.
  std::vector<std::thread> stoppers;
  for (auto& [ws, s] : servers) {
    stoppers.emplace_back([this, ws = ws, s = s] {
      std::lock_guard busy(s->busy);
      ShutdownServer(ws, *s);
    });
  }
  for (auto& t : stoppers) t.join();
}

void BuildRunner::Note(const std::string& build_id, const std::string& text) {
  if (Status s = recorder_->AppendLog(build_id, text); !s.ok()) {
    log_->Warn("build_log_not_written", {{"build", build_id}, {"error", s.message()}});
  }
}

}  // namespace cifs
