#include "farmserver/web/web_service.h"

namespace cifs {

grpc::Status WebService::CreateLoginLink(grpc::ServerContext* ctx, const v1::CreateLoginLinkRequest*,
                                         v1::LoginLink* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  int64_t expires_ms = 0;
  auto token = sessions_->CreateLink(*id, &expires_ms);
  if (!token.ok()) return ToGrpc(token.status());
  resp->set_url(web_url_ + "/login?token=" + *token);
  resp->set_expires_ms(expires_ms);
  resp->set_session_hours(sessions_->options().session_ttl_ms / 3600000);
  return grpc::Status::OK;
}

}  // namespace cifs
