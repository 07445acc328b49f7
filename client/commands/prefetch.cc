// cifs prefetch [PATH|GLOB...]: makes files of a mounted workspace local
// ahead of their first read, through the mount's fsd.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "cifs/v1/fs.grpc.pb.h"
#include "client/commands/commands.h"
#include "client/commands/fsd_control.h"
#include "common/byte_size.h"
#include "common/client_config.h"

namespace cifs {
namespace {

namespace fs = std::filesystem;

struct Target {
  std::string mountpoint;
  std::string path;  // in the workspace
  std::vector<std::string> globs;
  std::string shown;  // as the user wrote it
};

bool HasGlob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

std::string EscapeGlob(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Which mount `arg` is in and what it names there: a directory (all of it),
// a file, or a pattern (from the deepest directory it names literally).
Result<Target> Resolve(const std::string& arg, const v1::FsdStatusResponse& status) {
  std::error_code ec;
  std::string abs = fs::absolute(arg, ec).lexically_normal().string();
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  Target t;
  t.shown = arg;
  for (const auto& m : status.mounts()) {
    const std::string& mp = m.mountpoint();
    if ((abs == mp || abs.starts_with(mp + "/")) && mp.size() > t.mountpoint.size()) t.mountpoint = mp;
  }
  if (t.mountpoint.empty()) return Status::NotFound(arg + " is not inside a cifs mount (`cifs status` lists them)");
  std::string rel = abs.size() > t.mountpoint.size() ? abs.substr(t.mountpoint.size() + 1) : "";
  if (HasGlob(rel)) {
    std::string prefix;
    for (const auto& part : fs::path(rel)) {
      if (HasGlob(part.string())) break;
      prefix += (prefix.empty() ? "" : "/") + part.string();
    }
    t.path = prefix;
    t.globs.push_back(rel);
    return t;
  }
  struct stat st;
  if (::lstat(abs.c_str(), &st) != 0) return Status::NotFound(arg + ": no such file or directory");
  if (S_ISDIR(st.st_mode)) {
    t.path = rel;
  } else {
    size_t slash = rel.rfind('/');
    t.path = slash == std::string::npos ? "" : rel.substr(0, slash);
    t.globs.push_back(EscapeGlob(rel));
  }
  return t;
}

std::string Count(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

void ShowProgress(const Target& t, const v1::PrefetchProgress& p) {
  double secs = std::max<double>(p.elapsed_ms(), 1) / 1000;
  if (!p.listed()) {
    std::fprintf(stderr, "\r\033[Kprefetching %s: listing (%.1f s)", t.shown.c_str(), secs);
  } else {
    std::fprintf(stderr, "\r\033[Kprefetching %s: %s/%s files  %s/%s  %s/s", t.shown.c_str(),
                 Count(p.files_done()).c_str(), Count(p.files_total()).c_str(),
                 FormatByteSize(p.bytes_done()).c_str(), FormatByteSize(p.bytes_total()).c_str(),
                 FormatByteSize(static_cast<int64_t>(static_cast<double>(p.bytes_fetched()) / secs)).c_str());
  }
  std::fflush(stderr);
}

// The call in flight, for the Ctrl-C watcher: cancelled under the lock, so
// never after the call's context is gone.
struct LiveCall {
  std::mutex mu;
  grpc::ClientContext* ctx = nullptr;
  void Set(grpc::ClientContext* c) {
    std::lock_guard lock(mu);
    ctx = c;
  }
  void Cancel() {
    std::lock_guard lock(mu);
    if (ctx != nullptr) ctx->TryCancel();
  }
};

int Prefetch(v1::FsdControl::Stub& stub, const Target& t, bool background, LiveCall* live) {
  v1::PrefetchRequest req;
  req.set_mountpoint(t.mountpoint);
  req.set_path(t.path);
  for (const auto& g : t.globs) req.add_globs(g);
  req.set_background(background);
  grpc::ClientContext ctx;
  live->Set(&ctx);
  auto reader = stub.Prefetch(&ctx, req);
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  v1::PrefetchProgress p;
  bool any = false;
  while (reader->Read(&p)) {
    any = true;
    if (background) {
      ctx.TryCancel();  // a background job runs on without us
      break;
    }
    if (tty) ShowProgress(t, p);
    if (p.done()) break;
  }
  grpc::Status s = reader->Finish();
  live->Set(nullptr);
  if (tty && !background) std::fprintf(stderr, "\r\033[K");
  if (background && any) {
    std::cout << "prefetching " << t.shown << " in the background (`cifs status` shows its progress)\n";
    return 0;
  }
  if (!any || !p.done()) {  // the call ended before the job did
    if (s.ok() || s.error_code() == grpc::StatusCode::CANCELLED) {
      std::cerr << "cifs: prefetch of " << t.shown << " cancelled\n";
      return 130;
    }
    return Fail("prefetch of " + t.shown + ": " + s.error_message());
  }
  if (!p.error().empty()) return Fail("prefetch of " + t.shown + " stopped: " + p.error());
  std::printf("prefetched %s: %s files, %s (%s from the farm) in %.1f s\n", t.shown.c_str(),
              Count(p.files_total()).c_str(), FormatByteSize(p.bytes_total()).c_str(),
              FormatByteSize(p.bytes_fetched()).c_str(), static_cast<double>(p.elapsed_ms()) / 1000);
  return 0;
}

int PrefetchCmd(std::vector<std::string> args, bool background) {
  // Ctrl-C is taken by a watcher thread, which cancels the call: fsd then
  // stops the prefetch (a background one runs on).
  sigset_t watched;
  sigemptyset(&watched);
  for (int sig : {SIGINT, SIGTERM, SIGUSR1}) sigaddset(&watched, sig);
  pthread_sigmask(SIG_BLOCK, &watched, nullptr);

  auto config = LoadClientConfig(DefaultClientConfigPath());
  if (!config.ok()) return Fail(config.status().message());
  auto stub = FsdControlStub(FsdDir(*config));
  v1::FsdStatusResponse status;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!stub->Status(&ctx, v1::FsdStatusRequest(), &status).ok()) {
      return Fail("fsd is not running: nothing is mounted (cifs mount WORKSPACE DIR)");
    }
  }
  if (args.empty()) args.push_back(".");
  std::vector<Target> targets;
  for (const auto& a : args) {
    auto t = Resolve(a, status);
    if (!t.ok()) return Fail(t.status().message());
    targets.push_back(std::move(*t));
  }

  LiveCall live;
  std::atomic<bool> done{false};
  std::atomic<bool> interrupted{false};
  std::thread watcher([&] {
    while (!done) {
      int sig = sigwaitinfo(&watched, nullptr);
      if (sig < 0 || sig == SIGUSR1) continue;
      interrupted = true;
      live.Cancel();
    }
  });
  int rc = 0;
  for (const auto& t : targets) {
    if (interrupted) break;
    rc = Prefetch(*stub, t, background, &live);
    if (rc != 0) break;
  }
  done = true;
  ::kill(::getpid(), SIGUSR1);
  watcher.join();
  return interrupted && rc == 0 ? 130 : rc;
}

}  // namespace

void RegisterPrefetchCommand(CLI::App& app, ExitCode* exit_code) {
  struct Args {
    std::vector<std::string> paths;
    bool background = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("prefetch", "make files of a mounted workspace local before they are read");
  cmd->footer(
      "PATH is a directory (all of it) or a file in a cifs mount; GLOB a pattern, quoted, whose `*` also matches\n"
      "across directories ('src/*.cc': every .cc file below src). Default: the current directory.\n"
      "Contents held already (from any workspace of the same repository) are not fetched again.");
  cmd->add_option("PATH|GLOB", args->paths, "what to prefetch");
  cmd->add_flag("--background", args->background, "start it and return; `cifs status` shows its progress");
  cmd->callback([args, exit_code] { *exit_code = PrefetchCmd(args->paths, args->background); });
}

}  // namespace cifs
