// Who is calling the HTTPS side: a client certificate (CLI, curl, scripts)
// or a browser's session cookie. State-changing requests made with a cookie
// must also carry the session's CSRF token, since a browser attaches the
// cookie to requests other sites make it send.
#pragma once

#include <string>

#include "common/status.h"
#include "farmserver/auth.h"
#include "farmserver/http/http_message.h"
#include "farmserver/web/sessions.h"

namespace cifs {

inline constexpr const char* kSessionCookie = "__Host-cifs_session";
inline constexpr const char* kCsrfHeader = "X-CSRF-Token";

struct Caller {
  Identity identity;
  bool by_cookie = false;
  std::string csrf;  // set when by_cookie
  int64_t expires_ms = 0;
};

class RequestAuth {
 public:
  RequestAuth(Authenticator* auth, WebSessions* sessions) : auth_(auth), sessions_(sessions) {}

  // From the headers and the connection's certificate alone (the body is
  // not read until the caller is known).
  Result<Caller> Authenticate(const HttpRequest& req) const;
  // For requests that change something: a cookie caller's CSRF token, and a
  // JSON body (a form another site posts cannot set that content type).
  Status CheckChange(const Caller& caller, const HttpRequest& req) const;

  static std::string CookieValue(const HttpRequest& req, const std::string& name);

 private:
  Authenticator* auth_;
  WebSessions* sessions_;
};

}  // namespace cifs
