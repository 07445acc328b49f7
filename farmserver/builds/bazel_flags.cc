#include "farmserver/builds/bazel_flags.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace cifs {

namespace {

// Bazel 4.2.3's startup options (src/main/cpp/startup_options.cc and
// BlazeServerStartupOptions.java): the farm sets these, a build may not.
constexpr std::array<std::string_view, 47> kStartupOptions = {
    "autodetect_server_javabase", "batch", "batch_cpu_scheduling", "bazelrc", "block_for_lock", "client_debug",
    "command_port", "connect_timeout_secs", "default_system_javabase", "digest_function", "expand_configs_in_place",
    "failure_detail_out", "fatal_event_bus_exceptions", "home_rc", "host_jvm_args", "host_jvm_debug",
    "host_jvm_profile", "idle_server_tasks", "ignore_all_rc_files", "incompatible_enable_execution_transition",
    "install_base", "invocation_policy", "io_nice_level", "local_startup_timeout_secs", "macos_qos_class",
    "master_bazelrc", "max_idle_secs", "option_sources", "output_base", "output_user_root", "product_name",
    "server_javabase", "server_jvm_out", "shutdown_on_low_sys_mem", "system_rc", "trust_install_base",
    "unix_digest_hash_attribute_name", "unlimit_coredumps", "version", "watchfs", "windows_enable_symlinks",
    "workspace_directory", "workspace_rc", "write_command_log", "client_env", "client_cwd", "default_override"};

// Command options that point Bazel at other servers or identities, or make
// it write outside its output tree; the farm sets what it needs itself.
constexpr std::array<std::string_view, 37> kFarmOwned = {
    "remote_cache", "remote_executor", "remote_instance_name", "remote_header", "remote_cache_header",
    "remote_exec_header", "remote_downloader_header", "experimental_remote_downloader", "remote_proxy",
    "bes_backend", "bes_header", "bes_instance_name", "bes_results_url", "bes_proxy", "tls_certificate",
    "tls_client_certificate", "tls_client_key", "google_credentials", "google_default_credentials",
    "credential_helper", "invocation_id", "build_request_id", "build_event_json_file", "build_event_text_file",
    "build_event_binary_file", "profile", "experimental_execution_log_file", "execution_log_json_file",
    "execution_log_binary_file", "symlink_prefix", "experimental_convenience_symlinks", "package_path",
    "experimental_workspace_rules_log_file", "memory_profile", "starlark_cpu_profile", "experimental_remote_grpc_log",
    "experimental_build_event_upload_strategy"};

// May only name a directory inside the offline kit.
constexpr std::array<std::string_view, 4> kKitOnly = {"override_repository", "repository_cache", "disk_cache",
                                                      "distdir"};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// "a/b/../c" stays a path string; any ".." component is refused instead of
// resolved, so a value cannot climb out of the kit.
bool InsideDir(std::string_view path, const std::string& dir) {
  if (dir.empty() || path.substr(0, dir.size()) != dir) return false;
  if (path.size() > dir.size() && path[dir.size()] != '/') return false;
  return path.find("/..") == std::string_view::npos && path.find("/./") == std::string_view::npos;
}

Status CheckTarget(const std::string& t) {
  if (t.empty() || t.size() > 1024) return Status::InvalidArgument("a target pattern must be 1 to 1024 characters");
  if (t[0] == '-' && (t.size() < 2 || (t[1] != '/' && t[1] != ':' && t[1] != '@'))) {
    return Status::InvalidArgument("'" + t + "' looks like a flag; put Bazel flags after `--`");
  }
  for (unsigned char c : t) {
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument("target pattern holds a control character");
  }
  return Status::Ok();
}

}  // namespace

Status CheckBazelRequest(const std::string& command, const std::vector<std::string>& targets,
                         const std::vector<std::string>& flags, const std::string& kit_dir) {
  if (command != "build" && command != "test") {
    return Status::InvalidArgument("the farm runs `bazel build` and `bazel test`, not '" + command + "'");
  }
  if (targets.size() > 1000) return Status::InvalidArgument("at most 1000 target patterns");
  if (flags.size() > 1000) return Status::InvalidArgument("at most 1000 Bazel flags");
  for (const auto& t : targets) CIFS_RETURN_IF_ERROR(CheckTarget(t));
  for (size_t i = 0; i < flags.size(); ++i) {
    const std::string& f = flags[i];
    if (f.size() > 8192) return Status::InvalidArgument("a Bazel flag is longer than 8192 characters");
    if (f.find('\0') != std::string::npos) return Status::InvalidArgument("a Bazel flag holds a NUL byte");
    if (f == "--") return Status::InvalidArgument("`--` inside the flags: targets go before the flags");
    if (f.size() < 2 || f[0] != '-') {
      // The value of the previous flag (`--copt -O2`); Bazel reads it so.
      continue;
    }
    std::string_view body = std::string_view(f).substr(f[1] == '-' ? 2 : 1);
    std::string_view name = body.substr(0, body.find('='));
    std::string_view plain = name.substr(0, 2) == "no" ? name.substr(2) : name;
    if (Contains(kStartupOptions, name) || Contains(kStartupOptions, plain)) {
      return Status::InvalidArgument("--" + std::string(name) +
                                     " is a Bazel startup option; the farm sets those itself");
    }
    if (Contains(kFarmOwned, name) || Contains(kFarmOwned, plain)) {
      return Status::InvalidArgument("--" + std::string(name) +
                                     " would point the farm's Bazel elsewhere; the farm sets it itself");
    }
    if (Contains(kKitOnly, name)) {
      std::string value;
      if (body.find('=') != std::string_view::npos) {
        value = std::string(body.substr(body.find('=') + 1));
      } else if (i + 1 < flags.size()) {
        value = flags[++i];
      }
      // --override_repository=NAME=PATH names its directory after the '='.
      std::string_view dir = value;
      if (name == "override_repository") dir = dir.substr(dir.find('=') == std::string_view::npos ? dir.size() : dir.find('=') + 1);
      if (!InsideDir(dir, kit_dir)) {
        return Status::InvalidArgument("--" + std::string(name) + " may only name a directory inside the farm's Bazel kit (" +
                                       (kit_dir.empty() ? std::string("none configured") : kit_dir) + ")");
      }
    }
  }
  return Status::Ok();
}

}  // namespace cifs
