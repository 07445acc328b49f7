// How a call about one workspace reaches the node that holds it. In a
// cluster the farm's proxy routes on this header (a workspace's farm-side
// copy and Bazel server live on one node); a single node ignores it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

namespace cifs {

inline constexpr const char* kWorkspaceHeader = "x-cifs-workspace";
// Where an admin places a new workspace (a node's name in the cluster).
inline constexpr const char* kNodeHeader = "x-cifs-node";

inline void RouteToWorkspace(grpc::ClientContext* ctx, const std::string& workspace) {
  if (!workspace.empty()) ctx->AddMetadata(kWorkspaceHeader, workspace);
}

}  // namespace cifs
