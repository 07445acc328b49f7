// REAPI ActionCache. An entry is served only while every blob it names is in
// the content store; otherwise NOT_FOUND, so Bazel re-runs the action instead
// of failing to download an output. Each caller reads and writes the tiers
// of its CacheScope (build_scopes.h): users their own tier and trusted,
// a validation trusted only.
#pragma once

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "farmserver/auth.h"
#include "farmserver/metrics.h"
#include "store/action_cache.h"
#include "store/content_store.h"

namespace cifs {

namespace re = build::bazel::remote::execution::v2;

// GetActionResult runs on the callback API: it is one lookup, and the
// callback API answers it without the sync server's thread hand-off.
class ActionCacheService final : public re::ActionCache::WithCallbackMethod_GetActionResult<re::ActionCache::Service> {
 public:
  ActionCacheService(ActionCache* ac, ContentStore* cas, Authenticator* auth, const BuildScopes* builds,
                     Metrics* metrics)
      : ac_(ac), cas_(cas), auth_(auth), builds_(builds), metrics_(metrics) {}

  grpc::ServerUnaryReactor* GetActionResult(grpc::CallbackServerContext* ctx, const re::GetActionResultRequest* req,
                                            re::ActionResult* resp) override;
  grpc::Status UpdateActionResult(grpc::ServerContext* ctx, const re::UpdateActionResultRequest* req,
                                  re::ActionResult* resp) override;

  // Also the execution service's: a cache hit answers Execute.
  grpc::Status Lookup(const CacheScope& scope, const re::GetActionResultRequest* req, re::ActionResult* resp);
  // Which tiers the caller reads and writes.
  Result<CacheScope> ScopeOf(const grpc::ServerContextBase* ctx);
  Result<CacheScope> ScopeOf(const Identity& id);

 private:
  // True when all outputs of `result` (including trees' files) are present.
  bool OutputsPresent(const re::ActionResult& result);

  ActionCache* ac_;
  ContentStore* cas_;
  Authenticator* auth_;
  const BuildScopes* builds_;
  Metrics* metrics_;
};

}  // namespace cifs
