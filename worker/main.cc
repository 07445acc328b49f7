// cifs-worker: executes the farm's actions (REAPI remote execution). The farm
// starts it (farmserver --workers N) with a credential of the `worker` role;
// it dials the farm, says what platform it offers, and runs what it is given
// one action at a time, each in a bubblewrap sandbox.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <thread>

#include "cifs/v1/worker.grpc.pb.h"
#include "common/client_config.h"
#include "common/files.h"
#include "farmclient/farm_client.h"
#include "worker/executor.h"

namespace cifs {
namespace {

void LogRun(const std::string& name, const v1::WorkAssignment& work, const re::ExecuteResponse& r,
            std::chrono::steady_clock::time_point started) {
  const auto& m = r.result().execution_metadata();
  auto ms = [](const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
    return (b.seconds() - a.seconds()) * 1000 + (b.nanos() - a.nanos()) / 1000000;
  };
  std::cerr << "cifs-worker " << name << ": ran " << work.action_digest().hash() << " exit "
            << r.result().exit_code() << " status " << r.status().code() << " in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
            << " ms (inputs " << ms(m.input_fetch_start_timestamp(), m.input_fetch_completed_timestamp()) << " ms)"
            << (r.status().message().empty() ? "" : ": " + r.status().message()) << "\n";
}

int Main(int argc, char** argv) {
  CLI::App app{"cifs-worker: runs the farm's actions in a sandbox (started by farmserver --workers)"};
  std::string config_path, dir, name = "w1", bwrap = "bwrap";
  std::vector<std::string> platform;
  app.add_option("--config", config_path, "client config with the worker's credential and the farm's address")
      ->required();
  app.add_option("--dir", dir, "this worker's directory (file cache, actions' exec roots)")->required();
  app.add_option("--name", name, "its name on the farm")->capture_default_str();
  app.add_option("--platform", platform, "NAME=VALUE platform property it offers (repeat it)");
  app.add_option("--bwrap", bwrap, "the bubblewrap program")->capture_default_str();
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
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(4 << 20);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  auto client = FarmClient::Connect(*config, &args);
  if (!client.ok()) {
    std::cerr << "cifs-worker: " << client.status().message() << "\n";
    return 2;
  }
  CasClient cas((*client)->channel());
  ExecutorOptions eo;
  eo.name = name;
  eo.dir = dir;
  eo.bwrap = *bwrap_path;
  Executor executor(eo, &cas);
  auto stub = v1::Workers::NewStub((*client)->channel());

  v1::WorkerMessage hello;
  hello.mutable_hello()->set_name(name);
  for (const auto& p : platform) {
    auto eq = p.find('=');
    if (eq == std::string::npos) {
      std::cerr << "cifs-worker: --platform '" << p << "' is not NAME=VALUE\n";
      return 2;
    }
    auto* prop = hello.mutable_hello()->add_platform();
    prop->set_name(p.substr(0, eq));
    prop->set_value(p.substr(eq + 1));
  }
  std::cerr << "cifs-worker " << name << ": serving " << config->farm << "\n";
  for (int backoff_ms = 250;; backoff_ms = std::min(backoff_ms * 2, 5000)) {
    grpc::ClientContext ctx;
    auto stream = stub->Work(&ctx);
    if (stream->Write(hello)) {
      // Reading goes on while an action runs: the farm may ask to stop it.
      std::thread running;
      v1::WorkAssignment msg;
      while (stream->Read(&msg)) {
        backoff_ms = 250;
        if (msg.cancel()) {
          executor.Cancel(msg.operation());
          continue;
        }
        if (running.joinable()) running.join();  // the farm sends one at a time
        running = std::thread([&, work = msg] {
          v1::WorkerMessage answer;
          answer.mutable_result()->set_operation(work.operation());
          auto started = std::chrono::steady_clock::now();
          *answer.mutable_result()->mutable_response() = executor.Run(work);
          LogRun(name, work, answer.result().response(), started);
          stream->Write(answer);
        });
      }
      // The stream broke: an action still running is the farm's to retry.
      executor.Cancel("");
      if (running.joinable()) running.join();
    }
    stream->WritesDone();
    grpc::Status s = stream->Finish();
    std::cerr << "cifs-worker " << name << ": the farm's stream ended (" << s.error_message()
              << "); dialing again\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
  }
}

}  // namespace
}  // namespace cifs

int main(int argc, char** argv) { return cifs::Main(argc, argv); }
