// One call to the farm as every command makes it: default config, a
// deadline, and a failure turned into the CLI's one-line error.
#pragma once

#include <chrono>

#include "client/commands/commands.h"
#include "farmclient/farm_client.h"

namespace cifs {

// Runs call(stub, context) against Service; returns the exit code.
template <typename Service, typename Call>
int CallFarm(std::chrono::seconds deadline, Call call) {
  auto client = ConnectFromDefaultConfig();
  if (!client.ok()) return Fail(client.status().message());
  auto stub = Service::NewStub((*client)->channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  grpc::Status s = call(*stub, ctx);
  if (!s.ok()) return Fail(DescribeRpcError(s, (*client)->config().farm, ctx));
  return 0;
}

}  // namespace cifs
