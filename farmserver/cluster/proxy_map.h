// The proxy's map from workspace to node, kept current through HAProxy's
// runtime API (its stats socket): a workspace made on a node is routed
// there from its first call on, without reloading the proxy. The map file
// itself is written by whoever starts the proxy (scripts/cluster, from the
// metadata database), so a restarted proxy knows every workspace.
#pragma once

#include <string>

#include "common/status.h"

namespace cifs {

class ProxyMap {
 public:
  // Both empty: no proxy (a single node); every call is then a no-op.
  ProxyMap(std::string socket_path, std::string map_path)
      : socket_path_(std::move(socket_path)), map_path_(std::move(map_path)) {}

  [[nodiscard]] Status Set(const std::string& key, const std::string& value) const;
  [[nodiscard]] Status Remove(const std::string& key) const;

 private:
  // Sends one line of commands and returns HAProxy's answer.
  Result<std::string> Command(const std::string& line) const;

  std::string socket_path_;
  std::string map_path_;
};

}  // namespace cifs
