// cifs: the command-line client. See `cifs --help`.
#include <csignal>
#include <iostream>
#include <string_view>
#include <vector>

#include "client/commands/commands.h"

namespace cifs {
int Fail(const std::string& message) {
  std::cerr << "cifs: " << message << "\n";
  return 1;
}
}  // namespace cifs

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"cifs: workspaces on the build farm, builds and pull requests gated by it", "cifs"};
  app.set_version_flag("--version", std::string("cifs ") + CIFS_VERSION);
  app.require_subcommand(1);
  app.footer("Configuration: $CIFS_CONFIG or ~/.config/cifs/config.toml (from `cifs admin user add`).");
  cifs::ExitCode exit_code = 0;
  // `cifs build|test ... -- FLAGS`: what follows `--` is Bazel's, untouched
  // by this parser.
  std::vector<std::string> bazel_flags;
  if (argc > 1 && (std::string_view(argv[1]) == "build" || std::string_view(argv[1]) == "test")) {
    for (int i = 2; i < argc; ++i) {
      if (std::string_view(argv[i]) == "--") {
        bazel_flags.assign(argv + i + 1, argv + argc);
        argc = i;
        break;
      }
    }
  }
  CLI::App* admin = cifs::RegisterAdminCommands(app, &exit_code);
  cifs::RegisterWorkspaceCommands(app, *admin, &exit_code);
  cifs::RegisterWhoamiCommand(app, &exit_code);
  cifs::RegisterWorkersCommand(app, &exit_code);
  cifs::RegisterMountCommands(app, &exit_code);
  cifs::RegisterPrefetchCommand(app, &exit_code);
  cifs::RegisterBuildCommands(app, &exit_code);
  cifs::RegisterRemoteBuildCommands(app, &bazel_flags, &exit_code);
  cifs::RegisterBazelrcCommand(app, &exit_code);
  cifs::RegisterPrCommands(app, &exit_code);
  cifs::RegisterWebCommands(app, &exit_code);
  cifs::RegisterCompletionCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // A usage error: one line, and 2 as shells and git use for it (CLI11's
    // own codes, 106 and up, read like a command's failure).
    std::cerr << "cifs: " << e.what() << " (see --help)\n";
    return 2;
  }
  return exit_code;
}
