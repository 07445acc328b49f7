// cifs build / cifs test: Bazel on the farm, in the workspace, watched live.
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cifs/v1/cifs.grpc.pb.h"
#include "common/ansi.h"
#include "farmclient/routing.h"
#include "client/commands/commands.h"
#include "client/commands/current_workspace.h"
#include "farmclient/farm_client.h"
#include "common/client_config.h"
#include "common/mounts.h"

namespace cifs {

namespace fs = std::filesystem;

namespace {

struct BuildArgs {
  std::string command;
  std::string workspace;
  std::vector<std::string> targets;
  const std::vector<std::string>* bazel_flags = nullptr;
};

// Renders the stream: Bazel's output as it comes and, on a terminal, a status
// line below it with the progress bar, the latest action line and the time.
class Console {
 public:
  Console() : tty_(::isatty(1) == 1), start_(std::chrono::steady_clock::now()) {}

  void Output(const std::string& data) {
    pending_ += data;
    size_t nl;
    std::string out;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      std::string line = pending_.substr(0, nl + 1);
      pending_.erase(0, nl + 1);
      if (tty_ && IsProgressLine(line)) {
        action_ = Plain(line.substr(0, line.size() - 1));
        continue;
      }
      out += tty_ ? line : Plain(line);
    }
    if (!out.empty()) Print(out);
    Redraw();
  }

  void Progress(const v1::BuildProgress& p) {
    progress_ = p;
    if (!tty_) {
      // One line a second at most, so a log of a big build stays readable.
      auto now = std::chrono::steady_clock::now();
      if (now - last_plain_progress_ < std::chrono::seconds(1)) return;
      last_plain_progress_ = now;
      PrintPlainBar();
      return;
    }
    Redraw();
  }

  void Queue(int position) {
    queue_ = position;
    Redraw();
  }

  void Message(const std::string& text) { Print("cifs: " + text + "\n"); }

  void Finish(const v1::BuildProgress& p) {
    progress_ = p;
    queue_ = 0;
    if (!pending_.empty()) Output("\n");
    ClearStatus();
    if (tty_) {
      std::cout << "cifs: " << Bar(20) << "\n";
    } else {
      PrintPlainBar();
    }
  }

 private:
  // Bazel's "[12 / 40] Compiling a.cc; 1s processwrapper-sandbox" lines.
  static bool IsProgressLine(const std::string& line) {
    std::string p = Plain(line);
    return p.size() > 2 && p[0] == '[' && p.find(" / ") != std::string::npos && p.find(']') != std::string::npos;
  }

  // Without ANSI escape sequences (for files and pipes).
  static std::string Plain(const std::string& s) { return StripAnsi(s, true); }

  std::string Bar(int width) const {
    int total = progress_.targets_configured(), done = progress_.targets_completed();
    int filled = total > 0 ? std::min(width, done * width / total) : 0;
    std::string bar = "[" + std::string(filled, '#') + std::string(width - filled, '-') + "] " +
                      std::to_string(done) + "/" + std::to_string(total) + " targets";
    if (progress_.targets_failed()) bar += ", " + std::to_string(progress_.targets_failed()) + " failed";
    if (progress_.tests_passed() || progress_.tests_failed()) {
      bar += ", tests " + std::to_string(progress_.tests_passed()) + " passed " +
             std::to_string(progress_.tests_failed()) + " failed";
    }
    return bar;
  }

  void PrintPlainBar() {
    std::string bar = Bar(20);
    if (bar == last_plain_bar_) return;
    std::cout << "cifs: " << bar << "\n" << std::flush;
    last_plain_bar_ = bar;
  }

  void Print(const std::string& text) {
    ClearStatus();
    std::cout << text << std::flush;
  }

  void ClearStatus() {
    if (tty_ && status_shown_) std::cout << "\r\x1b[K";
    status_shown_ = false;
  }

  void Redraw() {
    if (!tty_) return;
    winsize ws{};
    int cols = ::ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start_).count();
    std::string line = queue_ > 0 ? "waiting for a farm build slot: position " + std::to_string(queue_)
                                  : Bar(20) + "  " + action_;
    std::string suffix = "  " + std::to_string(secs) + "s";
    if (static_cast<int>(line.size() + suffix.size()) >= cols) line.resize(cols - suffix.size() - 1);
    std::cout << "\r\x1b[K" << line << suffix << std::flush;
    status_shown_ = true;
  }

  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_plain_progress_{};
  std::string pending_;
  std::string action_;
  std::string last_plain_bar_;
  v1::BuildProgress progress_;
  int queue_ = 0;
  bool status_shown_ = false;
};

grpc::Status SendCancel(v1::Builds::Stub& stub, const std::string& id, const std::string& workspace) {
  grpc::ClientContext ctx;
  RouteToWorkspace(&ctx, workspace);  // the build runs on the workspace's node
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::CancelBuildRequest req;
  req.set_id(id);
  v1::CancelBuildResponse resp;
  return stub.CancelBuild(&ctx, req, &resp);
}

int RunRemoteBuild(const BuildArgs& a) {
  // SIGINT and SIGTERM are taken by a watcher thread (below), and SIGUSR1
  // wakes it when the build ended, so every thread, gRPC's included, starts
  // with them blocked.
  sigset_t watched;
  sigemptyset(&watched);
  for (int sig : {SIGINT, SIGTERM, SIGUSR1}) sigaddset(&watched, sig);
  pthread_sigmask(SIG_BLOCK, &watched, nullptr);

  auto client = ConnectFromDefaultConfig();
  if (!client.ok()) return Fail(client.status().message());
  v1::RunBuildRequest req;
  req.set_command(a.command);
  if (!a.workspace.empty()) {
    req.set_workspace(a.workspace);
    // Inside that same mount, still run from the current directory.
    auto here = WorkspaceFromCwd((*client)->config());
    if (here.ok() && here->first == a.workspace) req.set_subdir(here->second);
  } else {
    auto here = WorkspaceFromCwd((*client)->config());
    if (!here.ok()) return Fail(here.status().message());
    req.set_workspace(here->first);
    req.set_subdir(here->second);
  }
  for (const auto& t : a.targets) req.add_targets(t);
  if (a.bazel_flags) {
    for (const auto& f : *a.bazel_flags) req.add_flags(f);
  }

  auto stub = v1::Builds::NewStub((*client)->channel());
  grpc::ClientContext ctx;
  RouteToWorkspace(&ctx, req.workspace());
  auto reader = stub->RunBuild(&ctx, req);

  std::atomic<bool> done{false};
  std::atomic<int> interrupts{0};
  std::string build_id;
  std::mutex id_mu;
  std::thread watcher([&] {
    while (!done) {
      int sig = sigwaitinfo(&watched, nullptr);
      if (sig < 0 || sig == SIGUSR1) continue;
      int n = ++interrupts;
      std::string id;
      {
        std::lock_guard lock(id_mu);
        id = build_id;
      }
      if (n == 1 && !id.empty()) {
        std::cerr << "\ncifs: cancelling build " << id << " on the farm (Ctrl-C again to stop waiting)\n";
        grpc::Status s = SendCancel(*stub, id, req.workspace());
        if (!s.ok()) std::cerr << "cifs: " << DescribeRpcError(s, (*client)->config().farm) << "\n";
      } else {
        // Going away cancels the build on the farm too.
        ctx.TryCancel();
      }
    }
  });

  Console console;
  v1::BuildUpdate u;
  std::string url;
  bool finished = false;
  int exit_code = 1;
  std::string exit_name;
  v1::BuildProgress progress;
  while (reader->Read(&u)) {
    if (!u.id().empty()) {
      {
        std::lock_guard lock(id_mu);
        build_id = u.id();
      }
      url = u.url();
      console.Message("build " + u.id() + " in workspace " + req.workspace() + (url.empty() ? "" : ": " + url));
    }
    if (u.queue_position() > 0) console.Queue(u.queue_position());
    if (u.started()) console.Queue(0);
    if (!u.output().empty()) console.Output(u.output());
    if (u.has_progress()) {
      progress = u.progress();
      if (!u.finished()) console.Progress(progress);
    }
    if (u.finished()) {
      finished = true;
      exit_code = u.exit_code();
      exit_name = u.exit_name();
    }
  }
  grpc::Status s = reader->Finish();
  done = true;
  pthread_kill(watcher.native_handle(), SIGUSR1);
  watcher.join();
  if (!finished) {
    if (interrupts > 1) {
      std::cerr << "cifs: stopped waiting; the build is cancelled on the farm\n";
      return 130;
    }
    return Fail(DescribeRpcError(s, (*client)->config().farm));
  }
  console.Finish(progress);
  std::cout << "cifs: build " << build_id << " " << exit_name << " (exit code " << exit_code << ")"
            << (url.empty() ? "" : ": " + url) << "\n";
  if (exit_code < 0 || exit_code > 255) return 1;
  return exit_code;
}

int CancelBuild(const std::string& id) {
  auto client = ConnectFromDefaultConfig();
  if (!client.ok()) return Fail(client.status().message());
  auto stub = v1::Builds::NewStub((*client)->channel());
  // A farm build runs on its workspace's node: the record says which. A
  // build the caller may not see is cancelled unrouted, so the farm gives
  // its own answer.
  v1::Build build;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetBuildRequest req;
    req.set_id(id);
    if (!stub->GetBuild(&ctx, req, &build).ok()) build.Clear();
  }
  grpc::Status s = SendCancel(*stub, id, build.workspace());
  if (!s.ok()) return Fail(DescribeRpcError(s, (*client)->config().farm));
  std::cout << "cancelling build " << id << " on the farm\n";
  return 0;
}

}  // namespace

void RegisterRemoteBuildCommands(CLI::App& app, const std::vector<std::string>* bazel_flags, ExitCode* exit_code) {
  for (const char* command : {"build", "test"}) {
    auto args = std::make_shared<BuildArgs>();
    args->command = command;
    args->bazel_flags = bazel_flags;
    auto* cmd = app.add_subcommand(
        command, std::string("run `bazel ") + command + "` on the farm in your workspace, with live progress");
    cmd->add_option("TARGET", args->targets, "target patterns (default //...)");
    cmd->add_option("-w,--workspace", args->workspace,
                    "workspace to build (default: the mounted workspace you are in)");
    cmd->footer(std::string("Bazel flags go after `--`: cifs ") + command +
                " //app:all -- -c opt --test_output=errors\n"
                "Ctrl-C cancels the build on the farm. The exit code is Bazel's.");
    cmd->callback([args, exit_code] { *exit_code = RunRemoteBuild(*args); });
  }
  auto id = std::make_shared<std::string>();
  auto* cancel = app.add_subcommand("cancel", "stop a running or queued farm build (yours; an admin's: any)");
  cancel->add_option("BUILD", *id, "build id (from `cifs builds`)")->required();
  cancel->callback([id, exit_code] { *exit_code = CancelBuild(*id); });
}

}  // namespace cifs
