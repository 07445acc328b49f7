// cifs bazelrc: flags for a local Bazel that uses the farm as its remote
// cache and build-event service (and, with --remote-exec, as its executor),
// with the user's certificate.
#include <filesystem>
#include <iostream>

#include "common/bazel_kit.h"
#include "client/commands/commands.h"
#include "common/client_config.h"

namespace cifs {

namespace {


int PrintBazelrc(bool no_kit, bool remote_exec) {
  auto config = LoadClientConfig(DefaultClientConfigPath());
  if (!config.ok()) return Fail(config.status().message());
  namespace fs = std::filesystem;
  std::error_code ec;
  auto abs = [&](const std::string& p) { return fs::absolute(p, ec).string(); };
  std::cout << "# cifs: farm " << config->farm << " as remote cache and build-event service";
  if (!config->user.empty()) std::cout << " for " << config->user;
  std::cout << "\n# use: cifs bazelrc > .cifs.bazelrc; bazel --bazelrc=.cifs.bazelrc build //...\n";
  if (!no_kit) {
    auto kit = FindBazelKit(config->bazel_kit);
    if (!kit.ok()) return Fail(kit.status().message());
    for (const auto& line : KitBazelrcLines(*kit)) std::cout << line << "\n";
  }
  std::cout << "build --remote_cache=grpcs://" << config->farm << "\n"
            << "build --bes_backend=grpcs://" << config->farm << "\n";
  // The farm's workers run the actions; the local Bazel only plans them.
  if (remote_exec) std::cout << "build --remote_executor=grpcs://" << config->farm << "\n";
  if (!config->web.empty()) std::cout << "build --bes_results_url=" << config->web << "/builds/\n";
  std::cout << "build --tls_certificate=" << abs(config->ca) << "\n"
            << "build --tls_client_certificate=" << abs(config->cert) << "\n"
            << "build --tls_client_key=" << abs(config->key) << "\n"
            << "build --remote_timeout=60\n"
            // Backoff from 0.1 s to 5 s: a farm that restarts within ~25 s
            // costs retries (WaitExecution, then Execute again), not the build.
            << "build --remote_retries=10\n"
            << "build --bes_timeout=60s\n";
  return 0;
}

}  // namespace

void RegisterBazelrcCommand(CLI::App& app, ExitCode* exit_code) {
  auto no_kit = std::make_shared<bool>(false);
  auto remote_exec = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("bazelrc", "print bazelrc lines for a local Bazel against the farm");
  cmd->add_flag("--no-kit", *no_kit, "leave out the offline kit (for a Bazel that can download and speak TLS)");
  cmd->add_flag("--remote-exec", *remote_exec,
                "run the build's actions on the farm's workers too (the farm must run with --workers)");
  cmd->callback([no_kit, remote_exec, exit_code] { *exit_code = PrintBazelrc(*no_kit, *remote_exec); });
}

}  // namespace cifs
