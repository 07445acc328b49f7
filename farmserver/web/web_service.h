// The Web gRPC service: `cifs web login`'s one-time links.
#pragma once

#include "cifs/v1/web.grpc.pb.h"
#include "farmserver/auth.h"
#include "farmserver/web/sessions.h"

namespace cifs {

class WebService final : public v1::Web::Service {
 public:
  WebService(Authenticator* auth, WebSessions* sessions, std::string web_url)
      : auth_(auth), sessions_(sessions), web_url_(std::move(web_url)) {}

  grpc::Status CreateLoginLink(grpc::ServerContext* ctx, const v1::CreateLoginLinkRequest* req,
                               v1::LoginLink* resp) override;

 private:
  Authenticator* auth_;
  WebSessions* sessions_;
  std::string web_url_;
};

}  // namespace cifs
