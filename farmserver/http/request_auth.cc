#include "farmserver/http/request_auth.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <memory>

namespace cifs {

std::string PeerCertificatePem(const httplib::Request& req) {
  if (!req.ssl) return {};
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(req.ssl), X509_free);
  if (!cert) return {};
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), cert.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string RequestAuth::CookieValue(const httplib::Request& req, const std::string& name) {
  auto range = req.headers.equal_range("Cookie");
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view all = it->second;
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

Result<Caller> RequestAuth::Authenticate(const httplib::Request& req) const {
  Caller c;
  std::string pem = PeerCertificatePem(req);
  if (!pem.empty()) {
    std::string forwarded = req.get_header_value(Authenticator::kForwardedCert);
    bool has_forwarded = req.has_header(Authenticator::kForwardedCert);
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

Status RequestAuth::CheckChange(const Caller& caller, const httplib::Request& req) const {
  std::string type = req.get_header_value("Content-Type");
  if (type.rfind("application/json", 0) != 0) {
    return Status::InvalidArgument("send the request body as JSON (Content-Type: application/json)");
  }
  if (caller.by_cookie) {
    std::string got = req.get_header_value(kCsrfHeader);
    if (got.size() != caller.csrf.size() || CRYPTO_memcmp(got.data(), caller.csrf.data(), got.size()) != 0) {
      return Status::PermissionDenied(std::string("missing or wrong ") + kCsrfHeader +
                                      " header (the page's session token)");
    }
  }
  return Status::Ok();
}

}  // namespace cifs
