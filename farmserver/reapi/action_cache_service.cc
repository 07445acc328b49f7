#include "farmserver/reapi/action_cache_service.h"

#include "farmserver/reapi/limits.h"
#include "farmserver/reapi/resource_name.h"

namespace cifs {

namespace {

constexpr int64_t kInlineLimit = 1 << 20;

void Collect(const re::Digest& d, std::vector<Digest>* out) {
  if (d.hash().empty() && d.size_bytes() == 0) return;  // unset
  out->push_back({d.hash(), d.size_bytes()});
}

}  // namespace

bool ActionCacheService::OutputsPresent(const re::ActionResult& result) {
  std::vector<Digest> need;
  for (const auto& f : result.output_files()) Collect(f.digest(), &need);
  Collect(result.stdout_digest(), &need);
  Collect(result.stderr_digest(), &need);
  for (const auto& d : result.output_directories()) {
    Digest tree_digest{d.tree_digest().hash(), d.tree_digest().size_bytes()};
    auto data = cas_->Get(tree_digest);
    if (!data.ok()) return false;
    re::Tree tree;
    if (!tree.ParseFromString(*data)) return false;
    for (const auto& f : tree.root().files()) Collect(f.digest(), &need);
    for (const auto& child : tree.children()) {
      for (const auto& f : child.files()) Collect(f.digest(), &need);
    }
  }
  for (const auto& d : need) {
    if (!ValidateDigest(d.hash, d.size).ok()) return false;
  }
  return cas_->FindMissing(need).empty();
}

Result<CacheScope> ActionCacheService::ScopeOf(const grpc::ServerContextBase* ctx) {
  auto id = auth_->FromContextOrBuilder(ctx);
  if (!id.ok()) return id.status();
  return ScopeOf(*id);
}

Result<CacheScope> ActionCacheService::ScopeOf(const Identity& id) {
  if (id.role != Role::kBuilder) return UserCacheScope(id.name);
  auto build = builds_->Find(id.name);
  if (!build) return Status::Unauthenticated("the credential of build " + id.name + " ended with its build");
  return build->cache;
}

grpc::ServerUnaryReactor* ActionCacheService::GetActionResult(grpc::CallbackServerContext* ctx,
                                                              const re::GetActionResultRequest* req,
                                                              re::ActionResult* resp) {
  auto* reactor = ctx->DefaultReactor();
  auto scope = ScopeOf(ctx);
  reactor->Finish(scope.ok() ? Lookup(*scope, req, resp) : ToGrpc(scope.status()));
  return reactor;
}

grpc::Status ActionCacheService::Lookup(const CacheScope& scope, const re::GetActionResultRequest* req,
                                        re::ActionResult* resp) {
  auto action = DigestFromProto(req->action_digest().hash(), req->action_digest().size_bytes());
  if (!action.ok()) return ToGrpc(action.status());
  // The first tier in the caller's order whose entry is complete wins.
  bool found = false, incomplete = false;
  auto entries = ac_->GetInTiers(scope.read, req->instance_name(), *action);
  if (!entries.ok()) return ToGrpc(entries.status());
  for (const auto& entry : *entries) {
    if (!entry.has_value() || !resp->ParseFromString(*entry)) continue;
    if (OutputsPresent(*resp)) {
      found = true;
      break;
    }
    incomplete = true;
    resp->Clear();
  }
  if (!found) {
    metrics_->ac_misses++;
    if (incomplete) {
      metrics_->ac_incomplete++;
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "action result names outputs no longer in the cache");
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no action result for " + action->ToString());
  }
  auto inline_blob = [&](const re::Digest& d, std::string* out) {
    if (d.size_bytes() == 0 || d.size_bytes() > kInlineLimit) return;
    auto data = cas_->Get({d.hash(), d.size_bytes()});
    if (data.ok()) *out = std::move(*data);
  };
  if (req->inline_stdout()) inline_blob(resp->stdout_digest(), resp->mutable_stdout_raw());
  if (req->inline_stderr()) inline_blob(resp->stderr_digest(), resp->mutable_stderr_raw());
  int64_t inlined = 0;
  for (auto& f : *resp->mutable_output_files()) {
    for (const auto& wanted : req->inline_output_files()) {
      if (f.path() == wanted && inlined + f.digest().size_bytes() <= kInlineLimit) {
        inline_blob(f.digest(), f.mutable_contents());
        inlined += f.digest().size_bytes();
      }
    }
  }
  metrics_->ac_hits++;
  return grpc::Status::OK;
}

grpc::Status ActionCacheService::UpdateActionResult(grpc::ServerContext* ctx,
                                                    const re::UpdateActionResultRequest* req,
                                                    re::ActionResult* resp) {
  auto action = DigestFromProto(req->action_digest().hash(), req->action_digest().size_bytes());
  if (!action.ok()) return ToGrpc(action.status());
  auto id = auth_->FromContextOrBuilder(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  auto scope = ScopeOf(*id);
  if (!scope.ok()) return ToGrpc(scope.status());
  // Inline contents belong in the CAS, not in the entry: store them there.
  re::ActionResult result = req->action_result();
  for (auto& f : *result.mutable_output_files()) {
    if (!f.contents().empty()) {
      auto s = cas_->Put({f.digest().hash(), f.digest().size_bytes()}, f.contents());
      if (!s.ok()) return ToGrpc(s);
      f.clear_contents();
    }
  }
  for (auto [raw, digest] : {std::pair{result.mutable_stdout_raw(), result.stdout_digest()},
                             {result.mutable_stderr_raw(), result.stderr_digest()}}) {
    if (!raw->empty()) {
      auto s = cas_->Put({digest.hash(), digest.size_bytes()}, *raw);
      if (!s.ok()) return ToGrpc(s);
      raw->clear();
    }
  }
  result.mutable_execution_metadata()->set_worker(id->name);
  auto s = ac_->Put(scope->write, req->instance_name(), *action, result.SerializeAsString());
  if (!s.ok()) return ToGrpc(s);
  metrics_->ac_updates++;
  *resp = std::move(result);
  return grpc::Status::OK;
}

}  // namespace cifs
