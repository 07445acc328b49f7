// cifs workers: the farm's remote-execution workers and queue, as the node
// that answers sees them.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <iostream>

#include "cifs/v1/cifs.grpc.pb.h"
#include "client/commands/call_farm.h"

namespace cifs {

void RegisterWorkersCommand(CLI::App& app, ExitCode* exit_code) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("workers", "the farm's remote-execution workers and what they run");
  cmd->add_flag("--json", *json, "machine-readable output");
  cmd->callback([json, exit_code] {
    *exit_code = CallFarm<v1::Farm>(std::chrono::seconds(15), [&](v1::Farm::Stub& stub, grpc::ClientContext& ctx) {
      v1::ExecutionStatus resp;
      grpc::Status s = stub.GetExecution(&ctx, v1::GetExecutionRequest(), &resp);
      if (!s.ok()) return s;
      if (*json) {
        std::string out;
        google::protobuf::util::JsonPrintOptions o;
        o.always_print_primitive_fields = true;
        o.preserve_proto_field_names = true;
        (void)google::protobuf::util::MessageToJsonString(resp, &out, o);
        std::cout << out << "\n";
        return s;
      }
      if (!resp.enabled()) {
        std::cout << "this farm node runs no workers (farmserver --workers N): it is a cache only\n";
        return s;
      }
      std::printf("%zu workers; %lld queued, %lld executing; %lld done, %lld retried, %lld shared\n",
                  static_cast<size_t>(resp.workers_size()), static_cast<long long>(resp.queued()),
                  static_cast<long long>(resp.executing()), static_cast<long long>(resp.completed()),
                  static_cast<long long>(resp.retried()), static_cast<long long>(resp.deduplicated()));
      std::printf("%-24s  %-30s  %s\n", "WORKER", "PLATFORM", "RUNNING");
      for (const auto& w : resp.workers()) {
        std::printf("%-24s  %-30s  %s\n", w.name().c_str(), w.platform().c_str(),
                    w.running().empty() ? "-" : w.running().c_str());
      }
      return s;
    });
  });
}

}  // namespace cifs
