// How the farm signs in to upstream git servers. Secrets come from a file in
// git's credential-store format, one `https://USER:SECRET@HOST[:PORT][/PATH]`
// per line, named in the farm's config; they never sit in a repository's
// config, a remote's URL or a command line.
#pragma once

#include <git2.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace cifs {

class GitCredentials {
 public:
  struct Entry {
    std::string scheme, host, port, path;  // what the line applies to
    std::string user, secret;
  };

  GitCredentials() = default;  // none: anonymous access only
  // Refuses a file others may read: it holds passwords.
  static Result<GitCredentials> Load(const std::string& path);
  static Result<GitCredentials> Parse(const std::string& text);

  // The entry for `url`: same scheme, host and port, and the longest path
  // that is a prefix of the URL's (whole segments). Null when none applies.
  const Entry* Find(const std::string& url) const;
  size_t size() const { return entries_.size(); }

  // State of one remote operation's sign-in, handed to libgit2 as payload.
  struct Attempt {
    const GitCredentials* credentials = nullptr;
    int tries = 0;
    void* extra = nullptr;  // the payload of the operation's other callbacks
  };
  // Sets `callbacks` to answer libgit2's credential requests from this file
  // (once per operation: a second request means the server refused them).
  // Other callbacks find their payload in `attempt->extra`.
  void Attach(git_remote_callbacks* callbacks, Attempt* attempt) const;

 private:
  std::vector<Entry> entries_;
};

// Makes libgit2 verify HTTPS upstreams against the CA bundle in `file`
// instead of the system's. Process-wide in libgit2, so set once at start.
Status UseGitCaBundle(const std::string& file);

}  // namespace cifs
