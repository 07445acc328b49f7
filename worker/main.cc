// cifs-worker: executes the farm's actions (REAPI remote execution). The farm
// starts it (farmserver --workers N) with a credential of the `worker` role;
// it dials the farm (in a cluster, every node), says what platform it offers,
// and runs what it is given one action at a time, each in a bubblewrap
// sandbox.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <thread>

#include "cifs/v1/worker.grpc.pb.h"
#include "common/byte_size.h"
#include "common/client_config.h"
#include "common/files.h"
#include "farmclient/farm_client.h"
#include "worker/executor.h"
#include "worker/farm_link.h"
#include "worker/slot.h"

namespace cifs {
namespace {

int Main(int argc, char** argv) {
  CLI::App app{"cifs-worker: runs the farm's actions in a sandbox (started by farmserver --workers)"};
  std::string config_path, dir, name = "w1", bwrap = "bwrap";
  std::vector<std::string> platform;
  app.add_option("--config", config_path, "client config with the worker's credential and the farm's address")
      ->required();
  app.add_option("--dir", dir, "this worker's directory (file cache, actions' exec roots)")->required();
  app.add_option("--name", name, "its name on the farm")->capture_default_str();
  std::vector<std::string> farms;
  app.add_option("--farm", farms,
                 "HOST:PORT of a node to serve (repeat it for every node of a cluster; default: the config's farm)");
  app.add_option("--platform", platform, "NAME=VALUE platform property it offers (repeat it)");
  app.add_option("--bwrap", bwrap, "the bubblewrap program")->capture_default_str();
  std::string cache_size = "10GiB";
  app.add_option("--cache-size", cache_size, "bytes of input files kept in its cache, e.g. 10GiB")
      ->capture_default_str();
  bool die_with_parent = false;
  app.add_flag("--die-with-parent", die_with_parent,
               "exit when the process that started it does (farmserver passes it: a farm killed with -9 "
               "leaves no workers behind to serve its successor twice)");
  CLI11_PARSE(app, argc, argv);
  if (die_with_parent) {
    // Set here, not by the farm: a change of uid clears it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() == 1) return 1;  // the parent died before the line above
  }

  if (::geteuid() == 0) {
    std::cerr << "cifs-worker: refusing to run as root: actions run as the worker's own uid\n";
    return 2;
  }
  auto bwrap_path = FindExecutable(bwrap);
  if (!bwrap_path.ok()) {
    std::cerr << "cifs-worker: " << bwrap_path.status().message()
              << ": actions run in a bubblewrap sandbox (apt-get install bubblewrap)\n";
    return 2;
  }
  auto config = LoadClientConfig(config_path);
  if (!config.ok()) {
    std::cerr << "cifs-worker: " << config.status().message() << "\n";
    return 2;
  }
  if (farms.empty()) farms.push_back(config->farm);

  v1::WorkerHello hello;
  hello.set_name(name);
  for (const auto& p : platform) {
    auto eq = p.find('=');
    if (eq == std::string::npos) {
      std::cerr << "cifs-worker: --platform '" << p << "' is not NAME=VALUE\n";
      return 2;
    }
    auto* prop = hello.add_platform();
    prop->set_name(p.substr(0, eq));
    prop->set_value(p.substr(eq + 1));
  }
  ExecutorOptions eo;
  eo.name = name;
  eo.dir = dir;
  eo.bwrap = *bwrap_path;
  auto cache_bytes = ParseByteSize(cache_size);
  if (!cache_bytes.ok()) {
    std::cerr << "cifs-worker: --cache-size: " << cache_bytes.status().message() << "\n";
    return 2;
  }
  eo.cache_bytes = *cache_bytes;
  Executor executor(eo);
  executor.Recover();
  Slot slot;
  std::vector<std::unique_ptr<FarmLink>> links;
  auto announce = [&links](const FarmLink* from, const v1::WorkerAvailability& now) {
    for (auto& l : links) {
      if (l.get() != from) l->Tell(now);
    }
  };
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(4 << 20);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  for (const auto& farm : farms) {
    ClientConfig c = *config;
    c.farm = farm;
    auto client = FarmClient::Connect(c, &args);
    if (!client.ok()) {
      std::cerr << "cifs-worker: " << client.status().message() << "\n";
      return 2;
    }
    links.push_back(std::make_unique<FarmLink>(farm, (*client)->channel(), hello, &slot, &executor, announce));
  }
  std::cerr << "cifs-worker " << name << ": serving";
  for (const auto& farm : farms) std::cerr << " " << farm;
  std::cerr << "\n";
  // `links` is complete before any thread announces through it.
  std::vector<std::thread> threads;
  for (auto& l : links) threads.emplace_back([&l] { l->Serve(); });
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace
}  // namespace cifs

int main(int argc, char** argv) { return cifs::Main(argc, argv); }
