// cifs pr ...: pull requests from the farm-side copy of a workspace.
#include <algorithm>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cifs/v1/pr.grpc.pb.h"
#include "farmclient/routing.h"
#include "client/commands/call_farm.h"
#include "client/commands/commands.h"
#include "client/commands/current_workspace.h"
#include "client/commands/terminal_text.h"
#include "farmclient/farm_client.h"
#include "common/client_config.h"

namespace cifs {

namespace {

std::string Short(const std::string& commit) { return commit.substr(0, 12); }

std::string When(int64_t ms) {
  std::time_t t = ms / 1000;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

const v1::Revision* Latest(const v1::PullRequest& pr) {
  return pr.revisions().empty() ? nullptr : &pr.revisions(pr.revisions_size() - 1);
}

nlohmann::json ToJson(const v1::PullRequest& pr) {
  nlohmann::json revisions = nlohmann::json::array();
  for (const auto& r : pr.revisions()) {
    revisions.push_back({{"number", r.number()},
                         {"head_commit", r.head_commit()},
                         {"created_ms", r.created_ms()},
                         {"validation", {{"state", r.validation().state()},
                                         {"build_id", r.validation().build_id()},
                                         {"merge_commit", r.validation().merge_commit()},
                                         {"conflicts", std::vector<std::string>(r.validation().conflicts().begin(),
                                                                                r.validation().conflicts().end())},
                                         {"affects_everything", r.validation().affects_everything()},
                                         {"affected_why", r.validation().affected_why()},
                                         {"affected_targets",
                                          std::vector<std::string>(r.validation().affected_targets().begin(),
                                                                   r.validation().affected_targets().end())},
                                         {"changed_paths",
                                          std::vector<std::string>(r.validation().changed_paths().begin(),
                                                                   r.validation().changed_paths().end())}}}});
  }
  nlohmann::json reviews = nlohmann::json::array();
  for (const auto& r : pr.reviews()) {
    nlohmann::json comments = nlohmann::json::array();
    for (const auto& c : r.comments()) {
      comments.push_back({{"path", c.path()}, {"line", c.line()}, {"text", c.text()},
                          {"line_text", c.line_text()}, {"outdated", c.outdated()}, {"commit", c.commit()}});
    }
    reviews.push_back({{"user", r.user()}, {"decision", r.decision()}, {"message", r.message()},
                       {"at_ms", r.at_ms()}, {"revision", r.revision()}, {"comments", comments}});
  }
  return {{"number", pr.number()},         {"title", pr.title()},     {"author", pr.author()},
          {"workspace", pr.workspace()},   {"repo", pr.repo()},       {"target_branch", pr.target_branch()},
          {"branch", pr.branch()},         {"state", pr.state()},     {"revisions", revisions},
          {"reviews", reviews},            {"created_ms", pr.created_ms()}, {"updated_ms", pr.updated_ms()},
          {"queue_position", pr.queue_position()}, {"merged_commit", pr.merged_commit()},
          {"merged_ms", pr.merged_ms()}, {"queued_ms", pr.queued_ms()},
          {"queue_note", pr.queue_note()}, {"merge_requested_by", pr.merge_requested_by()},
          {"squash", pr.squash()}, {"lane", pr.lane()}, {"waits_on", pr.waits_on()},
          {"batch_tip", pr.batch_tip()}, {"batch_build_id", pr.batch_build_id()},
          {"flaky_targets", std::vector<std::string>(pr.flaky_targets().begin(), pr.flaky_targets().end())}};
}

void PrintPr(const v1::PullRequest& pr) {
  std::cout << "#" << pr.number() << " " << ForStdout(pr.title()) << "\n"
            << "  state:     " << pr.state() << "\n"
            << "  author:    " << pr.author() << " (workspace " << pr.workspace() << ")\n"
            << "  target:    " << pr.repo() << " " << pr.target_branch() << "  (branch " << pr.branch() << ")\n";
  if (pr.queue_position() > 0) {
    std::cout << "  queue:     position " << pr.queue_position() << " for " << pr.target_branch() << ", lane "
              << pr.lane();
    if (pr.waits_on() > 0) std::cout << " (after #" << pr.waits_on() << ")";
    std::cout << "\n";
  }
  if (const auto* rev = Latest(pr); rev && rev->validation().state() == "passed") {
    const auto& v = rev->validation();
    std::cout << "  affects:   ";
    if (v.affects_everything()) {
      std::cout << "everything: " << v.affected_why() << " (lands alone)";
    } else {
      constexpr int kSample = 3;
      std::cout << v.affected_targets_size() << (v.affected_targets_size() == 1 ? " target" : " targets");
      for (int i = 0; i < v.affected_targets_size() && i < kSample; ++i) {
        std::cout << (i ? ", " : ": ") << v.affected_targets(i);
      }
      if (v.affected_targets_size() > kSample) std::cout << ", ...";
    }
    std::cout << "\n";
  }
  if (pr.flaky_targets_size() > 0) {
    std::cout << "  flaky:    ";
    for (const auto& t : pr.flaky_targets()) std::cout << " " << t;
    std::cout << " (failed once, passed on a retry)\n";
  }
  if (!pr.merged_commit().empty()) {
    std::cout << "  merged:    " << Short(pr.merged_commit()) << " at " << When(pr.merged_ms()) << "\n";
  }
  if (!pr.queue_note().empty()) std::cout << "  note:      " << pr.queue_note() << "\n";
  for (const auto& r : pr.revisions()) {
    std::cout << "  revision " << r.number() << ": " << Short(r.head_commit()) << " at " << When(r.created_ms())
              << ", validation " << r.validation().state();
    if (!r.validation().build_id().empty()) std::cout << " (build " << r.validation().build_id() << ")";
    std::cout << "\n";
    for (const auto& c : r.validation().conflicts()) std::cout << "    conflict: " << c << "\n";
  }
  for (const auto& r : pr.reviews()) {
    std::cout << "  " << r.decision() << " by " << r.user() << " at " << When(r.at_ms()) << " (revision "
              << r.revision() << ")" << (r.message().empty() ? "" : ": " + ForStdout(r.message())) << "\n";
    for (const auto& c : r.comments()) {
      std::cout << "    " << ForStdout(c.path()) << ":" << c.line() << (c.outdated() ? " (outdated)" : "") << ": "
                << ForStdout(c.text()) << "\n";
    }
  }
}

struct PrArgs {
  std::string workspace, title, target, message, state, author;
  int64_t number = 0;
  int limit = 0;
  int64_t before = 0;
  bool json = false;
  bool squash = false;
  bool dry_run = false;
};

// `pr submit --dry-run`: what would be committed, and where it would go.
int PreviewSubmit(const v1::SubmitRequest& req) {
  v1::SubmitPreview preview;
  int rc = CallFarm<v1::PullRequests>(std::chrono::seconds(60), [&](auto& stub, auto& ctx) {
    RouteToWorkspace(&ctx, req.workspace());
    return stub.PreviewSubmit(&ctx, req, &preview);
  });
  if (rc != 0) return rc;
  std::string where = preview.open_pull_request() != 0
                          ? "a new revision of #" + std::to_string(preview.open_pull_request())
                          : "a new pull request";
  if (preview.changes().empty()) {
    std::cout << "nothing to commit in " << req.workspace() << "\n";
  } else {
    std::cout << "would commit " << preview.changes_size() << (preview.changes_size() == 1 ? " change" : " changes")
              << " from " << req.workspace() << " as " << where << " into " << preview.target_branch() << ":\n";
    for (const auto& c : preview.changes()) std::cout << "  " << c.kind() << "\t" << c.path() << "\n";
  }
  for (const auto& l : preview.left_out()) std::cout << "  left out\t" << l << " (Bazel's convenience symlink)\n";
  return 0;
}

int Submit(const PrArgs& a) {
  auto config = LoadClientConfig(DefaultClientConfigPath());
  if (!config.ok()) return Fail(config.status().message());
  v1::SubmitRequest req;
  if (!a.workspace.empty()) {
    req.set_workspace(a.workspace);
  } else {
    auto here = WorkspaceFromCwd(*config);
    if (!here.ok()) return Fail(here.status().message());
    req.set_workspace(here->first);
  }
  req.set_title(a.title);
  req.set_target_branch(a.target);
  if (a.dry_run) return PreviewSubmit(req);
  v1::PullRequest pr;
  int rc = CallFarm<v1::PullRequests>(std::chrono::seconds(120), [&](auto& stub, auto& ctx) {
    RouteToWorkspace(&ctx, req.workspace());  // its farm-side copy is there
    return stub.Submit(&ctx, req, &pr);
  });
  if (rc != 0) return rc;
  const auto* rev = Latest(pr);
  std::cout << "submitted #" << pr.number() << " revision " << (rev ? rev->number() : 0) << " ("
            << (rev ? Short(rev->head_commit()) : "") << ") to " << pr.target_branch() << ": " << pr.title() << "\n";
  return 0;
}

int List(const PrArgs& a) {
  v1::ListPullRequestsRequest req;
  req.set_state(a.state);
  req.set_author(a.author);
  req.set_target_branch(a.target);
  req.set_limit(a.limit);
  req.set_before(a.before);
  v1::ListPullRequestsResponse resp;
  int rc = CallFarm<v1::PullRequests>(std::chrono::seconds(30), [&](auto& stub, auto& ctx) {
    return stub.List(&ctx, req, &resp);
  });
  if (rc != 0) return rc;
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& pr : resp.pull_requests()) out.push_back(ToJson(pr));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (resp.pull_requests().empty()) {
    std::cout << "no pull requests\n";
    return 0;
  }
  std::printf("%-6s  %-9s  %-10s  %-12s  %-4s  %-11s  %s\n", "#", "STATE", "AUTHOR", "TARGET", "REV", "VALIDATION",
              "TITLE");
  for (const auto& pr : resp.pull_requests()) {
    const auto* rev = Latest(pr);
    std::printf("%-6lld  %-9s  %-10s  %-12s  %-4d  %-11s  %s\n", static_cast<long long>(pr.number()),
                pr.state().c_str(), pr.author().c_str(), pr.target_branch().c_str(), rev ? rev->number() : 0,
                rev ? rev->validation().state().c_str() : "-", pr.title().c_str());
  }
  if (resp.next_before() > 0) std::cout << "(older ones: --before " << resp.next_before() << ")\n";
  return 0;
}

// Fetches PR `number` into *pr; returns the exit code.
int GetPr(int64_t number, v1::PullRequest* pr) {
  v1::GetPullRequestRequest req;
  req.set_number(number);
  return CallFarm<v1::PullRequests>(std::chrono::seconds(30), [&](auto& stub, auto& ctx) {
    return stub.Get(&ctx, req, pr);
  });
}

int Show(const PrArgs& a) {
  v1::PullRequest pr;
  if (int rc = GetPr(a.number, &pr); rc != 0) return rc;
  if (a.json) {
    std::cout << ToJson(pr).dump(2) << "\n";
  } else {
    PrintPr(pr);
  }
  return 0;
}

int Logs(const PrArgs& a, bool follow) {
  v1::PullRequest pr;
  if (int rc = GetPr(a.number, &pr); rc != 0) return rc;
  const auto* rev = Latest(pr);
  if (rev == nullptr || rev->validation().build_id().empty()) {
    std::string state = rev ? rev->validation().state() : "none";
    std::string why = rev && !rev->validation().message().empty() ? ": " + rev->validation().message() : "";
    return Fail("#" + std::to_string(pr.number()) + " has no validation build (validation " + state + why + ")");
  }
  std::cout << "validation of #" << pr.number() << " revision " << rev->number() << ": "
            << Short(rev->validation().merge_commit()) << " (" << pr.target_branch() << " at "
            << Short(rev->validation().target_tip()) << " + " << Short(rev->head_commit()) << ")\n";
  return PrintBuildLog(rev->validation().build_id(), follow);
}

int MergePr(const PrArgs& a) {
  v1::MergeRequest req;
  req.set_number(a.number);
  req.set_squash(a.squash);
  v1::PullRequest pr;
  int rc = CallFarm<v1::PullRequests>(std::chrono::seconds(30), [&](auto& stub, auto& ctx) {
    return stub.Merge(&ctx, req, &pr);
  });
  if (rc != 0) return rc;
  std::cout << "queued #" << pr.number() << " to land on " << pr.target_branch() << " (position "
            << std::max(pr.queue_position(), 1) << "); follow it with `cifs pr show " << pr.number() << "`\n";
  return 0;
}

int Decide(const PrArgs& a, bool approve) {
  v1::ReviewRequest req;
  req.set_number(a.number);
  req.set_message(a.message);
  v1::PullRequest pr;
  int rc = CallFarm<v1::PullRequests>(std::chrono::seconds(30), [&](auto& stub, auto& ctx) {
    return approve ? stub.Approve(&ctx, req, &pr) : stub.Reject(&ctx, req, &pr);
  });
  if (rc != 0) return rc;
  std::cout << (approve ? "approved" : "rejected") << " #" << pr.number() << " (revision " << pr.revisions_size()
            << "): " << pr.title() << "\n";
  return 0;
}

}  // namespace

void RegisterPrCommands(CLI::App& app, ExitCode* exit_code) {
  auto* pr = app.add_subcommand("pr", "pull requests from your workspace, reviewed by leads");
  pr->require_subcommand(1);
  auto args = std::make_shared<PrArgs>();

  auto* submit = pr->add_subcommand("submit", "commit your workspace's changes and submit them (a new revision if a PR is open)");
  submit->add_option("-m,--message", args->title, "title of a new pull request");
  submit->add_option("--target", args->target, "branch to merge into (default: the workspace's branch)");
  submit->add_option("-w,--workspace", args->workspace, "workspace (default: the mounted one you are in)");
  submit->add_flag("--dry-run", args->dry_run, "list what would be committed, and change nothing");
  submit->callback([args, exit_code] { *exit_code = Submit(*args); });

  auto* list = pr->add_subcommand("list", "pull requests, newest first");
  list->add_option("--state", args->state, "open, approved, rejected, merged or closed");
  list->add_option("--author", args->author, "by this user");
  list->add_option("--target", args->target, "into this branch");
  list->add_option("--limit", args->limit, "at most this many (default 100, at most 1000)")->check(CLI::Range(1, 1000));
  list->add_option("--before", args->before, "only PRs numbered below this (the next page)")->check(CLI::PositiveNumber);
  list->add_flag("--json", args->json, "machine-readable output");
  list->callback([args, exit_code] { *exit_code = List(*args); });

  auto* show = pr->add_subcommand("show", "one pull request: revisions, validation, reviews");
  show->add_option("N", args->number, "pull request number")->required();
  show->add_flag("--json", args->json, "machine-readable output");
  show->callback([args, exit_code] { *exit_code = Show(*args); });

  auto* logs = pr->add_subcommand("logs", "the log of a pull request's validation build");
  logs->add_option("N", args->number, "pull request number")->required();
  auto follow = std::make_shared<bool>(false);
  logs->add_flag("-f,--follow", *follow, "keep printing until the validation ends");
  logs->callback([args, follow, exit_code] { *exit_code = Logs(*args, *follow); });

  auto* merge = pr->add_subcommand("merge", "queue an approved, green PR to land on its target");
  merge->add_option("N", args->number, "pull request number")->required();
  merge->add_flag("--squash", args->squash, "land one commit (the validated tree) instead of the merge commit");
  merge->callback([args, exit_code] { *exit_code = MergePr(*args); });

  auto* approve = pr->add_subcommand("approve", "approve a pull request (lead or admin, not its author)");
  approve->add_option("N", args->number, "pull request number")->required();
  approve->add_option("-m,--message", args->message, "a comment");
  approve->callback([args, exit_code] { *exit_code = Decide(*args, true); });

  auto* reject = pr->add_subcommand("reject", "reject a pull request (lead or admin)");
  reject->add_option("N", args->number, "pull request number")->required();
  reject->add_option("-m,--message", args->message, "why")->required();
  reject->callback([args, exit_code] { *exit_code = Decide(*args, false); });

  RegisterPrReviewCommands(pr, exit_code);
}

}  // namespace cifs
