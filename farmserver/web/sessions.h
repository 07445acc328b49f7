// Browser sign-in. `cifs web login` asks for a one-time link; opening it
// turns into a session cookie for the same user and role. The cookie and the
// link are random tokens; the metadata store keeps only their hashes. Every
// request re-checks revocation, like a certificate.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "farmserver/auth.h"
#include "identity/identity.h"
#include "metadata/metadata_store.h"

namespace cifs {

struct WebSessionOptions {
  int64_t link_ttl_ms = 5 * 60 * 1000;
  int64_t session_ttl_ms = 12LL * 3600 * 1000;
};

// A signed-in browser's view of its session.
struct BrowserSession {
  Identity identity;
  std::string csrf;
  int64_t expires_ms = 0;
};

class WebSessions {
 public:
  WebSessions(SessionStore* store, Authenticator* auth, WebSessionOptions options = {})
      : store_(store), auth_(auth), options_(options) {}

  // A one-time sign-in token for `who`.
  Result<std::string> CreateLink(const Identity& who, int64_t* expires_ms);
  // Spends a link; returns the new session's cookie token.
  Result<std::string> Redeem(const std::string& link_token, BrowserSession* session);
  // The session behind a cookie token: Unauthenticated when unknown, expired
  // or revoked.
  Result<BrowserSession> Find(const std::string& token);
  Status End(const std::string& token);

  const WebSessionOptions& options() const { return options_; }

 private:
  Result<BrowserSession> Check(const WebSession& s);

  SessionStore* store_;
  Authenticator* auth_;
  WebSessionOptions options_;
};

}  // namespace cifs
