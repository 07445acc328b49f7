// farmserver: a cifs farm node. See `farmserver --help`.
#include <malloc.h>

#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "common/log.h"
#include "farmserver/farm.h"
#include "farmserver/options.h"

int main(int argc, char** argv) {
  int exit_code = -1;
  auto options = cifs::ParseFarmOptions(argc, argv, &exit_code);
  if (exit_code >= 0) return exit_code;  // --help, or CLI11 already explained the error
  if (!options.ok()) {
    std::fprintf(stderr, "farmserver: %s\n", options.status().message().c_str());
    return 2;
  }

  // Blob chunks are 1 MiB buffers that come and go on many gRPC threads. A
  // fixed mmap threshold hands them back to the kernel when freed instead of
  // letting glibc's per-thread arenas keep them resident.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);

  // Every open connection is a descriptor; the soft limit (often 1024) is
  // raised to what the system allows this process.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  // Block the stop signals in every thread; one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto level = cifs::Logger::Level::kInfo;
  if (options->log_level == "debug") level = cifs::Logger::Level::kDebug;
  if (options->log_level == "warn") level = cifs::Logger::Level::kWarn;
  if (options->log_level == "error") level = cifs::Logger::Level::kError;
  cifs::Logger log("farmserver", level);

  cifs::Farm farm(*options, &log);
  cifs::Status s = farm.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "farmserver: %s\n", s.message().c_str());
    return 1;
  }
  std::thread signal_waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log.Info("shutting_down", {{"signal", sig}});
    farm.Shutdown();
  });
  farm.Wait();
  signal_waiter.join();
  log.Info("stopped");
  return 0;
}
