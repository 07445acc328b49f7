// cifs web login: a one-time link that signs a browser in as you.
#include <iostream>

#include "cifs/v1/web.grpc.pb.h"
#include "client/commands/commands.h"
#include "farmclient/farm_client.h"

namespace cifs {

void RegisterWebCommands(CLI::App& app, ExitCode* exit_code) {
  auto* web = app.add_subcommand("web", "the farm's web UI");
  web->require_subcommand(1);
  auto* login = web->add_subcommand(
      "login", "print a one-time link that signs a browser in as you (open it within 5 minutes; it works once)");
  login->callback([exit_code] {
    auto client = ConnectFromDefaultConfig();
    if (!client.ok()) {
      *exit_code = Fail(client.status().message());
      return;
    }
    auto stub = v1::Web::NewStub((*client)->channel());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
    v1::LoginLink link;
    auto s = stub->CreateLoginLink(&ctx, v1::CreateLoginLinkRequest(), &link);
    if (!s.ok()) {
      *exit_code = Fail(DescribeRpcError(s, (*client)->config().farm));
      return;
    }
    std::cout << link.url() << "\n";
    std::cerr << "open it in your browser within 5 minutes; it works once and keeps you signed in for "
              << link.session_hours() << " hours\n";
    *exit_code = 0;
  });
}

}  // namespace cifs
