// Where a workspace lives. In a cluster each workspace's farm-side copy and
// Bazel server are on one node, recorded in the workspace; a node asked about
// a workspace held elsewhere says so instead of answering from nothing.
#pragma once

#include <string>

#include "cifs/v1/cifs.pb.h"
#include "common/status.h"

namespace cifs {

// `node` is this farmserver's --node (empty on a single node).
inline Status CheckOnThisNode(const v1::Workspace& ws, const std::string& node) {
  if (node.empty() || ws.node().empty() || ws.node() == node) return Status::Ok();
  // Unavailable: the proxy sends a workspace's calls to its node unless that
  // node is down, so this is usually a node coming back; clients retry.
  return Status::Unavailable("workspace '" + ws.name() + "' lives on node " + ws.node() + ", not on " + node +
                             ": that node does not answer, or this call did not come through the farm's proxy");
}

}  // namespace cifs
