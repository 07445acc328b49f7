// cifs admin repo ..., cifs admin workspace ..., cifs ws list.
#include <unistd.h>

#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cifs/v1/cifs.grpc.pb.h"
#include "farmclient/routing.h"
#include "client/commands/call_farm.h"
#include "client/commands/commands.h"
#include "farmclient/farm_client.h"

namespace cifs {

namespace {

// Cloning a large upstream can take a while; the farm answers when done.
constexpr std::chrono::seconds kProvisionDeadline = std::chrono::minutes(30);

template <typename Call>
int WithAdmin(Call call) {
  return CallFarm<v1::Admin>(kProvisionDeadline, call);
}

const char* PhaseText(v1::ProvisionUpdate::Phase phase) {
  switch (phase) {
    case v1::ProvisionUpdate::UPDATING_MIRROR: return "updating the mirror";
    case v1::ProvisionUpdate::SHARING_OBJECTS: return "sharing the mirror's objects";
    case v1::ProvisionUpdate::CHECKING_OUT: return "checking out";
    default: return "working";
  }
}

// Shows the farm's progress on stderr, as git does: on a terminal, one line
// that follows each phase and the files checked out so far; elsewhere only
// when asked (`progress`), a line per phase.
grpc::Status CreateWithProgress(v1::Admin::Stub& stub, grpc::ClientContext& ctx, const v1::CreateWorkspaceRequest& req,
                                bool progress) {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  auto stream = stub.ProvisionWorkspace(&ctx, req);
  v1::ProvisionUpdate u;
  v1::Workspace made;
  auto shown = v1::ProvisionUpdate::PHASE_UNSPECIFIED;
  bool line_open = false, all_shown = false;
  while (stream->Read(&u)) {
    if (u.phase() == v1::ProvisionUpdate::CREATED) {
      made = u.workspace();
      continue;
    }
    std::string text = "creating " + req.name() + ": " + PhaseText(u.phase());
    if (u.files_total() > 0) {
      text += " " + std::to_string(u.files_done()) + "/" + std::to_string(u.files_total()) + " files";
    }
    if (tty) {
      std::cerr << "\r\033[K" << text << std::flush;
      line_open = true;
    } else if (progress) {
      // Git says 100% twice (the last tick, then ", done").
      bool all = u.files_total() > 0 && u.files_done() == u.files_total();
      if (u.phase() != shown || (all && !all_shown)) std::cerr << text << "\n";
      all_shown = all_shown || all;
    }
    shown = u.phase();
  }
  if (line_open) std::cerr << "\n";
  grpc::Status s = stream->Finish();
  if (s.ok()) {
    std::cout << "created workspace " << made.name() << " for " << made.owner() << ": " << made.repo() << " "
              << made.branch() << " at " << made.head_commit().substr(0, 12) << "\n";
  }
  return s;
}

nlohmann::json ToJson(const v1::Workspace& w) {
  return {{"name", w.name()}, {"owner", w.owner()}, {"repo", w.repo()}, {"branch", w.branch()},
          {"created_ms", w.created_ms()}, {"head_commit", w.head_commit()}};
}

int ListWorkspaces(bool all, bool json) {
  v1::ListWorkspacesResponse resp;
  int rc = CallFarm<v1::Workspaces>(std::chrono::seconds(30),
                                    [&](v1::Workspaces::Stub& stub, grpc::ClientContext& ctx) {
                                      v1::ListWorkspacesRequest req;
                                      req.set_all_users(all);
                                      return stub.ListWorkspaces(&ctx, req, &resp);
                                    });
  if (rc != 0) return rc;
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& w : resp.workspaces()) out.push_back(ToJson(w));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (resp.workspaces().empty()) {
    std::cout << "no workspaces\n";
    return 0;
  }
  std::printf("%-20s  %-10s  %-16s  %-16s  %s\n", "WORKSPACE", "OWNER", "REPO", "BRANCH", "HEAD");
  for (const auto& w : resp.workspaces()) {
    std::printf("%-20s  %-10s  %-16s  %-16s  %.12s\n", w.name().c_str(), w.owner().c_str(), w.repo().c_str(),
                w.branch().c_str(), w.head_commit().c_str());
  }
  return 0;
}

}  // namespace

void RegisterWorkspaceCommands(CLI::App& app, CLI::App& admin, ExitCode* exit_code) {
  auto* repo = admin.add_subcommand("repo", "upstream repositories the farm mirrors");
  repo->require_subcommand(1);
  struct RepoArgs {
    std::string name, url;
    bool json = false;
  };
  auto ra = std::make_shared<RepoArgs>();
  auto* add = repo->add_subcommand("add", "register an upstream repository (the farm clones a mirror of it)");
  add->add_option("NAME", ra->name, "repository name")->required();
  add->add_option("--url", ra->url, "git URL the farm can reach (a path, file://, https://, ...)")->required();
  add->callback([ra, exit_code] {
    *exit_code = WithAdmin([&](v1::Admin::Stub& stub, grpc::ClientContext& ctx) {
      v1::AddRepoRequest req;
      req.set_name(ra->name);
      req.set_url(ra->url);
      v1::Repo resp;
      std::cerr << "mirroring " << ra->url << " ...\n";
      auto s = stub.AddRepo(&ctx, req, &resp);
      if (s.ok()) std::cout << "added repository " << resp.name() << " (default branch " << resp.default_branch() << ")\n";
      return s;
    });
  });
  auto* list = repo->add_subcommand("list", "list registered repositories");
  list->add_flag("--json", ra->json, "machine-readable output");
  list->callback([ra, exit_code] {
    *exit_code = WithAdmin([&](v1::Admin::Stub& stub, grpc::ClientContext& ctx) {
      v1::ListReposResponse resp;
      auto s = stub.ListRepos(&ctx, v1::ListReposRequest(), &resp);
      if (!s.ok()) return s;
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : resp.repos()) {
        if (ra->json) {
          out.push_back({{"name", r.name()}, {"url", r.url()}, {"default_branch", r.default_branch()}});
        } else {
          std::cout << r.name() << "  " << r.url() << "  (" << r.default_branch() << ")\n";
        }
      }
      if (ra->json) std::cout << out.dump(2) << "\n";
      return s;
    });
  });

  auto* ws = admin.add_subcommand("workspace", "workspaces: git working copies on the farm");
  ws->require_subcommand(1);
  struct WsArgs {
    std::string name, owner, repo, branch, node;
    bool progress = false;
  };
  auto wa = std::make_shared<WsArgs>();
  auto* create = ws->add_subcommand("create", "create a workspace for a user from a registered repository");
  create->add_option("NAME", wa->name, "workspace name")->required();
  create->add_option("--owner", wa->owner, "the user who may mount and change it")->required();
  create->add_option("--repo", wa->repo, "registered repository")->required();
  create->add_option("--branch", wa->branch, "branch to check out (default: the repository's default branch)");
  create->add_flag("--progress", wa->progress, "show progress even when stderr is not a terminal");
  create->add_option("--node", wa->node, "in a cluster: the node to hold it (default: the one the proxy picks)");
  create->callback([wa, exit_code] {
    *exit_code = WithAdmin([&](v1::Admin::Stub& stub, grpc::ClientContext& ctx) {
      if (!wa->node.empty()) ctx.AddMetadata(kNodeHeader, wa->node);
      v1::CreateWorkspaceRequest req;
      req.set_name(wa->name);
      req.set_owner(wa->owner);
      req.set_repo(wa->repo);
      req.set_branch(wa->branch);
      return CreateWithProgress(stub, ctx, req, wa->progress);
    });
  });
  auto del_name = std::make_shared<std::string>();
  auto* del = ws->add_subcommand("delete", "delete a workspace and its farm-side copy");
  del->add_option("NAME", *del_name, "workspace name")->required();
  del->callback([del_name, exit_code] {
    *exit_code = WithAdmin([&](v1::Admin::Stub& stub, grpc::ClientContext& ctx) {
      RouteToWorkspace(&ctx, *del_name);
      v1::DeleteWorkspaceRequest req;
      req.set_name(*del_name);
      v1::DeleteWorkspaceResponse resp;
      auto s = stub.DeleteWorkspace(&ctx, req, &resp);
      if (s.ok()) std::cout << "deleted workspace " << *del_name << "\n";
      return s;
    });
  });

  struct ListArgs {
    bool all = false, json = false;
  };
  auto la = std::make_shared<ListArgs>();
  auto* wsgroup = app.add_subcommand("ws", "your workspaces");
  wsgroup->require_subcommand(1);
  auto* wslist = wsgroup->add_subcommand("list", "list your workspaces (--all: everyone's, for leads and admins)");
  wslist->add_flag("--all", la->all, "every user's workspaces");
  wslist->add_flag("--json", la->json, "machine-readable output");
  wslist->callback([la, exit_code] { *exit_code = ListWorkspaces(la->all, la->json); });
}

}  // namespace cifs
