#include "farmserver/http/request_auth.h"

#include <openssl/crypto.h>

namespace cifs {

std::string RequestAuth::CookieValue(const HttpRequest& req, const std::string& name) {
  for (std::string_view all : req.HeaderValues("Cookie")) {
    while (!all.empty()) {
      size_t semi = all.find(';');
      std::string_view part = all.substr(0, semi);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 && part[name.size()] == '=') {
        return std::string(part.substr(name.size() + 1));
      }
      if (semi == std::string_view::npos) break;
      all.remove_prefix(semi + 1);
    }
  }
  return {};
}

Result<Caller> RequestAuth::Authenticate(const HttpRequest& req) const {
  Caller c;
  const std::string& pem = req.peer_cert_pem;
  if (!pem.empty()) {
    std::string forwarded = req.Header(Authenticator::kForwardedCert);
    bool has_forwarded = req.HasHeader(Authenticator::kForwardedCert);
    auto id = auth_->FromPeer(pem, has_forwarded ? &forwarded : nullptr);
    if (!id.ok()) return id.status();
    if (id->has_value()) {
      if ((*id)->role == Role::kWorker) {
        return Status::PermissionDenied("worker '" + (*id)->name + "' may take actions and use the CAS only");
      }
      c.identity = **id;
      return c;
    }
    // The proxy, with no certificate behind it: a browser's cookie decides.
  }
  std::string token = CookieValue(req, kSessionCookie);
  if (token.empty()) {
    return Status::Unauthenticated("not signed in: run `cifs web login` and open the link, or use a client certificate");
  }
  auto s = sessions_->Find(token);
  if (!s.ok()) return s.status();
  c.identity = s->identity;
  c.by_cookie = true;
  c.csrf = s->csrf;
  c.expires_ms = s->expires_ms;
  return c;
}

Status RequestAuth::CheckChange(const Caller& caller, const HttpRequest& req) const {
  std::string type = req.Header("Content-Type");
  if (type.rfind("application/json", 0) != 0) {
    return Status::InvalidArgument("send the request body as JSON (Content-Type: application/json)");
  }
  if (caller.by_cookie) {
    std::string got = req.Header(kCsrfHeader);
    if (got.size() != caller.csrf.size() || CRYPTO_memcmp(got.data(), caller.csrf.data(), got.size()) != 0) {
      return Status::PermissionDenied(std::string("missing or wrong ") + kCsrfHeader +
                                      " header (the page's session token)");
    }
  }
  return Status::Ok();
}

}  // namespace cifs
