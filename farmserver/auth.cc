#include "farmserver/auth.h"

#include "common/clock.h"

#include <chrono>

namespace cifs {

Status Authenticator::Load() {
  auto list = metadata_->ListRevocations();
  if (!list.ok()) return list.status();
  std::lock_guard lock(mu_);
  for (const auto& r : *list) revoked_before_ms_[r.name] = r.revoked_before_ms;
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
  Result<Identity> id = *parsed;
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

Result<Identity> Authenticator::FromContext(const grpc::ServerContext* ctx) {
  auto id = FromContextOrBuilder(ctx);
  if (id.ok() && id->role == Role::kBuilder) {
    return Status::PermissionDenied("the farm's builder identity may use the cache and build events only");
  }
  return id;
}

Result<Identity> Authenticator::FromContextOrBuilder(const grpc::ServerContext* ctx) {
  auto auth = ctx->auth_context();
  if (!auth) return Status::Unauthenticated("no TLS client certificate");
  auto pems = auth->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return Status::Unauthenticated("no TLS client certificate");
  return FromPem(std::string(pems.front().data(), pems.front().size()));
}

Result<Identity> Authenticator::Require(const grpc::ServerContext* ctx, Role role) {
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
  CIFS_RETURN_IF_ERROR(metadata_->PutRevocation({name, now, by}));
  std::lock_guard lock(mu_);
  revoked_before_ms_[name] = now;
  *revoked_before_ms = now;
  return Status::Ok();
}

grpc::Status CertificateAuthProcessor::Process(const InputMetadata&, grpc::AuthContext* context, OutputMetadata*,
                                               OutputMetadata*) {
  auto pems = context->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no TLS client certificate");
  auto id = auth_->FromPem(std::string(pems.front().data(), pems.front().size()));
  return ToGrpc(id.status());
}

}  // namespace cifs
