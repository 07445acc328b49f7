// fsd: the cifs FUSE daemon. `cifs mount` starts it; see `fsd --help`.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "farmclient/farm_client.h"
#include "common/byte_size.h"
#include "common/files.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "fsd/daemon.h"
#include "store/pack_store.h"

namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "fsd: %s\n", what.c_str());
  return 1;
}

// Before the pack store, fsd kept its copies in RocksDB under DIR/store. They
// are only a cache: they go, unless an fsd of the old kind still holds them
// (RocksDB takes a POSIX lock on its LOCK file).
void RemoveOldStore(const std::string& dir, cifs::Logger* log) {
  const std::string old = dir + "/store";
  cifs::UniqueFd fd(::open((old + "/LOCK").c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return;
  struct flock lk {};
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_SETLK, &lk) != 0) return;
  std::error_code ec;
  auto removed = std::filesystem::remove_all(old, ec);
  log->Info("old_store_removed", {{"path", old}, {"files", static_cast<int64_t>(removed)}});
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, config_path = cifs::DefaultClientConfigPath(), cache_limit = "10GiB";
  double timeout_s = 15;
  std::vector<std::string> mount;
  CLI::App app{"fsd: serves the user's cifs mounts; `cifs mount` starts it", "fsd"};
  app.add_option("--dir", dir, "fsd directory: local content store, control socket, log")->required();
  app.add_option("--config", config_path, "client config (farm address and certificate)")->capture_default_str();
  app.add_option("--cache-limit", cache_limit, "bytes of file contents kept locally")->capture_default_str();
  app.add_option("--timeout", timeout_s, "seconds a farm call may wait before failing with EIO")->capture_default_str();
  app.add_option("--mount", mount, "WORKSPACE MOUNTPOINT to mount at start")->expected(2);
  CLI11_PARSE(app, argc, argv);

  auto limit = cifs::ParseByteSize(cache_limit);
  if (!limit.ok()) return Fail(limit.status().message());
  auto config = cifs::LoadClientConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  if (auto s = cifs::MakeDirs(dir, 0700); !s.ok()) return Fail(s.message());
  // The control socket lives here and answers without further checks: only
  // this user may reach it, so the directory must be theirs and private.
  struct stat dir_st;
  if (::stat(dir.c_str(), &dir_st) != 0 || dir_st.st_uid != ::getuid()) {
    return Fail(dir + " must be a directory owned by you");
  }
  if ((dir_st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) {
    return Fail("cannot make " + dir + " private (mode 0700)");
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  cifs::Logger log("fsd");

  // The store's lock also makes this the only fsd of this directory.
  cifs::PackStoreOptions so;
  so.path = dir + "/packs";
  so.cache_limit_bytes = *limit;
  auto store = cifs::PackStore::Open(so);
  if (!store.ok()) {
    return Fail("cannot open the local store in " + dir + " (is another fsd running there?): " +
                store.status().message());
  }
  RemoveOldStore(dir, &log);
  grpc::ChannelArguments args;
  // Notice a farm that went away even when idle, and come back quickly.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto farm = cifs::FarmClient::Connect(*config, &args);
  if (!farm.ok()) return Fail(farm.status().message());

  cifs::FsdDaemon daemon(dir, (*farm)->channel(), config->farm, store->get(),
                         std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)), &log);
  std::string socket = dir + "/fsd.sock";
  ::unlink(socket.c_str());  // left by a killed fsd; the store lock says none is running
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
  builder.RegisterService(&daemon);
  auto server = builder.BuildAndStart();
  if (!server) return Fail("cannot listen on " + socket);
  ::chmod(socket.c_str(), 0600);
  (void)cifs::WriteFileAtomic(dir + "/fsd.pid", std::to_string(::getpid()) + "\n");
  log.Info("fsd_started", {{"dir", dir}, {"farm", config->farm}, {"pid", ::getpid()}});

  if (!mount.empty()) {
    auto s = daemon.MountWorkspace(mount[0], std::filesystem::absolute(mount[1]).lexically_normal().string());
    if (!s.ok()) {
      server->Shutdown();
      return Fail(s.message());
    }
  }
  for (;;) {
    struct timespec tick = {0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig > 0) {
      log.Info("shutting_down", {{"signal", sig}});
      break;
    }
    if (daemon.ShouldExit()) {
      log.Info("idle_exit");
      break;
    }
  }
  daemon.UnmountAll();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  ::unlink(socket.c_str());
  ::unlink((dir + "/fsd.pid").c_str());
  return 0;
}
