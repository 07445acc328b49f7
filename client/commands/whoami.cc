// cifs whoami: checks the client setup end to end.
#include <iostream>

#include "cifs/v1/cifs.grpc.pb.h"
#include "client/commands/commands.h"
#include "farmclient/farm_client.h"

namespace cifs {

void RegisterWhoamiCommand(CLI::App& app, ExitCode* exit_code) {
  auto* cmd = app.add_subcommand("whoami", "show who the farm thinks you are");
  cmd->callback([exit_code] {
    auto client = ConnectFromDefaultConfig();
    if (!client.ok()) {
      *exit_code = Fail(client.status().message());
      return;
    }
    auto stub = v1::Farm::NewStub((*client)->channel());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
    v1::WhoAmIResponse resp;
    auto s = stub->WhoAmI(&ctx, v1::WhoAmIRequest(), &resp);
    if (!s.ok()) {
      *exit_code = Fail(DescribeRpcError(s, (*client)->config().farm));
      return;
    }
    std::cout << resp.user() << " (" << resp.role() << ") on farm " << (*client)->config().farm << ", version "
              << resp.farm_version() << "\n";
    *exit_code = 0;
  });
}

}  // namespace cifs
