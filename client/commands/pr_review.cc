// cifs pr diff / cifs pr comment: reading a pull request's changes and
// commenting on its lines, as a reviewer does before approving.
#include <unistd.h>

#include <iostream>

#include "cifs/v1/pr.grpc.pb.h"
#include "client/commands/call_farm.h"
#include "client/commands/commands.h"
#include "client/commands/terminal_text.h"

namespace cifs {
namespace {

struct DiffArgs {
  int64_t number = 0;
  int revision = 0;
  int since = 0;
  bool stat = false;
  std::string location, message;
};

struct Colors {
  const char *add = "", *del = "", *hunk = "", *file = "", *off = "";
};

Colors ColorsFor(bool tty) {
  if (!tty) return {};
  return {"\033[32m", "\033[31m", "\033[36m", "\033[1m", "\033[0m"};
}

std::string Counts(int additions, int deletions) {
  return "+" + std::to_string(additions) + " -" + std::to_string(deletions);
}

int Diff(const DiffArgs& a) {
  v1::GetDiffRequest req;
  req.set_number(a.number);
  req.set_revision(a.revision);
  req.set_since(a.since);
  req.set_stat(a.stat);
  v1::PullRequestDiff diff;
  int rc = CallFarm<v1::PullRequests>(std::chrono::seconds(60), [&](auto& stub, auto& ctx) {
    return stub.GetDiff(&ctx, req, &diff);
  });
  if (rc != 0) return rc;
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  const Colors c = ColorsFor(tty);
  std::cout << "#" << diff.number() << " revision " << diff.revision() << ": " << diff.basis() << " ("
            << diff.from_commit().substr(0, 12) << ".." << diff.to_commit().substr(0, 12) << ")\n";
  for (const auto& f : diff.files()) {
    std::string name = f.kind() == "renamed" ? f.old_path() + " => " + f.path() : f.path();
    std::cout << " " << ForStdout(name) << " | " << f.kind() << " "
              << (f.binary() ? std::string("binary") : Counts(f.additions(), f.deletions())) << "\n";
  }
  std::cout << " " << diff.files_size() << (diff.files_size() == 1 ? " file" : " files") << " changed, "
            << Counts(diff.additions(), diff.deletions()) << "\n";
  if (a.stat) return 0;
  for (const auto& f : diff.files()) {
    std::cout << "\n" << c.file << "=== " << ForStdout(f.path()) << " (" << f.kind();
    if (f.kind() == "renamed") std::cout << " from " << ForStdout(f.old_path());
    std::cout << ")" << c.off << "\n";
    if (f.binary()) {
      std::cout << "(binary file, not shown)\n";
      continue;
    }
    size_t start = 0;
    const std::string& p = f.patch();
    while (start < p.size()) {
      size_t end = p.find('\n', start);
      if (end == std::string::npos) end = p.size();
      const std::string line = p.substr(start, end - start);
      const char* color = line.starts_with("@@") ? c.hunk : line.starts_with("+") ? c.add
                          : line.starts_with("-")                                ? c.del
                                                                                 : "";
      std::cout << color << ForStdout(line) << (*color ? c.off : "") << "\n";
      start = end + 1;
    }
    if (f.truncated()) std::cout << "(cut here: the file's diff is larger than the farm shows)\n";
  }
  if (diff.truncated()) std::cout << "\n(the diff is larger than the farm shows; later files have counts only)\n";
  return 0;
}

int Comment(const DiffArgs& a) {
  v1::ReviewRequest req;
  req.set_number(a.number);
  if (a.location.empty()) {
    req.set_message(a.message);
  } else {
    auto colon = a.location.rfind(':');
    int line = 0;
    try {
      line = colon == std::string::npos ? 0 : std::stoi(a.location.substr(colon + 1));
    } catch (const std::exception&) {
      line = 0;
    }
    if (colon == std::string::npos || colon == 0 || line < 1) {
      std::cerr << "cifs: '" << a.location << "' is not PATH:LINE (e.g. app/main.cc:12)\n";
      return 2;
    }
    auto* c = req.add_comments();
    c->set_path(a.location.substr(0, colon));
    c->set_line(line);
    c->set_text(a.message);
  }
  v1::PullRequest pr;
  int rc = CallFarm<v1::PullRequests>(std::chrono::seconds(60), [&](auto& stub, auto& ctx) {
    return stub.Comment(&ctx, req, &pr);
  });
  if (rc != 0) return rc;
  std::cout << "commented on #" << pr.number() << " (revision " << pr.revisions_size() << ")"
            << (a.location.empty() ? "" : " at " + a.location) << "\n";
  return 0;
}

}  // namespace

void RegisterPrReviewCommands(CLI::App* pr, ExitCode* exit_code) {
  auto args = std::make_shared<DiffArgs>();
  auto* diff = pr->add_subcommand("diff", "what a pull request changes: files with counts, then the unified diff");
  diff->add_option("N", args->number, "pull request number")->required();
  diff->add_flag("--stat", args->stat, "files and counts only");
  diff->add_option("--revision", args->revision, "this revision (default: the latest)")->check(CLI::PositiveNumber);
  diff->add_option("--since", args->since, "what changed since this earlier revision (the author's commits)")
      ->check(CLI::PositiveNumber);
  diff->footer("Without --since: the proposed merge against the target's tip it was validated on.\n"
               "Coloured on a terminal, plain when piped.");
  diff->callback([args, exit_code] { *exit_code = Diff(*args); });

  auto* comment = pr->add_subcommand("comment", "comment on a pull request, or on one line of a file it changes");
  comment->add_option("N", args->number, "pull request number")->required();
  comment->add_option("PATH:LINE", args->location, "a line of the latest revision (its line number in `pr diff`)");
  comment->add_option("-m,--message", args->message, "the comment")->required();
  comment->callback([args, exit_code] { *exit_code = Comment(*args); });
}

}  // namespace cifs
