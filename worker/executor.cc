#include "worker/executor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <filesystem>

#include "common/files.h"
#include "reapi/missing_blobs.h"
#include "worker/beneath.h"
#include "worker/input_root.h"
#include "worker/outputs.h"
#include "worker/sandbox.h"

namespace cifs {

namespace fs = std::filesystem;

namespace {

void SetTime(google::protobuf::Timestamp* t) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  t->set_seconds(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  t->set_nanos(static_cast<int>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count() % 1000000000));
}

// Outputs may be left read-only; the tree must go anyway.
void RemoveTree(const std::string& path) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
  }
  ::chmod(path.c_str(), 0700);
  fs::remove_all(path, ec);
}

void SetError(re::ExecuteResponse* r, const Status& s) {
  r->mutable_status()->set_code(static_cast<int>(s.code()));
  r->mutable_status()->set_message(s.message());
}

// v2.0 outputs' parents are the worker's to make, inside the input root only.
Status MakeParents(int workdir_fd, const std::string& rel) {
  auto slash = rel.rfind('/');
  if (slash == std::string::npos) return Status::Ok();
  auto dir = OpenDirBeneath(workdir_fd, rel.substr(0, slash), true);
  return dir.ok() ? Status::Ok() : dir.status();
}

// Why an action that failed may have: the filesystem of its exec root is
// (nearly) full. Empty when it is not.
std::string DiskFullNote(const std::string& exec) {
  struct statvfs v;
  if (::statvfs(exec.c_str(), &v) != 0) return "";
  const uint64_t free = uint64_t{v.f_bavail} * v.f_frsize, total = uint64_t{v.f_blocks} * v.f_frsize;
  if (free >= (1u << 20)) return "";
  return "cifs-worker: the worker's disk for this action is full (" + std::to_string(free >> 10) + " KiB free of " +
         std::to_string(total >> 20) + " MiB): its outputs or temporary files need more room than the worker has\n";
}

}  // namespace

void Executor::Cancel(const std::string& operation) {
  std::lock_guard lock(mu_);
  if (current_.empty() || (!operation.empty() && operation != current_)) return;
  cancelled_ = true;
  // Set only while the sandbox has not been reaped: the pid is still its own.
  if (sandbox_pid_ > 0) ::kill(-sandbox_pid_, SIGKILL);
}

void Executor::Recover() {
  RemoveTree(options_.dir + "/exec");
  cache_.Load();
}

re::ExecuteResponse Executor::Run(const v1::WorkAssignment& work, CasClient& cas) {
  {
    std::lock_guard lock(mu_);
    current_ = work.operation();
    cancelled_ = false;
  }
  re::ExecuteResponse response;
  auto* meta = response.mutable_result()->mutable_execution_metadata();
  meta->set_worker(options_.name);
  SetTime(meta->mutable_worker_start_timestamp());
  const std::string exec = options_.dir + "/exec/" + std::to_string(++runs_);
  RemoveTree(exec);
  Status s = MakeDirs(exec + "/root", 0755);
  if (s.ok()) s = RunIn(work, cas, exec, &response);
  if (!s.ok()) SetError(&response, s);
  // An action that changed one of its inputs spoils it for the next ones.
  cache_.Check();
  RemoveTree(exec);
  cache_.Trim();
  SetTime(meta->mutable_worker_completed_timestamp());
  std::lock_guard lock(mu_);
  if (cancelled_) {
    response.mutable_status()->set_code(static_cast<int>(Status::Code::kCancelled));
    response.mutable_status()->set_message("cancelled: nobody waited for it any more");
  }
  current_.clear();
  return response;
}

Status Executor::RunIn(const v1::WorkAssignment& work, CasClient& cas, const std::string& exec,
                       re::ExecuteResponse* response) {
  const std::string root = exec + "/root";
  auto* meta = response->mutable_result()->mutable_execution_metadata();
  SetTime(meta->mutable_input_fetch_start_timestamp());
  std::vector<Digest> missing;
  Status s = MaterializeInputRoot(cas, cache_, work.action().input_root_digest(), root, &missing);
  if (!missing.empty()) {
    // Bazel uploads these and executes again.
    *response->mutable_status() = MissingBlobsStatus(
        missing, std::to_string(missing.size()) + " input(s) not in the CAS, e.g. " + missing.front().ToString());
    return Status::Ok();
  }
  CIFS_RETURN_IF_ERROR(s);
  SetTime(meta->mutable_input_fetch_completed_timestamp());

  const re::Command& command = work.command();
  const std::string workdir = command.working_directory().empty() ? root : root + "/" + command.working_directory();
  // The input root may hold symlinks to anywhere: nothing the worker does
  // on the host side passes through one.
  UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root_fd.valid()) return Status::Internal("cannot open " + root);
  auto workdir_fd = OpenDirBeneath(root_fd.get(), command.working_directory(), true);
  if (!workdir_fd.ok()) return Status::InvalidArgument("working directory: " + workdir_fd.status().message());
  for (const auto* list : {&command.output_files(), &command.output_directories()}) {
    for (const auto& rel : *list) {
      if (Status s = MakeParents(workdir_fd->get(), rel); !s.ok()) {
        return Status::InvalidArgument("output " + rel + ": " + s.message());
      }
    }
  }

  SandboxSpec spec;
  spec.bwrap = options_.bwrap;
  spec.execroot = root;
  spec.workdir = command.working_directory();
  spec.argv.assign(command.arguments().begin(), command.arguments().end());
  for (const auto& e : command.environment_variables()) spec.env.push_back({e.name(), e.value()});
  spec.network = work.network();
  spec.stdout_path = exec + "/stdout";
  spec.stderr_path = exec + "/stderr";
  auto timeout = std::chrono::seconds(work.action().timeout().seconds());
  if (timeout.count() <= 0) timeout = options_.default_timeout;
  spec.timeout = std::min(timeout, options_.max_timeout);
  spec.running_pid = &sandbox_pid_;
  spec.pid_mu = &mu_;
  {
    // Cancelled while its inputs were laid out: it does not start.
    std::lock_guard lock(mu_);
    if (cancelled_) return Status::Ok();
  }
  SetTime(meta->mutable_execution_start_timestamp());
  auto ran = RunSandboxed(spec);
  SetTime(meta->mutable_execution_completed_timestamp());
  if (!ran.ok()) return ran.status();

  re::ActionResult* result = response->mutable_result();
  result->set_exit_code(ran->exit_code);
  SetTime(meta->mutable_output_upload_start_timestamp());
  std::vector<UploadBlob> uploads;
  CIFS_RETURN_IF_ERROR(CollectOutputs(command, workdir, workdir_fd->get(), result, &uploads));
  for (auto [path, field] : {std::pair{spec.stdout_path, result->mutable_stdout_digest()},
                             {spec.stderr_path, result->mutable_stderr_digest()}}) {
    auto d = ComputeFileDigest(path);
    if (!d.ok()) return d.status();
    field->set_hash(d->hash);
    field->set_size_bytes(d->size);
    if (d->size > 0) uploads.push_back({*d, "", path});
  }
  if (ran->exit_code != 0) {
    if (auto note = DiskFullNote(exec); !note.empty()) {
      // The action's own complaint may not have fit on the full disk:
      // Bazel shows stderr, so the cause goes there.
      auto err = ReadFile(spec.stderr_path);
      std::string text = (err.ok() ? *err : "") + note;
      Digest d = ComputeDigest(text);
      result->mutable_stderr_digest()->set_hash(d.hash);
      result->mutable_stderr_digest()->set_size_bytes(d.size);
      std::erase_if(uploads, [&](const UploadBlob& b) { return b.path == spec.stderr_path; });
      uploads.push_back({d, std::move(text), ""});
    }
  }
  CIFS_RETURN_IF_ERROR(cas.Upload(uploads));
  SetTime(meta->mutable_output_upload_completed_timestamp());
  if (ran->timed_out) {
    response->mutable_status()->set_code(static_cast<int>(Status::Code::kDeadlineExceeded));
    response->mutable_status()->set_message("the action ran past its timeout of " +
                                            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(spec.timeout).count()) +
                                            " s and was killed");
  }
  return Status::Ok();
}

}  // namespace cifs
