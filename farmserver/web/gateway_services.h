// The gRPC services the REST gateway serves at /api/v1/SERVICE/METHOD (and
// its OpenAPI document describes). The Bazel protocols and the farm's
// internal ones (workers, cache shards) stay gRPC-only.
#pragma once

#include <string>
#include <vector>

namespace cifs {

inline std::vector<std::string> GatewayServices() {
  return {"cifs.v1.Farm", "cifs.v1.Builds", "cifs.v1.Admin", "cifs.v1.Workspaces", "cifs.v1.PullRequests",
          "cifs.v1.Web"};
}

}  // namespace cifs
