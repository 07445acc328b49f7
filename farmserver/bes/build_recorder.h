// Turns Build Event Protocol events into build records and console logs in the
// metadata store, and lets readers follow a build's log as it grows.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include "cifs/v1/cifs.pb.h"
#include "common/log.h"
#include "common/status.h"
#include "identity/identity.h"
#include "metadata/metadata_store.h"
#include "src/main/java/com/google/devtools/build/lib/buildeventstream/proto/build_event_stream.pb.h"

namespace cifs {

// Target and test counts of a build record.
v1::BuildProgress ProgressOf(const v1::Build& build);

class BuildRecorder {
 public:
  BuildRecorder(BuildStore* builds, Logger* log) : builds_(builds), log_(log) {}

  // A build the farm runs itself (`initial` has its id, user, workspace, ...).
  // The farm owns its log (Bazel's console as the farm read it) and its end;
  // the build-event stream, sent with the build's own credential, adds the
  // targets.
  Status Register(v1::Build initial);
  // The farm-run build's Bazel exited; `exit_name` is used when Bazel sent none.
  Status Finish(const std::string& id, int exit_code, const std::string& exit_name);
  // At start: farm-run builds a previous farm process left running (among the
  // newest `scan` builds) are closed, so none shows as running forever.
  Status CloseInterruptedFarmBuilds(int scan);

  // An invocation's event stream opened by `caller`. A farm build's
  // credential may report only its own build, a user only their own.
  Status Begin(const std::string& invocation_id, const Identity& caller);
  // One decoded BEP event.
  Status OnEvent(const std::string& invocation_id, const build_event_stream::BuildEvent& event);
  // Console output from the build-event stream (ignored for farm-run builds,
  // whose console the farm reads directly).
  Status AppendConsole(const std::string& invocation_id, const std::string& text);
  // Console output of a farm-run build.
  Status AppendLog(const std::string& invocation_id, const std::string& text);
  // The stream closed; a build that never sent BuildFinished is marked so.
  Status End(const std::string& invocation_id, bool stream_ok);

  // Target and test counts of an active build (NotFound once it ended).
  Result<v1::BuildProgress> Progress(const std::string& id);

  // Blocks until the build's log grows past `offset`, it finishes, or the
  // timeout passes. Returns whether the build is finished.
  bool WaitForLog(const std::string& id, int64_t offset, std::chrono::milliseconds timeout);

 private:
  struct Active {
    v1::Build build;
    int64_t log_size = 0;
    bool dirty = false;  // changed since the last save
    bool farm_run = false;
    std::chrono::steady_clock::time_point last_save;
  };
  Status AppendLogLocked(Active& a, const std::string& text);
  Status SaveLocked(Active& a);
  v1::Target* TargetLocked(Active& a, const std::string& label);

  BuildStore* builds_;
  Logger* log_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, Active> active_;
};

}  // namespace cifs
