// cifs mount WORKSPACE DIR, cifs unmount DIR, cifs status.
//
// The user's fsd daemon serves every mount; `cifs mount` starts it when it
// is not running and asks it over its Unix socket (FSD_DIR/fsd.sock).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "cifs/v1/fs.grpc.pb.h"
#include "client/commands/commands.h"
#include "client/commands/fsd_control.h"
#include "common/client_config.h"
#include "common/files.h"
#include "common/mounts.h"

namespace cifs {
namespace {

namespace fs = std::filesystem;

constexpr auto kFsdStartTimeout = std::chrono::seconds(15);
constexpr auto kMountTimeout = std::chrono::seconds(60);

std::string Absolute(const std::string& dir) {
  std::error_code ec;
  return fs::absolute(dir, ec).lexically_normal().string();
}

std::string StripSlash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// fsd next to this cifs (installed), in the build tree, or on PATH.
std::string FindFsd() {
  if (const char* env = std::getenv("CIFS_FSD"); env && *env) return env;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (const fs::path& candidate : {self / "fsd", self / "../fsd/fsd"}) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.lexically_normal().string();
  }
  return "fsd";  // execvp searches PATH
}

// The running fsd's status, if one answers.
std::optional<v1::FsdStatusResponse> Probe(v1::FsdControl::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  v1::FsdStatusResponse resp;
  if (!stub.Status(&ctx, v1::FsdStatusRequest(), &resp).ok()) return std::nullopt;
  return resp;
}

std::vector<std::string> FsdArgs(const std::string& fsd, const std::string& fsd_dir, const ClientConfig& config) {
  std::vector<std::string> args{fsd, "--dir", fsd_dir, "--config", config.path};
  if (!config.local_cache_limit.empty()) {
    args.push_back("--cache-limit");
    args.push_back(config.local_cache_limit);
  }
  return args;
}

[[noreturn]] void Exec(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  std::fprintf(stderr, "cifs: cannot run %s: %s\n", argv[0], std::strerror(errno));
  ::_exit(127);
}

// Starts fsd detached (its own session, log in FSD_DIR/fsd.log) and waits
// until it answers.
Status StartFsd(const std::string& fsd_dir, const ClientConfig& config) {
  CIFS_RETURN_IF_ERROR(MakeDirs(fsd_dir, 0700));
  std::string log_path = fsd_dir + "/fsd.log";
  auto args = FsdArgs(FindFsd(), fsd_dir, config);
  pid_t child = ::fork();
  if (child < 0) return Status::IoError("fork", errno);
  if (child == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);  // the daemon is re-parented; no zombie is left to us
    int null = ::open("/dev/null", O_RDONLY);
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (null >= 0) ::dup2(null, 0);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    Exec(args);
  }
  ::waitpid(child, nullptr, 0);
  auto deadline = std::chrono::steady_clock::now() + kFsdStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    // A fresh channel per try: one that failed before fsd listened would
    // wait out gRPC's reconnect backoff.
    if (Probe(*FsdControlStub(fsd_dir))) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string tail;
  if (auto text = ReadFile(log_path); text.ok()) {
    auto lines = text->substr(text->size() > 400 ? text->size() - 400 : 0);
    tail = ": " + lines;
  }
  return Status::Unavailable("fsd did not start (see " + log_path + ")" + tail);
}

int MountCmd(const std::string& workspace, const std::string& dir_arg, bool foreground, double timeout_s,
             bool no_guess) {
  auto config = LoadClientConfig(DefaultClientConfigPath());
  if (!config.ok()) return Fail(config.status().message());
  std::string dir = StripSlash(Absolute(dir_arg));
  Status ok = CheckMountpoint(dir);
  if (!ok.ok()) return Fail(ok.message());
  std::string fsd_dir = FsdDir(*config);
  if (foreground) {
    if (Status made = MakeDirs(fsd_dir, 0700); !made.ok()) return Fail(made.message());
    auto args = FsdArgs(FindFsd(), fsd_dir, *config);
    for (const auto& a : {std::string("--mount"), workspace, dir}) args.push_back(a);
    if (timeout_s > 0) {
      args.push_back("--timeout");
      args.push_back(std::to_string(timeout_s));
    }
    Exec(args);
  }
  grpc::Status s;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto running = Probe(*FsdControlStub(fsd_dir));
    if (!running) {
      Status started = StartFsd(fsd_dir, *config);
      if (!started.ok()) return Fail(started.message());
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kMountTimeout);
    v1::MountRequest req;
    req.set_workspace(workspace);
    req.set_mountpoint(dir);
    req.set_timeout_ms(static_cast<int64_t>(timeout_s * 1000));
    req.set_no_guessed_prefetch(no_guess);
    v1::MountResponse resp;
    s = FsdControlStub(fsd_dir)->Mount(&ctx, req, &resp);
    // UNAVAILABLE from the daemon we found running, and not about the farm:
    // it was on its way out (its last mount had just gone), said so or
    // already closed its socket; CANCELLED: its server shut down under the
    // call. Let it finish, then start a fresh one.
    bool exiting = running && ((s.error_code() == grpc::StatusCode::UNAVAILABLE &&
                                (s.error_message().find("shutting down") != std::string::npos ||
                                 s.error_message().find("farm") == std::string::npos)) ||
                               s.error_code() == grpc::StatusCode::CANCELLED);
    if (!exiting) break;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::kill(running->pid(), 0) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (!s.ok()) {
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE && s.error_message().find("farm") != std::string::npos) {
      return Fail("cannot mount " + workspace + ": " + s.error_message() + " at " + config->farm);
    }
    return Fail("cannot mount " + workspace + ": " + s.error_message());
  }
  // Returns once the mount answers.
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return Fail("mounted, but " + dir + " does not answer: " + std::strerror(errno));
  std::cout << "mounted " << workspace << " at " << dir << "\n";
  return 0;
}

int ForceUnmount(const std::string& dir) {
  pid_t child = ::fork();
  if (child < 0) return Fail("fork failed");
  if (child == 0) Exec({"fusermount3", "-u", "-z", dir});
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return Fail("cannot unmount " + dir + " (fusermount3 failed)");
  return 0;
}

int UnmountCmd(const std::string& dir_arg) {
  auto config = LoadClientConfig(DefaultClientConfigPath());
  if (!config.ok()) return Fail(config.status().message());
  std::string dir = StripSlash(Absolute(dir_arg));
  std::string fsd_dir = FsdDir(*config);
  auto stub = FsdControlStub(fsd_dir);
  bool interrupted = false;  // the fsd went away while it was unmounting
  // Read before asking: an fsd that exits on the way rewrites them empty.
  auto records = LoadMountRecords(fsd_dir);
  if (Probe(*stub)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::UnmountRequest req;
    req.set_mountpoint(dir);
    v1::UnmountResponse resp;
    grpc::Status s = stub->Unmount(&ctx, req, &resp);
    if (s.ok()) {
      std::cout << "unmounted " << dir << "\n";
      return 0;
    }
    // An fsd that is exiting (its last mount just went) drops the call with
    // CANCELLED or UNAVAILABLE: then it serves nothing, as if it had not run.
    bool fsd_gone = s.error_code() == grpc::StatusCode::CANCELLED || s.error_code() == grpc::StatusCode::UNAVAILABLE;
    if (s.error_code() != grpc::StatusCode::NOT_FOUND && !fsd_gone) {
      return Fail("cannot unmount " + dir + ": " + s.error_message());
    }
    interrupted = fsd_gone;
  }
  // No fsd serves it (killed, say): detach what the kernel still has.
  bool recorded = false;
  std::vector<MountRecord> kept;
  for (const auto& r : records) {
    if (r.mountpoint == dir) recorded = true;
    else kept.push_back(r);
  }
  if (!IsCifsMount(dir)) {
    if (recorded) (void)SaveMountRecords(fsd_dir, kept);
    // The fsd had it and exited while taking it down: it is gone, as asked.
    if (interrupted && recorded) {
      std::cout << "unmounted " << dir << "\n";
      return 0;
    }
    return Fail(dir + " is not a cifs mount");
  }
  if (int rc = ForceUnmount(dir)) return rc;
  (void)SaveMountRecords(fsd_dir, kept);
  std::cout << "unmounted " << dir << " (its fsd was not running)\n";
  return 0;
}

int StatusCmd(bool json) {
  auto config = LoadClientConfig(DefaultClientConfigPath());
  if (!config.ok()) return Fail(config.status().message());
  std::string fsd_dir = FsdDir(*config);
  auto stub = FsdControlStub(fsd_dir);
  auto status = Probe(*stub);
  nlohmann::json out = {{"fsd_dir", fsd_dir}, {"fsd_running", status.has_value()}, {"mounts", nlohmann::json::array()}};
  if (status) {
    out["pid"] = status->pid();
    out["farm"] = status->farm();
    out["store_bytes"] = status->store_bytes();
    out["store_limit_bytes"] = status->store_limit_bytes();
    for (const auto& m : status->mounts()) {
      out["mounts"].push_back({{"workspace", m.workspace()},
                               {"mountpoint", m.mountpoint()},
                               {"health", m.farm_connected() ? "ok" : "farm unreachable"},
                               {"fetched_bytes", m.fetched_bytes()},
                               {"fetched_blobs", m.fetched_blobs()},
                               {"fetch_calls", m.fetch_calls()},
                               {"local_hits", m.local_hits()},
                               {"lookups", m.lookups()},
                               {"primed_dirs", m.primed_dirs()},
                               {"inodes", m.inodes()}});
      if (m.has_prefetch()) {
        const auto& p = m.prefetch();
        out["mounts"].back()["prefetch"] = {{"done", p.done()},         {"error", p.error()},
                                            {"files_total", p.files_total()}, {"files_done", p.files_done()},
                                            {"bytes_total", p.bytes_total()}, {"bytes_done", p.bytes_done()}};
        if (!p.done()) {
          out["mounts"].back()["health"] = out["mounts"].back()["health"].get<std::string>() + ", prefetching " +
                                           std::to_string(p.files_done()) + "/" + std::to_string(p.files_total()) +
                                           " files";
        }
      }
    }
  } else {
    // Mounts a killed fsd left behind.
    for (const auto& r : LoadMountRecords(fsd_dir)) {
      if (!IsCifsMount(r.mountpoint)) continue;
      out["mounts"].push_back({{"workspace", r.workspace},
                               {"mountpoint", r.mountpoint},
                               {"health", "dead: fsd is not running (cifs unmount " + r.mountpoint + ")"}});
    }
  }
  if (json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (out["mounts"].empty()) {
    std::cout << "no mounts" << (status ? "" : " (fsd not running)") << "\n";
    return 0;
  }
  std::printf("%-20s  %-40s  %s\n", "WORKSPACE", "MOUNTPOINT", "HEALTH");
  for (const auto& m : out["mounts"]) {
    std::printf("%-20s  %-40s  %s\n", m["workspace"].get<std::string>().c_str(),
                m["mountpoint"].get<std::string>().c_str(), m["health"].get<std::string>().c_str());
  }
  return 0;
}

}  // namespace

void RegisterMountCommands(CLI::App& app, ExitCode* exit_code) {
  struct MountArgs {
    std::string workspace, dir;
    bool foreground = false;
    double timeout_s = 0;
    bool no_guess = false;
  };
  auto args = std::make_shared<MountArgs>();
  auto* mount = app.add_subcommand("mount", "mount a workspace of yours on a local directory");
  mount->add_option("WORKSPACE", args->workspace, "workspace name (see `cifs ws list`)")->required();
  mount->add_option("DIR", args->dir, "an empty directory")->required();
  mount->add_flag("--foreground", args->foreground, "run fsd in this terminal with its log (debugging)");
  mount->add_flag("--no-guessed-prefetch", args->no_guess,
                  "fetch only what is read and what `cifs prefetch` asks for; by default, cold reads in three "
                  "directories start a background prefetch of the subtree holding them");
  mount->add_option("--timeout", args->timeout_s,
                    "seconds a file operation waits for an unreachable farm before failing with EIO (default 15)");
  mount->callback([args, exit_code] {
    *exit_code = MountCmd(args->workspace, args->dir, args->foreground, args->timeout_s, args->no_guess);
  });

  auto unmount_dir = std::make_shared<std::string>();
  auto* unmount = app.add_subcommand("unmount", "unmount a cifs mount (also one whose fsd died)");
  unmount->alias("umount");
  unmount->add_option("DIR", *unmount_dir, "the mountpoint")->required();
  unmount->callback([unmount_dir, exit_code] { *exit_code = UnmountCmd(*unmount_dir); });

  auto json = std::make_shared<bool>(false);
  auto* status = app.add_subcommand("status", "your mounts and their health");
  status->add_flag("--json", *json, "machine-readable output");
  status->callback([json, exit_code] { *exit_code = StatusCmd(*json); });
}

}  // namespace cifs
