#include "workspace/provisioner.h"

#include <sys/stat.h>

#include <filesystem>

#include "common/files.h"
#include "process/child_process.h"
#include "workspace/git_progress.h"

namespace cifs {

namespace fs = std::filesystem;


Status ValidateBranchName(const std::string& branch) {
  int valid = 0;
  if (branch.empty() || branch[0] == '-' ||
      git_reference_name_is_valid(&valid, ("refs/heads/" + branch).c_str()) != 0 || !valid) {
    return Status::InvalidArgument("'" + branch + "' is not a valid branch name");
  }
  return Status::Ok();
}

Provisioner::Provisioner(std::string state_dir, const GitCredentials* credentials)
    : state_dir_(std::move(state_dir)), credentials_(credentials ? credentials : &none_) {}

Status Provisioner::Init() {
  CIFS_RETURN_IF_ERROR(MakeDirs(state_dir_ + "/repos", 0700));
  // Builds walk to their own workspace by name; none may list the others.
  return MakeDirs(state_dir_ + "/workspaces", 0711);
}

namespace {

constexpr std::chrono::minutes kCheckoutTimeout{30};

Status Fetch(git_remote* remote, const GitCredentials& credentials, const char* why) {
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  opts.prune = GIT_FETCH_PRUNE;
  GitCredentials::Attempt attempt;
  credentials.Attach(&opts.callbacks, &attempt);
  if (git_remote_fetch(remote, nullptr, &opts, why) != 0) return git::Error("cannot fetch from the upstream");
  return Status::Ok();
}

bool UrlHasPassword(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  size_t host_end = url.find('/', scheme + 3);
  std::string authority = url.substr(scheme + 3, host_end == std::string::npos ? std::string::npos : host_end - scheme - 3);
  size_t at = authority.rfind('@');
  return at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos;
}

// The upstream's default branch (its HEAD), else main, else master.
std::string DefaultBranch(git_repository* mirror, git_remote* remote, const GitCredentials& credentials) {
  git_buf buf = GIT_BUF_INIT;
  std::string branch;
  git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
  GitCredentials::Attempt attempt;
  credentials.Attach(&callbacks, &attempt);
  if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, nullptr, nullptr) == 0) {
    if (git_remote_default_branch(&buf, remote) == 0) {
      branch = std::string(buf.ptr, buf.size);
      if (branch.rfind("refs/heads/", 0) == 0) branch = branch.substr(11);
    }
    git_buf_dispose(&buf);
    git_remote_disconnect(remote);
  }
  if (!branch.empty()) return branch;
  for (const char* candidate : {"main", "master"}) {
    git_oid oid;
    if (git_reference_name_to_id(&oid, mirror, (std::string("refs/heads/") + candidate).c_str()) == 0) {
      return candidate;
    }
  }
  return {};
}

// Hard-links every object file of `from` into `to` (copies across devices).
Status LinkObjects(const std::string& from, const std::string& to) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::string rel = fs::relative(it->path(), from, ec).string();
    if (ec) break;
    if (rel.rfind("info", 0) == 0) continue;  // alternates, packs list: per repository
    fs::path target = fs::path(to) / rel;
    if (it->is_directory()) {
      fs::create_directories(target, ec);
    } else if (it->is_regular_file() && !fs::exists(target)) {
      fs::create_hard_link(it->path(), target, ec);
      if (ec) {
        ec.clear();
        fs::copy_file(it->path(), target, ec);
      }
    }
    if (ec) break;
  }
  if (ec) return Status::Internal("cannot share the mirror's objects: " + ec.message());
  return Status::Ok();
}

// A local upstream (a path on this node): its object files are shared by
// hard link and its branches copied first, as `git clone --local` does, so
// the fetch that follows only confirms them instead of packing every object
// (libgit2 packs a local repository over again: 23 s for 85 MB).
// Best effort: whatever this leaves undone, the fetch does.
void SeedFromLocal(const std::string& url, git_repository* mirror, const std::string& mirror_path) {
  if (url.empty() || url[0] != '/') return;
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, url.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) != 0) return;
  git::Repository upstream(raw);
  if (!LinkObjects(std::string(git_repository_path(upstream.get())) + "objects", mirror_path + "/objects").ok()) {
    return;
  }
  git_reference_iterator* it = nullptr;
  if (git_reference_iterator_glob_new(&it, upstream.get(), "refs/heads/*") != 0) return;
  git_reference* ref = nullptr;
  while (git_reference_next(&ref, it) == 0) {
    git::Reference owned(ref);
    const git_oid* target = git_reference_target(ref);
    git_reference* made = nullptr;
    if (target != nullptr && git_reference_create(&made, mirror, git_reference_name(ref), target, 1, "cifs: local") == 0) {
      git_reference_free(made);
    }
  }
  git_reference_iterator_free(it);
}

// Fills the empty working copy at `path` and its index from HEAD. Git's own
// checkout writes a large tree about twice as fast as libgit2's (which is
// what made provisioning cost several times a `git clone --local`).
Status CheckOutHead(const std::string& path, const ProvisionProgressFn& progress) {
  auto git = FindExecutable("git");
  if (!git.ok()) return Status::FailedPrecondition("git is not installed on this node: " + git.status().message());
  ChildSpec spec;
  spec.exe = *git;
  // -v: git's progress meter, read below for the admin watching.
  spec.argv = {"git", "-C", path, "read-tree", "-v", "-u", "--reset", "HEAD"};
  // Only the workspace's own config counts: not the farm user's nor the
  // system's (a hook, a filter, an fsmonitor there would run here).
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent", "LANG=C.UTF-8", "GIT_CONFIG_NOSYSTEM=1",
              "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "GIT_PROGRESS_DELAY=0"};
  GitProgressReader meter([&](int64_t done, int64_t total) {
    if (progress) progress({ProvisionProgress::Phase::kCheckingOut, done, total});
  });
  auto done = RunToEnd(spec, kCheckoutTimeout, 65536, [&](std::string_view piece) { meter.Feed(piece); });
  if (!done.ok()) return done.status();
  if (done->timed_out) {
    return Status::Unavailable("the checkout took longer than " + std::to_string(kCheckoutTimeout.count()) +
                               " minutes");
  }
  if (done->exit_code != 0) return Status::Internal("cannot check out the branch: " + done->output);
  return Status::Ok();
}

}  // namespace

Status Provisioner::EnsureMirror(const std::string& name, const std::string& url) {
  if (fs::exists(MirrorPath(name))) return Status::Ok();
  auto made = Mirror(name, url);
  if (!made.ok() && made.status().code() != Status::Code::kAlreadyExists) return made.status();
  return Status::Ok();
}

Result<MirrorInfo> Provisioner::Mirror(const std::string& name, const std::string& url) {
  CIFS_RETURN_IF_ERROR(ValidateName("repository", name));
  if (url.empty() || url[0] == '-') return Status::InvalidArgument("'" + url + "' is not a git URL");
  if (UrlHasPassword(url)) {
    // It would be stored in the metadata, the mirror's config and every
    // workspace's origin, and shown by `repo list`.
    return Status::InvalidArgument("the URL holds a password: put it in the farm's --git-credentials file instead");
  }
  std::lock_guard lock(mirror_mu_);
  std::string path = MirrorPath(name);
  if (fs::exists(path)) return Status::AlreadyExists("a mirror of '" + name + "' exists already");
  auto fail = [&](Status s) {
    std::error_code ec;
    fs::remove_all(path, ec);
    return s;
  };
  git_repository* raw = nullptr;
  if (git_repository_init(&raw, path.c_str(), /*is_bare=*/1) != 0) return fail(git::Error("cannot create mirror"));
  git::Repository repo(raw);
  git_remote* rraw = nullptr;
  if (git_remote_create_with_fetchspec(&rraw, repo.get(), "origin", url.c_str(), "+refs/heads/*:refs/heads/*") != 0) {
    return fail(git::Error("cannot add the upstream"));
  }
  git::Remote remote(rraw);
  SeedFromLocal(url, repo.get(), path);
  Status s = Fetch(remote.get(), *credentials_, "cifs: mirror");
  if (!s.ok()) return fail(Status::FailedPrecondition("cannot clone " + url + ": " + s.message()));
  MirrorInfo info;
  info.default_branch = DefaultBranch(repo.get(), remote.get(), *credentials_);
  if (info.default_branch.empty()) return fail(Status::FailedPrecondition(url + " has no branches"));
  git_repository_set_head(repo.get(), ("refs/heads/" + info.default_branch).c_str());
  return info;
}

Status Provisioner::Refresh(const std::string& name) {
  std::lock_guard lock(mirror_mu_);
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, MirrorPath(name).c_str()) != 0) return git::Error("cannot open the mirror of " + name);
  git::Repository repo(raw);
  git_remote* rraw = nullptr;
  if (git_remote_lookup(&rraw, repo.get(), "origin") != 0) return git::Error("mirror of " + name + " has no upstream");
  git::Remote remote(rraw);
  return Fetch(remote.get(), *credentials_, "cifs: refresh");
}

Result<std::string> Provisioner::CreateWorkspace(const std::string& repo_name, const std::string& upstream_url,
                                                 const std::string& ws, const std::string& branch,
                                                 const ProvisionProgressFn& progress) {
  CIFS_RETURN_IF_ERROR(ValidateName("workspace", ws));
  CIFS_RETURN_IF_ERROR(ValidateBranchName(branch));
  auto tell = [&](ProvisionProgress::Phase phase) {
    if (progress) progress({phase, 0, 0});
  };
  tell(ProvisionProgress::Phase::kUpdatingMirror);
  // Start from the upstream's tip, not from whenever the mirror last fetched.
  Status refreshed = Refresh(repo_name);
  if (!refreshed.ok()) return Status::Unavailable("cannot update the mirror: " + refreshed.message());

  git_oid tip;
  {
    git_repository* raw = nullptr;
    if (git_repository_open_bare(&raw, MirrorPath(repo_name).c_str()) != 0) {
      return git::Error("cannot open the mirror of " + repo_name);
    }
    git::Repository mirror(raw);
    if (git_reference_name_to_id(&tip, mirror.get(), ("refs/heads/" + branch).c_str()) != 0) {
      return Status::NotFound("repository '" + repo_name + "' has no branch '" + branch + "'");
    }
  }

  std::string path = WorkspacePath(ws);
  if (fs::exists(path)) return Status::AlreadyExists("workspace directory " + path + " exists already");
  auto fail = [&](Status s) {
    std::error_code ec;
    fs::remove_all(path, ec);
    return s;
  };
  git_repository* raw = nullptr;
  if (git_repository_init(&raw, path.c_str(), /*is_bare=*/0) != 0) return fail(git::Error("cannot create workspace"));
  git::Repository repo(raw);
  // The farm's alone until a build of it opens it to that workspace's build uid.
  if (::chmod(path.c_str(), 0700) < 0) return fail(Status::Internal("cannot restrict " + path));
  // Share the mirror's object files by hard link rather than alternates: the
  // objects must sit inside the workspace so that git run in a mount (on a
  // machine where the farm's paths do not exist) finds them, and links cost
  // no disk.
  tell(ProvisionProgress::Phase::kSharingObjects);
  Status linked = LinkObjects(MirrorPath(repo_name) + "/objects", path + "/.git/objects");
  if (!linked.ok()) return fail(linked);
  // Git in a mount sees other inode numbers, owners and ctimes than git on
  // the farm; comparing only mtime and size keeps both sides' `git status`
  // from re-hashing every file and rewriting the index back and forth.
  git_config* craw_config = nullptr;
  if (git_repository_config(&craw_config, repo.get()) != 0) return fail(git::Error("cannot open the git config"));
  git::Config config(craw_config);
  if (git_config_set_string(config.get(), "core.checkStat", "minimal") != 0 ||
      git_config_set_bool(config.get(), "core.trustctime", 0) != 0) {
    return fail(git::Error("cannot configure the workspace"));
  }

  git_remote* rraw = nullptr;
  if (git_remote_create(&rraw, repo.get(), "origin", upstream_url.c_str()) != 0) {
    return fail(git::Error("cannot add the upstream"));
  }
  git::Remote remote(rraw);
  git_reference* ref = nullptr;
  if (git_reference_create(&ref, repo.get(), ("refs/remotes/origin/" + branch).c_str(), &tip, 1, "cifs: mirror") != 0) {
    return fail(git::Error("cannot create the remote branch"));
  }
  git::Reference remote_ref(ref);
  git_commit* craw = nullptr;
  if (git_commit_lookup(&craw, repo.get(), &tip) != 0) return fail(git::Error("cannot read the branch's commit"));
  git::Commit commit(craw);
  if (git_branch_create(&ref, repo.get(), branch.c_str(), commit.get(), 1) != 0) {
    return fail(git::Error("cannot create the branch"));
  }
  git::Reference local(ref);
  if (git_branch_set_upstream(local.get(), ("origin/" + branch).c_str()) != 0 ||
      git_repository_set_head(repo.get(), ("refs/heads/" + branch).c_str()) != 0) {
    return fail(git::Error("cannot set up the branch"));
  }
  tell(ProvisionProgress::Phase::kCheckingOut);
  Status checked_out = CheckOutHead(path, progress);
  if (!checked_out.ok()) return fail(checked_out);
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(hex, sizeof hex, &tip);
  return std::string(hex);
}

Status Provisioner::DeleteWorkspace(const std::string& ws) {
  CIFS_RETURN_IF_ERROR(ValidateName("workspace", ws));
  std::error_code ec;
  // remove_all does not follow symlinks: nothing outside the workspace goes.
  fs::remove_all(WorkspacePath(ws), ec);
  if (ec) return Status::Internal("cannot remove workspace " + ws + ": " + ec.message());
  return Status::Ok();
}

}  // namespace cifs
