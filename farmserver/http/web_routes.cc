// Browser sign-in and the web UI's pages. The pages are one static shell
// (assets compiled in) that fetches everything it shows from the REST API,
// so they hold no data and need no sign-in themselves.
#include <cstring>

#include <nlohmann/json.hpp>

#include "farmserver/http/http_server.h"
#include "farmserver/http/responses.h"
#include "farmserver/web/web_assets.h"

namespace cifs {
namespace {

const char* ContentTypeOf(const std::string& path) {
  auto ends = [&](const char* ext) {
    size_t n = std::strlen(ext);
    return path.size() >= n && path.compare(path.size() - n, n, ext) == 0;
  };
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "text/html; charset=utf-8";
}

void SendAsset(HttpResponse& res, const std::string& path) {
  const auto& assets = WebAssets();
  auto it = assets.find(path);
  if (it == assets.end()) {
    res.status = 404;
    res.SetContent("not found\n", "text/plain");
    return;
  }
  res.SetHeader("Cache-Control", "no-cache");
  res.SetContent(std::string(it->second), ContentTypeOf(path));
}

std::string SessionCookie(const std::string& value, int64_t max_age_s) {
  // __Host-: only this origin, over HTTPS, for every path; HttpOnly: page
  // script never sees it; SameSite=Lax: not sent on other sites' requests
  // (a link from elsewhere still opens the page signed in).
  return std::string(kSessionCookie) + "=" + value + "; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=" +
         std::to_string(max_age_s);
}

}  // namespace

void HttpServer::WebRoutes() {
  transport_.Route("GET", "/login", Access::kPublic, kSmallBody, [this](const HttpRequest& req, HttpResponse& res) {
    BrowserSession session;
    auto token = sessions_->Redeem(req.Param("token"), &session);
    if (!token.ok()) {
      metrics_->auth_refused++;
      log_->Info("web_sign_in_refused", {{"reason", token.status().message()}});
      res.SetHeader("Cache-Control", "no-store");
      res.Redirect("/signin-failed", 303);
      return;
    }
    log_->Info("web_signed_in", {{"user", session.identity.name}, {"role", RoleName(session.identity.role)}});
    res.SetHeader("Set-Cookie", SessionCookie(*token, sessions_->options().session_ttl_ms / 1000));
    res.SetHeader("Cache-Control", "no-store");
    res.Redirect("/", 303);
  });

  transport_.Route("POST", "/logout", Access::kCaller, kSmallBody, [this](const HttpRequest& req, HttpResponse& res) {
    if (Status s = request_auth_.CheckChange(CallerOf(req), req); !s.ok()) return SendError(res, s);
    if (Status s = sessions_->End(RequestAuth::CookieValue(req, kSessionCookie)); !s.ok()) return SendError(res, s);
    res.SetHeader("Set-Cookie", SessionCookie("", 0));
    SendJson(res, R"({"signed_out": true})");
  });

  for (const char* asset : {"/app.js", "/app.css"}) {
    transport_.Route("GET", asset, Access::kPublic, kSmallBody,
                     [path = std::string(asset)](const HttpRequest&, HttpResponse& res) { SendAsset(res, path); });
  }
  transport_.Route("GET", "/favicon.ico", Access::kPublic, kSmallBody,
                   [](const HttpRequest&, HttpResponse& res) { res.status = 204; });
  // Every page of the UI is the same shell; it routes on the path itself.
  transport_.Route("GET", R"(/|/signin-failed|/prs|/workspaces|/invocations|/builds/[A-Za-z0-9_.-]{1,128}|/prs/[0-9]{1,18})",
                   Access::kPublic, kSmallBody, [](const HttpRequest&, HttpResponse& res) { SendAsset(res, "/index.html"); });
}

}  // namespace cifs
