#include "farmserver/options.h"

#include "common/names.h"
#include "metadata/open_metadata.h"

#include <CLI/CLI.hpp>
#include <cctype>
#include <iostream>

namespace cifs {

Result<FarmOptions> ParseFarmOptions(int argc, char** argv, int* exit_code) {
  FarmOptions o;
  std::string cache_limit = "10GiB";
  std::string min_free = "512MiB";
  CLI::App app{"farmserver: the cifs farm node (remote cache, build-event service, cifs API)", "farmserver"};
  app.set_config("--config", "", "TOML file whose keys are these long flag names (flags win)");
  app.add_option("--state-dir", o.state_dir, "directory for the content store, metadata and CA files")->required();
  app.add_option("--metadata", o.metadata,
                 "where builds, workspaces and PRs are kept: a postgresql:// URI shared by a cluster's nodes "
                 "(default: SQLite in STATE/metadata.db)");
  app.add_option("--listen", o.listen, "address to bind")->capture_default_str();
  app.add_option("--grpc-port", o.grpc_port, "gRPC port (0: any free port)")->capture_default_str();
  app.add_option("--http-port", o.http_port, "HTTPS port (0: any free port)")->capture_default_str();
  app.add_option("--tls-cert", o.tls_cert, "server certificate (default STATE/ca/server.crt)");
  app.add_option("--tls-key", o.tls_key, "server key (default STATE/ca/server.key)");
  app.add_option("--client-ca", o.client_ca, "CA that client certificates must chain to (default STATE/ca/ca.crt)");
  app.add_option("--cache-limit", cache_limit, "bytes of unpinned blobs kept before LRU eviction, e.g. 10GiB")
      ->capture_default_str();
  app.add_option("--min-free-space", min_free, "refuse new blobs when the disk would keep less free than this")
      ->capture_default_str();
  app.add_flag("--sync-commits", o.sync_commits, "fsync each stored blob (survives power loss, slower)");
  app.add_option("--ready-file", o.ready_file, "write {\"grpc_port\":..,\"http_port\":..} here once serving");
  app.add_option("--log-level", o.log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--bazel", o.bazel, "Bazel binary for farm builds (name on PATH or a path)")->capture_default_str();
  app.add_option("--bazel-kit", o.bazel_kit, "offline Bazel kit for farm builds (default: the one installed with cifs)");
  app.add_option("--build-uids", o.build_uids,
                 "uids farm builds run as, FIRST-LAST: one per workspace and per repository's validations, "
                 "none of them a login user (needs farmserver as root)")
      ->capture_default_str();
  std::string build_user;
  app.add_option("--build-user", build_user, "replaced by --build-uids")->group("");
  app.add_option("--git-credentials", o.git_credentials,
                 "file of https://USER:SECRET@HOST[/PATH] lines (git's credential-store format, mode 600) "
                 "the farm signs in to upstream git servers with");
  app.add_option("--git-ca", o.git_ca, "CA bundle https:// upstreams are verified against (default: the system's)");
  app.add_option("--web-url", o.web_url,
                 "public https:// address of this farm's web side, for build links and sign-in links");
  app.add_option("--node", o.node,
                 "this node's name in a cluster (the proxy's server name); workspaces made here are routed here");
  app.add_option("--proxy-socket", o.proxy_socket,
                 "a cluster proxy's HAProxy runtime socket: workspaces made here are added to its map at once");
  app.add_option("--proxy-map", o.proxy_map, "the HAProxy map file (workspace -> node) behind --proxy-socket");
  app.add_option("--cache-shard", o.cache_shards,
                 "NODE=HOST:PORT of each cluster node, this one included (repeat it; the same list on every node): "
                 "blobs and action results are spread over them by digest");
  app.add_option("--peer-cert", o.peer_cert,
                 "certificate of role node this node calls the others' cache with (default STATE/peer/client.crt)");
  app.add_option("--peer-key", o.peer_key, "its key (default STATE/peer/client.key)");
  app.add_flag("--cache-local-copies,!--no-cache-local-copies", o.cache_local_copies,
               "keep a copy of the blobs other nodes serve on this node's disk")
      ->capture_default_str();
  app.add_option("--web-session-hours", o.web_session_hours, "how long `cifs web login` keeps a browser signed in")
      ->check(CLI::Range(1, 24 * 30))
      ->capture_default_str();
  app.add_option("--max-builds", o.max_builds, "farm builds running at once; more wait in a queue")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--merge-batch", o.merge_batch,
                 "approved PRs of one target the merge queue tests and lands as one (1: one at a time)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--workers", o.workers,
                 "remote-execution workers this node runs (0: the farm is a cache only, Execute is refused)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  app.add_option("--worker-platform", o.worker_platform,
                 "NAME=VALUE platform property this node's workers offer (repeat it); actions asking for "
                 "properties no worker offers are refused")
      ->capture_default_str();
  app.add_option("--worker-cache-size", o.worker_cache_size,
                 "bytes of input files each worker keeps cached (least recently used go first), e.g. 10GiB")
      ->check([](const std::string& v) {
        auto n = ParseByteSize(v);
        return n.ok() ? std::string() : n.status().message();
      })
      ->capture_default_str();
  app.add_option("--max-warm-servers", o.max_warm_servers,
                 "Bazel servers kept running between builds (one per workspace, least recently used stop first)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_option("--bazel-idle-secs", o.bazel_idle_secs, "a warm Bazel server exits after this long unused")
      ->check(CLI::Range(10, 7 * 24 * 3600))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      *exit_code = app.exit(e);  // --help
    } else {
      std::cerr << "farmserver: " << e.what() << " (see --help)\n";
      *exit_code = 2;
    }
    return Status::InvalidArgument(e.what());
  }
  if (!build_user.empty()) {
    return Status::InvalidArgument(
        "--build-user is gone: each workspace's builds now run under a uid of their own from --build-uids "
        "(default " + o.build_uids + "), so builds of one workspace cannot read another's");
  }
  auto limit = ParseByteSize(cache_limit);
  if (!limit.ok()) return limit.status();
  o.cache_limit_bytes = *limit;
  auto reserve = ParseByteSize(min_free);
  if (!reserve.ok()) return reserve.status();
  o.min_free_bytes = *reserve;
  if (o.proxy_socket.empty() != o.proxy_map.empty()) {
    return Status::InvalidArgument("--proxy-socket and --proxy-map go together");
  }
  if (!o.proxy_socket.empty() && o.node.empty()) {
    return Status::InvalidArgument("--proxy-socket needs --node: the name the proxy knows this node by");
  }
  if (!o.node.empty()) {
    if (Status s = ValidateName("node", o.node); !s.ok()) return s;
    if (!IsPostgresUri(o.metadata)) {
      return Status::InvalidArgument("--node is for a cluster's nodes, which share --metadata postgresql://…");
    }
  }
  if (!o.cache_shards.empty() && o.node.empty()) {
    return Status::InvalidArgument("--cache-shard needs --node: which of the shards is this node");
  }
  for (const auto& p : o.worker_platform) {
    if (p.find('=') == std::string::npos || p.front() == '=') {
      return Status::InvalidArgument("--worker-platform '" + p + "' is not NAME=VALUE");
    }
  }
  if (o.peer_cert.empty()) o.peer_cert = o.state_dir + "/peer/client.crt";
  if (o.peer_key.empty()) o.peer_key = o.state_dir + "/peer/client.key";
  if (o.tls_cert.empty()) o.tls_cert = o.state_dir + "/ca/server.crt";
  if (o.tls_key.empty()) o.tls_key = o.state_dir + "/ca/server.key";
  if (o.client_ca.empty()) o.client_ca = o.state_dir + "/ca/ca.crt";
  return o;
}

}  // namespace cifs
