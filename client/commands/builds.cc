// cifs builds / cifs logs: the invocations the farm recorded.
#include <unistd.h>

#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cifs/v1/cifs.grpc.pb.h"
#include "client/commands/call_farm.h"
#include "client/commands/commands.h"
#include "farmclient/farm_client.h"

namespace cifs {

namespace {

std::string FormatTime(int64_t ms) {
  if (ms == 0) return "-";
  std::time_t t = ms / 1000;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string Duration(const v1::Build& b) {
  if (!b.finished() || b.end_time_ms() < b.start_time_ms()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", (b.end_time_ms() - b.start_time_ms()) / 1000.0);
  return buf;
}

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

nlohmann::json ToJson(const v1::Build& b) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& t : b.targets()) {
    nlohmann::json j = {{"label", t.label()}, {"kind", t.kind()}, {"built", t.built()}, {"completed", t.completed()}};
    if (!t.test_status().empty()) {
      j["test_status"] = t.test_status();
      j["cached"] = t.cached_locally() || t.cached_remotely();
    }
    targets.push_back(j);
  }
  return {{"id", b.id()},
          {"user", b.user()},
          {"command", b.command()},
          {"patterns", std::vector<std::string>(b.patterns().begin(), b.patterns().end())},
          {"start_time_ms", b.start_time_ms()},
          {"end_time_ms", b.end_time_ms()},
          {"finished", b.finished()},
          {"exit_code", b.exit_code()},
          {"exit_name", b.exit_name()},
          {"targets", targets},
          {"log_size", b.log_size()},
          {"remote", b.remote()},
          {"workspace", b.workspace()},
          {"bazel_version", b.bazel_version()}};
}

std::string StatusWord(const v1::Build& b) { return b.finished() ? b.exit_name() : std::string("RUNNING"); }

int ListBuilds(bool all, bool json, int limit) {
  v1::ListBuildsResponse resp;
  int rc = CallFarm<v1::Builds>(std::chrono::seconds(30), [&](v1::Builds::Stub& stub, grpc::ClientContext& ctx) {
    v1::ListBuildsRequest req;
    req.set_all_users(all);
    req.set_limit(limit);
    return stub.ListBuilds(&ctx, req, &resp);
  });
  if (rc != 0) return rc;
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& b : resp.builds()) out.push_back(ToJson(b));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (resp.builds().empty()) {
    std::cout << "no builds yet\n";
    return 0;
  }
  if (resp.truncated()) std::cerr << "cifs: showing the newest " << resp.builds_size() << " builds only\n";
  std::printf("%-36s  %-8s  %-20s  %-6s  %-19s  %-8s  %-14s  %s\n", "ID", "USER", "WHERE", "CMD", "STARTED", "TIME",
              "STATUS", "PATTERNS");
  for (const auto& b : resp.builds()) {
    // Farm builds name their workspace; the rest came from a local Bazel.
    std::string where = b.remote() ? "farm:" + b.workspace() : "local";
    std::printf("%-36s  %-8s  %-20s  %-6s  %-19s  %-8s  %-14s  %s\n", b.id().c_str(), b.user().c_str(), where.c_str(),
                b.command().c_str(), FormatTime(b.start_time_ms()).c_str(), Duration(b).c_str(),
                StatusWord(b).c_str(), Join(b.patterns()).c_str());
  }
  return 0;
}

void PrintSummary(const v1::Build& b) {
  std::cout << "\n== build " << b.id() << " (" << b.user() << "): bazel " << b.command() << " "
            << Join(b.patterns()) << "\n";
  std::cout << "status: " << StatusWord(b);
  if (b.finished()) std::cout << " (exit code " << b.exit_code() << ")";
  std::cout << ", started " << FormatTime(b.start_time_ms()) << ", took " << Duration(b) << "\n";
  int built = 0, failed = 0;
  for (const auto& t : b.targets()) {
    if (!t.test_status().empty()) {
      std::cout << "  " << t.label() << "  " << t.test_status() << "\n";
    } else if (t.completed()) {
      (t.built() ? built : failed)++;
      if (!t.built()) std::cout << "  " << t.label() << "  FAILED TO BUILD\n";
    }
  }
  std::cout << "targets: " << built << " built, " << failed << " failed\n";
}

}  // namespace

int PrintBuildLog(const std::string& id, bool follow) {
  auto client = ConnectFromDefaultConfig();
  if (!client.ok()) return Fail(client.status().message());
  auto stub = v1::Builds::NewStub((*client)->channel());
  {
    grpc::ClientContext ctx;
    v1::LogChunk chunk;
    v1::GetBuildLogRequest req;
    req.set_id(id);
    req.set_follow(follow);
    auto reader = stub->GetBuildLog(&ctx, req);
    while (reader->Read(&chunk)) {
      std::cout.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
      std::cout.flush();
    }
    auto s = reader->Finish();
    if (!s.ok()) return Fail(DescribeRpcError(s, (*client)->config().farm));
  }
  grpc::ClientContext ctx;
  v1::GetBuildRequest req;
  req.set_id(id);
  v1::Build b;
  auto s = stub->GetBuild(&ctx, req, &b);
  if (!s.ok()) return Fail(DescribeRpcError(s, (*client)->config().farm));
  PrintSummary(b);
  return 0;
}

void RegisterBuildCommands(CLI::App& app, ExitCode* exit_code) {
  struct ListArgs {
    bool all = false, json = false;
    int limit = 50;
  };
  auto la = std::make_shared<ListArgs>();
  auto* builds = app.add_subcommand("builds", "list your builds, newest first");
  builds->add_flag("--all", la->all, "every user's builds (lead or admin)");
  builds->add_flag("--json", la->json, "machine-readable output");
  builds->add_option("--limit", la->limit, "at most this many")->capture_default_str();
  builds->callback([la, exit_code] { *exit_code = ListBuilds(la->all, la->json, la->limit); });

  struct LogArgs {
    std::string id;
    bool follow = false;
  };
  auto lg = std::make_shared<LogArgs>();
  auto* logs = app.add_subcommand("logs", "print a build's console output and summary");
  logs->add_option("BUILD", lg->id, "build id (from `cifs builds`)")->required();
  logs->add_flag("-f,--follow", lg->follow, "keep printing until the build finishes");
  logs->callback([lg, exit_code] { *exit_code = PrintBuildLog(lg->id, lg->follow); });
}

}  // namespace cifs
