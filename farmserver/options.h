// farmserver's settings, from flags and/or a TOML config file (--config).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/byte_size.h"
#include "common/status.h"

namespace cifs {

struct FarmOptions {
  std::string state_dir;            // content store, metadata, CA files
  std::string metadata;             // postgresql://… for a cluster; empty: STATE/metadata.db
  std::string listen = "127.0.0.1";
  int grpc_port = 8980;             // 0: any free port (see ready_file)
  int http_port = 8981;
  std::string tls_cert;             // default: STATE/ca/server.crt
  std::string tls_key;              // default: STATE/ca/server.key
  std::string client_ca;            // default: STATE/ca/ca.crt
  int64_t cache_limit_bytes = 10LL << 30;
  int64_t min_free_bytes = 512LL << 20;
  bool sync_commits = false;
  std::string ready_file;           // JSON with the bound ports, written once serving
  std::string log_level = "info";
  // Farm builds (cifs build / cifs test).
  std::string bazel = "bazel";
  std::string bazel_kit;            // default: found next to the binaries
  std::string build_uids = "810000-819999";  // a uid per workspace (and per repository's validations)
  std::string web_url;              // default: https://localhost:HTTP_PORT
  // A cluster node: its name (the proxy's server name), and the proxy's
  // runtime socket and workspace map it keeps current.
  std::string node;
  std::string proxy_socket;
  std::string proxy_map;
  // The cluster's cache: every node's NAME=HOST:PORT (this one's included),
  // and the certificate of role `node` this node calls the others with.
  std::vector<std::string> cache_shards;
  std::string peer_cert;            // default: STATE/peer/client.crt
  std::string peer_key;             // default: STATE/peer/client.key
  bool cache_local_copies = true;   // keep what other nodes serve on this disk too
  int web_session_hours = 12;       // how long a browser stays signed in
  int max_builds = 2;
  int merge_batch = 8;              // approved PRs the merge queue tests as one
  int max_warm_servers = 4;
  // Remote execution: worker processes on this node and what they offer.
  int workers = 0;
  std::vector<std::string> worker_platform = {"OSFamily=Linux"};
  std::string worker_cache_size = "10GiB";
  int bazel_idle_secs = 3 * 3600;
  // Upstream git servers (pull requests, mirrors).
  std::string git_credentials;      // credential-store file: https://USER:SECRET@HOST/PATH per line
  std::string git_ca;               // CA bundle for https:// upstreams (default: the system's)
};

// Parses argv. Sets *exit_code when the caller should exit with it right away
// (--help, or a flag error CLI11 already printed); leaves it alone otherwise.
Result<FarmOptions> ParseFarmOptions(int argc, char** argv, int* exit_code);


}  // namespace cifs
