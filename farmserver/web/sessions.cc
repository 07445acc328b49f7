#include "farmserver/web/sessions.h"

#include "common/clock.h"
#include "common/digest.h"
#include "common/random_hex.h"

namespace cifs {
namespace {

Result<std::string> RandomToken() {
  auto token = RandomHex(32);
  if (!token) return Status::Internal("no randomness for a session token");
  return *token;
}

std::string HashOf(const std::string& token) {
  Sha256 sha;
  sha.Update(token);
  return sha.FinishHex();
}

bool WellFormed(const std::string& token) {
  if (token.size() != 64) return false;
  for (char c : token) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Result<std::string> WebSessions::CreateLink(const Identity& who, int64_t* expires_ms) {
  if (who.role == Role::kBuilder) return Status::PermissionDenied("the builder identity cannot sign a browser in");
  auto token = RandomToken();
  if (!token.ok()) return token;
  WebSession s;
  s.token_hash = HashOf(*token);
  s.kind = "link";
  s.user = who.name;
  s.role = RoleName(who.role);
  s.identity_issued_ms = who.issued_ms ? who.issued_ms : who.not_before_ms;
  s.created_ms = NowMs();
  s.expires_ms = s.created_ms + options_.link_ttl_ms;
  CIFS_RETURN_IF_ERROR(store_->PutWebSession(s));
  // Old links and sessions go when new ones come, so the table stays small.
  (void)store_->DeleteExpiredWebSessions(s.created_ms);
  *expires_ms = s.expires_ms;
  return token;
}

Result<BrowserSession> WebSessions::Check(const WebSession& s) {
  if (s.expires_ms <= NowMs()) return Status::Unauthenticated("the sign-in has expired: run `cifs web login` again");
  auto role = ParseRole(s.role);
  if (!role.ok()) return Status::Unauthenticated("the sign-in names an unknown role");
  BrowserSession b;
  b.identity.name = s.user;
  b.identity.role = *role;
  b.identity.issued_ms = s.identity_issued_ms;
  b.csrf = s.csrf;
  b.expires_ms = s.expires_ms;
  auto checked = auth_->CheckRevoked(b.identity);
  if (!checked.ok()) return checked.status();
  return b;
}

Result<std::string> WebSessions::Redeem(const std::string& link_token, BrowserSession* session) {
  const char* bad = "this sign-in link is not valid (each works once, for a few minutes): run `cifs web login` again";
  if (!WellFormed(link_token)) return Status::Unauthenticated(bad);
  auto link = store_->TakeWebSession(HashOf(link_token));
  if (!link.ok()) return link.status();
  if (!link->has_value() || (*link)->kind != "link") return Status::Unauthenticated(bad);
  auto checked = Check(**link);
  if (!checked.ok()) return checked.status();
  auto token = RandomToken();
  auto csrf = RandomToken();
  if (!token.ok() || !csrf.ok()) return Status::Internal("no randomness for a session token");
  WebSession s = **link;
  s.token_hash = HashOf(*token);
  s.kind = "session";
  s.created_ms = NowMs();
  s.expires_ms = s.created_ms + options_.session_ttl_ms;
  s.csrf = *csrf;
  CIFS_RETURN_IF_ERROR(store_->PutWebSession(s));
  *session = *checked;
  session->csrf = s.csrf;
  session->expires_ms = s.expires_ms;
  return token;
}

Result<BrowserSession> WebSessions::Find(const std::string& token) {
  if (!WellFormed(token)) return Status::Unauthenticated("not signed in: run `cifs web login`");
  auto s = store_->GetWebSession(HashOf(token));
  if (!s.ok()) return s.status();
  if (!s->has_value() || (*s)->kind != "session") {
    return Status::Unauthenticated("not signed in (or signed out): run `cifs web login`");
  }
  return Check(**s);
}

Status WebSessions::End(const std::string& token) {
  if (!WellFormed(token)) return Status::Ok();
  auto taken = store_->TakeWebSession(HashOf(token));
  return taken.ok() ? Status::Ok() : taken.status();
}

}  // namespace cifs
