#include "farmserver/bes/build_recorder.h"

#include "common/clock.h"

#include <chrono>

namespace cifs {

namespace bep = build_event_stream;

Status BuildRecorder::Register(v1::Build initial) {
  std::lock_guard lock(mu_);
  if (active_.count(initial.id())) return Status::AlreadyExists("build " + initial.id() + " exists");
  Active a;
  a.farm_run = true;
  a.build = std::move(initial);
  a.build.set_remote(true);
  if (!a.build.start_time_ms()) a.build.set_start_time_ms(NowMs());
  auto [it, _] = active_.emplace(a.build.id(), std::move(a));
  return SaveLocked(it->second);
}

Status BuildRecorder::CloseInterruptedFarmBuilds(int scan) {
  auto builds = builds_->ListBuilds("", scan);
  if (!builds.ok()) return builds.status();
  std::lock_guard lock(mu_);
  for (auto& b : *builds) {
    if (!b.remote() || b.finished() || active_.count(b.id())) continue;
    const std::string note = "\ncifs: the farm restarted while this build ran; it was stopped\n";
    CIFS_RETURN_IF_ERROR(builds_->AppendBuildLog(b.id(), b.log_size(), note));
    b.set_log_size(b.log_size() + static_cast<int64_t>(note.size()));
    b.set_finished(true);
    b.set_exit_code(-1);
    b.set_exit_name("FARM_RESTARTED");
    b.set_end_time_ms(NowMs());
    CIFS_RETURN_IF_ERROR(builds_->UpsertBuild(b));
    log_->Warn("farm_build_interrupted", {{"id", b.id()}, {"user", b.user()}});
  }
  return Status::Ok();
}

Status BuildRecorder::Finish(const std::string& id, int exit_code, const std::string& exit_name) {
  std::lock_guard lock(mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return Status::NotFound("no active build " + id);
  v1::Build& b = it->second.build;
  b.set_finished(true);
  b.set_exit_code(exit_code);
  if (b.exit_name().empty() || exit_code != b.exit_code()) b.set_exit_name(exit_name);
  b.set_end_time_ms(NowMs());
  Status s = SaveLocked(it->second);
  active_.erase(it);
  changed_.notify_all();
  return s;
}

v1::BuildProgress ProgressOf(const v1::Build& build) {
  v1::BuildProgress p;
  for (const auto& t : build.targets()) {
    if (!t.kind().empty()) p.set_targets_configured(p.targets_configured() + 1);
    if (t.completed()) p.set_targets_completed(p.targets_completed() + 1);
    if (t.completed() && !t.built()) p.set_targets_failed(p.targets_failed() + 1);
    const std::string& st = t.test_status();
    if (st == "PASSED" || st == "FLAKY") p.set_tests_passed(p.tests_passed() + 1);
    if (!st.empty() && st != "PASSED" && st != "FLAKY" && st != "NO_STATUS") p.set_tests_failed(p.tests_failed() + 1);
  }
  return p;
}

Result<v1::BuildProgress> BuildRecorder::Progress(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return Status::NotFound("no active build " + id);
  return ProgressOf(it->second.build);
}

Status BuildRecorder::Begin(const std::string& id, const Identity& caller) {
  // A farm build's credential names its build: it reports that one only.
  if (caller.role == Role::kBuilder && caller.name != id) {
    return Status::PermissionDenied("the credential of build " + caller.name + " may report only that build, not " +
                                    id);
  }
  std::lock_guard lock(mu_);
  if (auto it = active_.find(id); it != active_.end()) {
    // A retried stream continues the record.
    if (it->second.farm_run != (caller.role == Role::kBuilder) ||
        (!it->second.farm_run && it->second.build.user() != caller.name)) {
      return Status::PermissionDenied("invocation " + id + " belongs to another user");
    }
    return Status::Ok();
  }
  if (caller.role == Role::kBuilder) {
    return Status::PermissionDenied("the builder identity reports only builds the farm is running");
  }
  const std::string& user = caller.name;
  Active a;
  auto existing = builds_->GetBuild(id);
  if (existing.ok() && existing->has_value()) {
    if ((*existing)->user() != user || (*existing)->remote()) {
      return Status::PermissionDenied("invocation " + id + " belongs to another user");
    }
    a.build = **existing;
    a.log_size = a.build.log_size();
  } else {
    a.build.set_id(id);
    a.build.set_user(user);
    a.build.set_start_time_ms(NowMs());
  }
  auto [it, _] = active_.emplace(id, std::move(a));
  return SaveLocked(it->second);
}

v1::Target* BuildRecorder::TargetLocked(Active& a, const std::string& label) {
  for (auto& t : *a.build.mutable_targets()) {
    if (t.label() == label) return &t;
  }
  auto* t = a.build.add_targets();
  t->set_label(label);
  return t;
}

Status BuildRecorder::AppendLogLocked(Active& a, const std::string& text) {
  if (text.empty()) return Status::Ok();
  CIFS_RETURN_IF_ERROR(builds_->AppendBuildLog(a.build.id(), a.log_size, text));
  a.log_size += static_cast<int64_t>(text.size());
  a.build.set_log_size(a.log_size);
  a.dirty = true;
  changed_.notify_all();
  return Status::Ok();
}

Status BuildRecorder::SaveLocked(Active& a) {
  a.dirty = false;
  a.last_save = std::chrono::steady_clock::now();
  return builds_->UpsertBuild(a.build);
}

Status BuildRecorder::AppendLog(const std::string& id, const std::string& text) {
  std::lock_guard lock(mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return Status::NotFound("no active invocation " + id);
  return AppendLogLocked(it->second, text);
}

Status BuildRecorder::OnEvent(const std::string& id, const bep::BuildEvent& ev) {
  std::lock_guard lock(mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return Status::NotFound("no active invocation " + id);
  Active& a = it->second;
  v1::Build& b = a.build;
  bool save = false;
  switch (ev.payload_case()) {
    case bep::BuildEvent::kProgress:
      if (a.farm_run) break;
      CIFS_RETURN_IF_ERROR(AppendLogLocked(a, ev.progress().stderr()));
      CIFS_RETURN_IF_ERROR(AppendLogLocked(a, ev.progress().stdout()));
      break;
    case bep::BuildEvent::kStarted:
      b.set_command(ev.started().command());
      if (ev.started().start_time_millis()) b.set_start_time_ms(ev.started().start_time_millis());
      b.set_workspace_dir(ev.started().workspace_directory());
      // A farm build's record names the farm's Bazel already; a Bazel built
      // from source reports no release.
      if (const auto& v = ev.started().build_tool_version(); !v.empty() && v != "no_version") {
        b.set_bazel_version(v);
      } else if (b.bazel_version().empty()) {
        b.set_bazel_version("unknown (this Bazel reports no release)");
      }
      save = true;
      break;
    case bep::BuildEvent::kExpanded:
      if (ev.id().has_pattern()) {
        b.clear_patterns();  // Bazel's expansion replaces what a farm build was asked for
        for (const auto& p : ev.id().pattern().pattern()) b.add_patterns(p);
      }
      save = true;
      break;
    case bep::BuildEvent::kConfigured:
      if (ev.id().has_target_configured()) {
        auto* t = TargetLocked(a, ev.id().target_configured().label());
        t->set_kind(ev.configured().target_kind());
        a.dirty = true;
      }
      break;
    case bep::BuildEvent::kCompleted:
      if (ev.id().has_target_completed()) {
        auto* t = TargetLocked(a, ev.id().target_completed().label());
        t->set_completed(true);
        t->set_built(ev.completed().success());
        a.dirty = true;
      }
      break;
    case bep::BuildEvent::kTestResult:
      if (ev.id().has_test_result()) {
        auto* t = TargetLocked(a, ev.id().test_result().label());
        t->set_cached_locally(ev.test_result().cached_locally());
        t->set_cached_remotely(ev.test_result().execution_info().cached_remotely());
        if (t->test_status().empty()) t->set_test_status(bep::TestStatus_Name(ev.test_result().status()));
        a.dirty = true;
      }
      break;
    case bep::BuildEvent::kTestSummary:
      if (ev.id().has_test_summary()) {
        auto* t = TargetLocked(a, ev.id().test_summary().label());
        t->set_test_status(bep::TestStatus_Name(ev.test_summary().overall_status()));
        t->set_run_count(ev.test_summary().total_run_count());
      }
      save = true;
      break;
    case bep::BuildEvent::kAborted:
      if (ev.id().has_target_completed() || ev.id().has_target_configured()) {
        std::string label = ev.id().has_target_completed() ? ev.id().target_completed().label()
                                                           : ev.id().target_configured().label();
        auto* t = TargetLocked(a, label);
        t->set_completed(true);
        t->set_built(false);
      }
      if (!a.farm_run) CIFS_RETURN_IF_ERROR(AppendLogLocked(a, "aborted: " + ev.aborted().description() + "\n"));
      break;
    case bep::BuildEvent::kFinished:
      // A farm-run build ends when the farm has read all of Bazel's output.
      if (!a.farm_run) b.set_finished(true);
      b.set_exit_code(ev.finished().exit_code().code());
      b.set_exit_name(ev.finished().exit_code().name());
      b.set_end_time_ms(ev.finished().finish_time_millis() ? ev.finished().finish_time_millis() : NowMs());
      save = true;
      changed_.notify_all();
      break;
    case bep::BuildEvent::kBuildMetrics:
      b.set_actions_created(ev.build_metrics().action_summary().actions_created());
      b.set_actions_executed(ev.build_metrics().action_summary().actions_executed());
      save = true;
      break;
    default:
      break;
  }
  // The record is rewritten whole; doing that per event would make a build
  // with many targets quadratic. Milestones save at once, the rest at most
  // once a second (the log itself is appended as it comes).
  if (save || (a.dirty && std::chrono::steady_clock::now() - a.last_save > std::chrono::seconds(1))) {
    return SaveLocked(a);
  }
  return Status::Ok();
}

Status BuildRecorder::AppendConsole(const std::string& id, const std::string& text) {
  std::lock_guard lock(mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return Status::NotFound("no active invocation " + id);
  if (it->second.farm_run) return Status::Ok();
  return AppendLogLocked(it->second, text);
}

Status BuildRecorder::End(const std::string& id, bool stream_ok) {
  std::lock_guard lock(mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return Status::Ok();
  Active& a = it->second;
  if (a.farm_run) return SaveLocked(a);
  if (!a.build.finished() && !stream_ok) {
    // Bazel may retry a broken stream; keep the record open for it, but mark
    // it so a reader knows why it stopped growing.
    log_->Warn("bes_stream_broken", {{"invocation", id}});
  }
  if (!a.build.finished() && stream_ok) {
    a.build.set_finished(true);
    a.build.set_exit_name("INCOMPLETE");
    a.build.set_exit_code(-1);
    a.build.set_end_time_ms(NowMs());
  }
  Status s = SaveLocked(a);
  if (a.build.finished()) active_.erase(it);
  changed_.notify_all();
  return s;
}

bool BuildRecorder::WaitForLog(const std::string& id, int64_t offset, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  auto done = [&] {
    auto it = active_.find(id);
    return it == active_.end() || it->second.build.finished() || it->second.log_size > offset;
  };
  changed_.wait_for(lock, timeout, done);
  auto it = active_.find(id);
  return it == active_.end() || it->second.build.finished();
}

}  // namespace cifs
