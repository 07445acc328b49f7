// The `cifs` subcommands. Each Register* adds its subcommands to the app; each
// command returns the process exit code and prints errors on stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace cifs {

// Set by the chosen command's callback; main returns it.
using ExitCode = int;

// Returns the `admin` subcommand so other groups can add to it.
CLI::App* RegisterAdminCommands(CLI::App& app, ExitCode* exit_code);
void RegisterWorkspaceCommands(CLI::App& app, CLI::App& admin, ExitCode* exit_code);
void RegisterBuildCommands(CLI::App& app, ExitCode* exit_code);
// `bazel_flags`: what followed `--` on the command line, for Bazel itself.
void RegisterRemoteBuildCommands(CLI::App& app, const std::vector<std::string>* bazel_flags, ExitCode* exit_code);
void RegisterBazelrcCommand(CLI::App& app, ExitCode* exit_code);
void RegisterWhoamiCommand(CLI::App& app, ExitCode* exit_code);
void RegisterWorkersCommand(CLI::App& app, ExitCode* exit_code);
void RegisterMountCommands(CLI::App& app, ExitCode* exit_code);
void RegisterPrefetchCommand(CLI::App& app, ExitCode* exit_code);
void RegisterPrCommands(CLI::App& app, ExitCode* exit_code);
// `pr diff` and `pr comment`, under the `pr` subcommand.
void RegisterPrReviewCommands(CLI::App* pr, ExitCode* exit_code);
void RegisterWebCommands(CLI::App& app, ExitCode* exit_code);
void RegisterCompletionCommand(CLI::App& app, ExitCode* exit_code);

// Prints a build's console output (following it while it runs with
// `follow`) and its summary; returns the exit code for the CLI.
int PrintBuildLog(const std::string& id, bool follow);

// Prints "cifs: MESSAGE" on stderr and returns 1.
int Fail(const std::string& message);

}  // namespace cifs
