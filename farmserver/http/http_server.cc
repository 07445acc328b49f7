#include "farmserver/http/http_server.h"

#include "farmserver/http/responses.h"

namespace cifs {

HttpServer::HttpServer(HttpsServerOptions options, Authenticator* auth, WebSessions* sessions, ChangeSignal* changes,
                       ContentStore* store, Metrics* metrics, Logger* log)
    : auth_(auth),
      sessions_(sessions),
      request_auth_(auth, sessions),
      changes_(changes),
      store_(store),
      metrics_(metrics),
      log_(log),
      transport_(std::move(options), log),
      broadcaster_(changes) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Bind() { return transport_.Bind(); }

Status HttpServer::Serve(const RpcGateway* gateway) {
  gateway_ = gateway;
  transport_.SetDecorator([](HttpResponse& res) {
    // Nothing the farm serves may run script from elsewhere, be framed, or
    // leak a sign-in link through Referer.
    res.SetHeader("Content-Security-Policy",
                  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                  "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    res.SetHeader("X-Content-Type-Options", "nosniff");
    res.SetHeader("Referrer-Policy", "no-referrer");
  });
  transport_.SetErrorWriter([](HttpResponse& res, int http_status, const Status& why) {
    SendError(res, why);
    if (http_status != 0) res.status = http_status;
  });
  transport_.SetAuthenticator([this](const HttpRequest& req) -> Result<Principal> {
    auto caller = request_auth_.Authenticate(req);
    if (!caller.ok()) {
      metrics_->auth_refused++;
      return caller.status();
    }
    Principal p;
    p.key = caller->identity.name;
    p.caller = std::move(*caller);
    return p;
  });
  OpsRoutes();
  ApiRoutes();
  WebRoutes();
  EventRoutes();
  return transport_.Start();
}

void HttpServer::Stop() {
  {
    std::lock_guard lock(streams_mu_);
    stopping_ = true;
    for (auto* ctx : streams_) ctx->TryCancel();
  }
  broadcaster_.Stop();
  transport_.Stop();
}

const Caller& HttpServer::CallerOf(const HttpRequest& req) { return std::any_cast<const Caller&>(req.caller); }

void HttpServer::Track(grpc::ClientContext* ctx) {
  std::lock_guard lock(streams_mu_);
  if (stopping_) ctx->TryCancel();
  streams_.insert(ctx);
}

void HttpServer::Untrack(grpc::ClientContext* ctx) {
  std::lock_guard lock(streams_mu_);
  streams_.erase(ctx);
}

}  // namespace cifs
