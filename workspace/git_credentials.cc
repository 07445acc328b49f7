#include "workspace/git_credentials.h"

#include <sys/stat.h>

#include "common/files.h"

namespace cifs {
namespace {

struct Url {
  std::string scheme, user, secret, host, port, path;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Credential-store files percent-encode what would break the URL (an @ in a
// password, say).
Result<std::string> PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    int hi = i + 2 < in.size() ? HexValue(in[i + 1]) : -1;
    int lo = hi >= 0 ? HexValue(in[i + 2]) : -1;
    if (lo < 0) return Status::InvalidArgument("bad %-escape");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

Result<Url> ParseUrl(std::string_view s) {
  Url u;
  size_t colon = s.find("://");
  if (colon == std::string_view::npos || colon == 0) return Status::InvalidArgument("not a URL");
  u.scheme = std::string(s.substr(0, colon));
  s.remove_prefix(colon + 3);
  size_t slash = s.find('/');
  std::string_view authority = s.substr(0, slash);
  u.path = slash == std::string_view::npos ? "" : std::string(s.substr(slash + 1));
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    size_t c = userinfo.find(':');
    auto user = PercentDecode(userinfo.substr(0, c));
    if (!user.ok()) return user.status();
    u.user = *user;
    if (c != std::string_view::npos) {
      auto secret = PercentDecode(userinfo.substr(c + 1));
      if (!secret.ok()) return secret.status();
      u.secret = *secret;
    }
  }
  size_t c = authority.rfind(':');
  if (c != std::string_view::npos && authority.find(']', c) == std::string_view::npos) {
    u.port = std::string(authority.substr(c + 1));
    authority = authority.substr(0, c);
  }
  u.host = std::string(authority);
  if (u.host.empty()) return Status::InvalidArgument("no host");
  return u;
}

bool PathCovers(const std::string& prefix, const std::string& path) {
  if (prefix.empty()) return true;
  if (path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

int Acquire(git_credential** out, const char* url, const char* /*user_from_url*/, unsigned int allowed,
            void* payload) {
  auto* attempt = static_cast<GitCredentials::Attempt*>(payload);
  const GitCredentials::Entry* entry = attempt->credentials ? attempt->credentials->Find(url) : nullptr;
  if (entry == nullptr) {
    git_error_set_str(GIT_ERROR_NET,
                      (std::string("the upstream asks for credentials and the farm has none for ") + url +
                       " (see --git-credentials)")
                          .c_str());
    return GIT_EAUTH;
  }
  if (attempt->tries++ > 0) {
    git_error_set_str(GIT_ERROR_NET, (std::string("the upstream refused the farm's credentials for ") + url +
                                      " (user " + entry->user + ")")
                                         .c_str());
    return GIT_EAUTH;
  }
  if (!(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
    git_error_set_str(GIT_ERROR_NET, "the upstream wants a kind of sign-in other than a user and password");
    return GIT_EAUTH;
  }
  return git_credential_userpass_plaintext_new(out, entry->user.c_str(), entry->secret.c_str());
}

}  // namespace

Result<GitCredentials> GitCredentials::Parse(const std::string& text) {
  GitCredentials creds;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto url = ParseUrl(line);
    // The line holds a secret: the message names the line, never its text.
    if (!url.ok()) return Status::InvalidArgument("line " + std::to_string(line_no) + ": " + url.status().message());
    if (url->user.empty()) return Status::InvalidArgument("line " + std::to_string(line_no) + ": no user name");
    creds.entries_.push_back({url->scheme, url->host, url->port, url->path, url->user, url->secret});
  }
  return creds;
}

Result<GitCredentials> GitCredentials::Load(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound("git credentials file " + path + " is missing");
  if (st.st_mode & 077) {
    return Status::FailedPrecondition("git credentials file " + path +
                                      " may be read by others: chmod 600 it (it holds passwords)");
  }
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto creds = Parse(*text);
  if (!creds.ok()) return Status::InvalidArgument("git credentials file " + path + ": " + creds.status().message());
  return creds;
}

const GitCredentials::Entry* GitCredentials::Find(const std::string& url) const {
  auto u = ParseUrl(url);
  if (!u.ok()) return nullptr;
  const Entry* best = nullptr;
  for (const auto& e : entries_) {
    if (e.scheme != u->scheme || e.host != u->host || e.port != u->port || !PathCovers(e.path, u->path)) continue;
    if (!u->user.empty() && e.user != u->user) continue;
    if (best == nullptr || e.path.size() > best->path.size()) best = &e;
  }
  return best;
}

void GitCredentials::Attach(git_remote_callbacks* callbacks, Attempt* attempt) const {
  attempt->credentials = this;
  callbacks->credentials = Acquire;
  callbacks->payload = attempt;
}

Status UseGitCaBundle(const std::string& file) {
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) return Status::NotFound("git CA bundle " + file + " is missing");
  if (git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file.c_str(), nullptr) != 0) {
    const git_error* e = git_error_last();
    return Status::InvalidArgument("git CA bundle " + file + ": " + (e && e->message ? e->message : "unusable"));
  }
  return Status::Ok();
}

}  // namespace cifs
