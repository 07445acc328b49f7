#include "farmserver/reapi/shard_service.h"

#include "farmserver/reapi/limits.h"

namespace cifs {

namespace {

Result<Digest> DigestOf(const v1::ShardDigest& d) {
  CIFS_RETURN_IF_ERROR(ValidateDigest(d.hash(), d.size()));
  return Digest{d.hash(), d.size()};
}

// Tiers are the farm's own names (build_scopes.h), never user text; still,
// the store's key format forbids NUL and an empty name means nothing.
Status ValidateTier(const std::string& tier) {
  if (tier.empty() || tier.find('\0') != std::string::npos || tier.size() > 256) {
    return Status::InvalidArgument("malformed cache tier name");
  }
  return Status::Ok();
}

}  // namespace

grpc::Status CacheShardService::CheckCaller(const grpc::ServerContext* ctx) {
  auto node = auth_->RequireNode(ctx);
  return node.ok() ? grpc::Status::OK : ToGrpc(node.status());
}

grpc::Status CacheShardService::FindMissing(grpc::ServerContext* ctx, const v1::ShardFindMissingRequest* req,
                                            v1::ShardFindMissingResponse* resp) {
  if (grpc::Status s = CheckCaller(ctx); !s.ok()) return s;
  std::vector<DigestRef> refs;
  refs.reserve(req->digests_size());
  for (const auto& d : req->digests()) {
    if (Status s = ValidateDigest(d.hash(), d.size()); !s.ok()) return ToGrpc(s);
    refs.push_back({d.hash(), d.size()});
  }
  for (size_t m : cas_->FindMissing(refs)) resp->add_missing(static_cast<int32_t>(m));
  return grpc::Status::OK;
}

grpc::Status CacheShardService::ReadBlob(grpc::ServerContext* ctx, const v1::ShardReadBlobRequest* req,
                                         v1::ShardReadBlobResponse* resp) {
  if (grpc::Status s = CheckCaller(ctx); !s.ok()) return s;
  auto digest = DigestOf(req->digest());
  if (!digest.ok()) return ToGrpc(digest.status());
  if (req->offset() < 0 || req->offset() > digest->size || req->limit() < 0) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "read range outside the blob");
  }
  auto reader = cas_->OpenRead(*digest);
  if (!reader.ok()) return ToGrpc(reader.status());
  size_t want = static_cast<size_t>(std::min<int64_t>(req->limit(), kReadChunkBytes));
  std::string* out = resp->mutable_data();
  while (out->size() < want) {
    size_t before = out->size();
    Status s = (*reader)->Read(req->offset() + static_cast<int64_t>(before), want - before, out);
    if (!s.ok()) return ToGrpc(s);
    if (out->size() == before) break;
  }
  return grpc::Status::OK;
}

grpc::Status CacheShardService::WriteBlob(grpc::ServerContext* ctx,
                                          grpc::ServerReader<v1::ShardWriteBlobRequest>* reader,
                                          v1::ShardWriteBlobResponse* resp) {
  if (grpc::Status s = CheckCaller(ctx); !s.ok()) return s;
  v1::ShardWriteBlobRequest req;
  if (!reader->Read(&req)) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty write stream");
  auto digest = DigestOf(req.digest());
  if (!digest.ok()) return ToGrpc(digest.status());
  auto writer = cas_->OpenWrite(*digest);
  if (!writer.ok()) {
    if (writer.status().code() != Status::Code::kAlreadyExists) return ToGrpc(writer.status());
    resp->set_already_present(true);
    return grpc::Status::OK;
  }
  do {
    if ((*writer)->bytes_written() + static_cast<int64_t>(req.data().size()) > digest->size) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "more bytes than the digest's size");
    }
    if (Status s = (*writer)->Append(req.data()); !s.ok()) return ToGrpc(s);
  } while (reader->Read(&req));
  return ToGrpc((*writer)->Commit());
}

grpc::Status CacheShardService::GetAction(grpc::ServerContext* ctx, const v1::ShardGetActionRequest* req,
                                          v1::ShardGetActionResponse* resp) {
  if (grpc::Status s = CheckCaller(ctx); !s.ok()) return s;
  auto action = DigestOf(req->action());
  if (!action.ok()) return ToGrpc(action.status());
  constexpr int kMaxTiers = 8;  // a caller reads two or three
  if (req->tiers_size() == 0 || req->tiers_size() > kMaxTiers) {
    return ToGrpc(Status::InvalidArgument("ask for 1 to 8 tiers"));
  }
  std::vector<std::string> tiers;
  for (const auto& t : req->tiers()) {
    if (Status s = ValidateTier(t); !s.ok()) return ToGrpc(s);
    tiers.push_back(t);
  }
  if (req->instance().find('\0') != std::string::npos) return ToGrpc(Status::InvalidArgument("malformed instance"));
  auto entries = ac_->GetInTiers(tiers, req->instance(), *action);
  if (!entries.ok()) return ToGrpc(entries.status());
  for (auto& entry : *entries) {
    auto* out = resp->add_entries();
    if (entry) {
      out->set_found(true);
      out->set_result(std::move(*entry));
    }
  }
  return grpc::Status::OK;
}

grpc::Status CacheShardService::PutAction(grpc::ServerContext* ctx, const v1::ShardPutActionRequest* req,
                                          v1::ShardPutActionResponse*) {
  if (grpc::Status s = CheckCaller(ctx); !s.ok()) return s;
  auto action = DigestOf(req->key().action());
  if (!action.ok()) return ToGrpc(action.status());
  if (Status s = ValidateTier(req->key().tier()); !s.ok()) return ToGrpc(s);
  if (req->key().instance().find('\0') != std::string::npos) {
    return ToGrpc(Status::InvalidArgument("malformed instance"));
  }
  return ToGrpc(ac_->Put(req->key().tier(), req->key().instance(), *action, req->result()));
}

grpc::Status CacheShardService::MoveTier(grpc::ServerContext* ctx, const v1::ShardMoveTierRequest* req,
                                         v1::ShardMoveTierResponse* resp) {
  if (grpc::Status s = CheckCaller(ctx); !s.ok()) return s;
  if (Status s = ValidateTier(req->from()); !s.ok()) return ToGrpc(s);
  if (Status s = ValidateTier(req->to()); !s.ok()) return ToGrpc(s);
  auto moved = ac_->MoveTier(req->from(), req->to());
  if (!moved.ok()) return ToGrpc(moved.status());
  resp->set_moved(*moved);
  return grpc::Status::OK;
}

grpc::Status CacheShardService::DropTier(grpc::ServerContext* ctx, const v1::ShardDropTierRequest* req,
                                         v1::ShardDropTierResponse*) {
  if (grpc::Status s = CheckCaller(ctx); !s.ok()) return s;
  if (Status s = ValidateTier(req->tier()); !s.ok()) return ToGrpc(s);
  return ToGrpc(ac_->DropTier(req->tier()));
}

}  // namespace cifs
