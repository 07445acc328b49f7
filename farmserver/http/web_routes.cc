// Browser sign-in and the web UI's pages. The pages are one static shell
// (assets compiled in) that fetches everything it shows from the REST API,
// so they hold no data and need no sign-in themselves.
#include <httplib.h>

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

void SendAsset(httplib::Response& res, const std::string& path) {
  const auto& assets = WebAssets();
  auto it = assets.find(path);
  if (it == assets.end()) {
    res.status = 404;
    res.set_content("not found\n", "text/plain");
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_content(std::string(it->second), ContentTypeOf(path));
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
  server_->Get("/login", [this](const httplib::Request& req, httplib::Response& res) {
    BrowserSession session;
    auto token = sessions_->Redeem(req.get_param_value("token"), &session);
    if (!token.ok()) {
      metrics_->auth_refused++;
      log_->Info("web_sign_in_refused", {{"reason", token.status().message()}});
      res.set_header("Cache-Control", "no-store");
      res.set_redirect("/signin-failed", 303);
      return;
    }
    log_->Info("web_signed_in", {{"user", session.identity.name}, {"role", RoleName(session.identity.role)}});
    res.set_header("Set-Cookie", SessionCookie(*token, sessions_->options().session_ttl_ms / 1000));
    res.set_header("Cache-Control", "no-store");
    res.set_redirect("/", 303);
  });

  server_->Post("/logout", [this](const httplib::Request& req, httplib::Response& res) {
    auto caller = Authenticated(req, res);
    if (!caller) return;
    if (Status s = request_auth_.CheckChange(*caller, req); !s.ok()) return SendError(res, s);
    if (Status s = sessions_->End(RequestAuth::CookieValue(req, kSessionCookie)); !s.ok()) return SendError(res, s);
    res.set_header("Set-Cookie", SessionCookie("", 0));
    SendJson(res, R"({"signed_out": true})");
  });

  for (const char* asset : {"/app.js", "/app.css"}) {
    server_->Get(asset, [path = std::string(asset)](const httplib::Request&, httplib::Response& res) {
      SendAsset(res, path);
    });
  }
  server_->Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  // Every page of the UI is the same shell; it routes on the path itself.
  server_->Get(R"(/|/signin-failed|/prs|/workspaces|/invocations|/builds/[A-Za-z0-9_.-]{1,128}|/prs/[0-9]{1,18})",
               [](const httplib::Request&, httplib::Response& res) { SendAsset(res, "/index.html"); });
}

}  // namespace cifs
