#include "farmserver/auth.h"

#include <openssl/crypto.h>

#include "common/base64.h"
#include "common/clock.h"
#include "common/random_hex.h"

#include <algorithm>
#include <chrono>

namespace cifs {

Authenticator::Authenticator(RevocationStore* revocations, ChangeSignal* changed, const BuildScopes* builds)
    : revocations_(revocations), changed_(changed), builds_(builds) {
  auto key = RandomHex(32);
  if (!key) std::abort();  // no safe way on without randomness
  gateway_key_ = std::move(*key);
}

Status Authenticator::Load() {
  // The generation is read before the list: a revocation stored meanwhile
  // moves it again and is picked up by the next call.
  uint64_t generation = changed_->Generation();
  auto list = revocations_->ListRevocations();
  if (!list.ok()) return list.status();
  std::lock_guard lock(mu_);
  for (const auto& r : *list) {
    auto& before = revoked_before_ms_[r.name];
    before = std::max(before, r.revoked_before_ms);
  }
  loaded_generation_ = std::max(loaded_generation_, generation);
  return Status::Ok();
}

Result<Identity> Authenticator::FromPem(const std::string& pem) {
  std::optional<Identity> parsed;
  {
    std::lock_guard lock(mu_);
    auto cached = parsed_.find(pem);
    if (cached != parsed_.end()) parsed = cached->second;
  }
  if (!parsed) {
    // Parsing X.509 costs tens of microseconds; every call of a connection
    // carries the same certificate, so remember what it says.
    auto id = IdentityFromPem(pem);
    if (!id.ok()) return id.status();
    parsed = *id;
    std::lock_guard lock(mu_);
    if (parsed_.size() >= kMaxParsedCertificates) parsed_.clear();
    parsed_.emplace(pem, *parsed);
  }
  if (parsed->role == Role::kBuilder && !builds_->Find(parsed->name)) {
    return Status::Unauthenticated("the credential of build " + parsed->name + " ended with its build");
  }
  return CheckRevoked(*parsed);
}

Result<Identity> Authenticator::CheckRevoked(Identity id_in) {
  Result<Identity> id = std::move(id_in);
  bool stale;
  {
    std::lock_guard lock(mu_);
    stale = loaded_generation_ < changed_->Generation();
  }
  if (stale) {
    // Fail closed: a revocation made on another node may be what moved it.
    Status s = Load();
    if (!s.ok()) return Status::Unavailable("cannot read revocations: " + s.message());
  }
  std::lock_guard lock(mu_);
  auto it = revoked_before_ms_.find(id->name);
  if (it != revoked_before_ms_.end()) {
    // Certificates from other CAs never get here; ours carry the exact issue
    // time in the serial. Fall back to notBefore for anything without one.
    int64_t issued = id->issued_ms ? id->issued_ms : id->not_before_ms;
    if (issued <= it->second) {
      return Status::Unauthenticated("the certificate of user '" + id->name + "' has been revoked");
    }
  }
  return id;
}

Result<std::optional<Identity>> Authenticator::FromPeer(const std::string& peer_pem, const std::string* forwarded,
                                                        Nodes nodes) {
  auto peer = FromPem(peer_pem);
  if (!peer.ok()) return peer.status();
  if (peer->role == Role::kNode && nodes == Nodes::kRefuse) {
    return Status::PermissionDenied("node '" + peer->name + "' holds a cluster node's peer certificate, "
                                    "which may only reach another node's cache shard");
  }
  if (peer->role != Role::kProxy) {
    if (forwarded) {
      return Status::PermissionDenied("user '" + peer->name + "' sent " + kForwardedCert +
                                      ": only the farm's proxy may name another caller");
    }
    return std::optional<Identity>(*peer);
  }
  if (!forwarded || forwarded->empty()) return std::optional<Identity>();
  auto pem = VerifyForwarded(*forwarded);
  if (!pem.ok()) return pem.status();
  auto caller = FromPem(*pem);
  if (!caller.ok()) return caller.status();
  if (caller->role == Role::kProxy || caller->role == Role::kNode) {
    return Status::Unauthenticated(std::string("a proxy forwarded a ") + RoleName(caller->role) + "'s certificate");
  }
  return std::optional<Identity>(*caller);
}

Result<std::optional<Identity>> Authenticator::FromGrpcPeer(
    const grpc::string_ref& peer_pem, const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, Nodes nodes) {
  std::optional<std::string> forwarded;
  auto it = metadata.find(kForwardedCert);
  if (it != metadata.end()) forwarded.emplace(it->second.data(), it->second.size());
  return FromPeer(std::string(peer_pem.data(), peer_pem.size()), forwarded ? &*forwarded : nullptr, nodes);
}

std::optional<grpc::string_ref> Authenticator::PeerPem(const grpc::ServerContextBase* ctx) {
  auto auth = ctx->auth_context();
  auto pems = auth ? auth->FindPropertyValues("x509_pem_cert") : std::vector<grpc::string_ref>{};
  if (pems.empty()) return std::nullopt;
  return pems.front();
}

Result<std::string> Authenticator::VerifyForwarded(const std::string& forwarded) {
  // Every call through the proxy carries the caller's certificate; checking
  // its chain costs more than parsing it, so a recent check is reused. The
  // cache's age bound keeps an expired certificate from living on in it.
  constexpr int64_t kReverifyMs = 60'000;
  int64_t now = NowMs();
  {
    std::lock_guard lock(mu_);
    auto it = verified_.find(forwarded);
    if (it != verified_.end() && now - it->second.at_ms < kReverifyMs) return it->second.pem;
  }
  auto der = Base64Decode(forwarded);
  if (!der.ok()) return Status::Unauthenticated(std::string("the proxy forwarded a malformed ") + kForwardedCert);
  auto pem = VerifiedCertificatePem(*der, client_ca_pem_);
  if (!pem.ok()) return pem.status();
  std::lock_guard lock(mu_);
  if (verified_.size() >= kMaxParsedCertificates) verified_.clear();
  verified_[forwarded] = {*pem, now};
  return pem;
}

Result<Identity> Authenticator::RequireNode(const grpc::ServerContextBase* ctx) {
  auto pem = PeerPem(ctx);
  if (!pem) return Status::PermissionDenied("only a cluster node may use another node's cache shard");
  // Nodes call each other directly: a forwarded caller is refused here too.
  auto id = FromGrpcPeer(*pem, ctx->client_metadata(), Nodes::kAccept);
  if (!id.ok()) return id.status();
  if (!id->has_value() || (*id)->role != Role::kNode) {
    std::string who = id->has_value() ? std::string(RoleName((*id)->role)) + " '" + (*id)->name + "'" : "the proxy";
    return Status::PermissionDenied("only a cluster node may use another node's cache shard, not " + who);
  }
  return **id;
}

Result<Identity> Authenticator::FromContext(const grpc::ServerContextBase* ctx) {
  auto id = FromContextOrBuilder(ctx);
  if (id.ok() && id->role == Role::kBuilder) {
    return Status::PermissionDenied("a build's credential may use the cache and build events only");
  }
  return id;
}

Result<Identity> Authenticator::FromContextOrBuilder(const grpc::ServerContextBase* ctx) {
  auto id = FromContextForCas(ctx);
  if (id.ok() && id->role == Role::kWorker) {
    return Status::PermissionDenied("worker '" + id->name + "' may take actions and use the CAS only");
  }
  return id;
}

Result<Identity> Authenticator::RequireWorker(const grpc::ServerContextBase* ctx) {
  auto id = FromContextForCas(ctx);
  if (!id.ok()) return id;
  if (id->role != Role::kWorker) {
    return Status::PermissionDenied(std::string("only the farm's workers take actions, not ") + RoleName(id->role) +
                                    " '" + id->name + "'");
  }
  return id;
}

Result<Identity> Authenticator::FromContextForCas(const grpc::ServerContextBase* ctx) {
  auto pem = PeerPem(ctx);
  if (!pem) return FromGateway(ctx);
  // The caller behind a proxy is named per call (its connection to this
  // node carries the calls of many users), so from the call's own metadata.
  auto id = FromGrpcPeer(*pem, ctx->client_metadata());
  if (!id.ok()) return id.status();
  if (!id->has_value()) return Status::Unauthenticated("the farm's proxy has no rights of its own and named no caller");
  return **id;
}

void Authenticator::ActAs(const Identity& id, grpc::ClientContext* ctx) const {
  ctx->AddMetadata(kGatewayKey, gateway_key_);
  ctx->AddMetadata(kGatewayUser, id.name);
  ctx->AddMetadata(kGatewayRole, RoleName(id.role));
  ctx->AddMetadata(kGatewayIssued, std::to_string(id.issued_ms ? id.issued_ms : id.not_before_ms));
}

Result<Identity> Authenticator::FromGateway(const grpc::ServerContextBase* ctx) {
  const auto& md = ctx->client_metadata();
  auto get = [&](const char* key) -> std::string {
    auto it = md.find(key);
    return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
  };
  std::string key = get(kGatewayKey);
  if (key.size() != gateway_key_.size() || CRYPTO_memcmp(key.data(), gateway_key_.data(), key.size()) != 0) {
    return Status::Unauthenticated("no TLS client certificate");
  }
  auto role = ParseRole(get(kGatewayRole));
  if (!role.ok()) return Status::Unauthenticated("the web side named no role");
  Identity id;
  id.name = get(kGatewayUser);
  id.role = *role;
  try {
    id.issued_ms = std::stoll(get(kGatewayIssued));
  } catch (...) {
    return Status::Unauthenticated("the web side named no issue time");
  }
  return CheckRevoked(std::move(id));
}

Result<Identity> Authenticator::Require(const grpc::ServerContextBase* ctx, Role role) {
  auto id = FromContext(ctx);
  if (!id.ok()) return id;
  if (!RoleAtLeast(id->role, role)) {
    return Status::PermissionDenied("user '" + id->name + "' has role " + RoleName(id->role) + ", this needs " +
                                    RoleName(role));
  }
  return id;
}

Status Authenticator::Revoke(const std::string& name, const std::string& by, int64_t* revoked_before_ms) {
  CIFS_RETURN_IF_ERROR(ValidateUserName(name));
  int64_t now = NowMs();
  CIFS_RETURN_IF_ERROR(revocations_->PutRevocation({name, now, by}));
  std::lock_guard lock(mu_);
  revoked_before_ms_[name] = now;
  *revoked_before_ms = now;
  return Status::Ok();
}

grpc::Status CertificateAuthProcessor::Process(const InputMetadata& metadata, grpc::AuthContext* context,
                                               OutputMetadata*, OutputMetadata*) {
  auto pems = context->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no TLS client certificate");
  // Another node's peer certificate passes here for the cache shard
  // service, which requires it (Authenticator::RequireNode); every other
  // handler refuses it (FromPeer's default).
  auto id = auth_->FromGrpcPeer(pems.front(), metadata, Authenticator::Nodes::kAccept);
  if (!id.ok()) return ToGrpc(id.status());
  if (!id->has_value()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no client certificate reached the farm's proxy");
  }
  // Nothing is added to `context`: it belongs to the connection, which a
  // proxy shares between callers. Handlers read the caller from the call.
  return grpc::Status::OK;
}

}  // namespace cifs
