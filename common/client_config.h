// The client's config.toml: where the farm is and which certificate to use.
// Found at $CIFS_CONFIG, else ~/.config/cifs/config.toml. `cifs admin user add`
// writes one per user; relative paths in it are relative to the file.
#pragma once

#include <string>

#include "common/status.h"

namespace cifs {

struct ClientConfig {
  std::string farm;  // host:port of the farm's gRPC endpoint
  std::string web;   // https://host:port of the farm's HTTP side
  std::string ca;    // farm CA certificate (PEM path)
  std::string cert;  // client certificate (PEM path)
  std::string key;   // client private key (PEM path)
  std::string user;  // informational; the farm trusts the certificate, not this
  std::string bazel_kit;  // optional: the offline Bazel kit directory
  // optional: fsd's directory (local content store, control socket, log).
  // Default: one per config file under ~/.cache/cifs, see FsdDir.
  std::string fsd_dir;
  // optional: bytes of file contents fsd keeps locally ("10GiB" when unset);
  // the oldest read are evicted past it.
  std::string local_cache_limit;
  std::string path;  // the file this was loaded from
};

std::string DefaultClientConfigPath();
Result<ClientConfig> LoadClientConfig(const std::string& path);
std::string RenderClientConfig(const ClientConfig& c);

// Where this config's fsd lives: `fsd_dir` if set, else
// $XDG_CACHE_HOME/cifs/fsd-ID (~/.cache/...) with ID from the config's path,
// so each farm identity gets its own daemon and store.
std::string FsdDir(const ClientConfig& c);

}  // namespace cifs
