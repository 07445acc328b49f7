#include "farmserver/exec/worker_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/files.h"
#include "common/unique_fd.h"

namespace cifs {

namespace {

constexpr int kCredentialDays = 30;  // issued again at every start

// Worker `index` is wN (N from 1): its directory, its log and its name on the farm.
std::string WorkerName(size_t index) { return "w" + std::to_string(index + 1); }

Status Own(const std::string& path, const std::optional<RunAs>& who) {
  if (who && ::chown(path.c_str(), who->uid, who->gid) < 0) return Status::Internal("cannot chown " + path);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<WorkerPool>> WorkerPool::Start(WorkerPoolOptions options, const CertificateAuthority& ca,
                                                      Logger* log) {
  if (options.run_as ? options.run_as->uid == 0 : ::geteuid() == 0) {
    return Status::FailedPrecondition("remote-execution workers never run as root");
  }
  auto pool = std::make_unique<WorkerPool>(std::move(options), log);
  CIFS_RETURN_IF_ERROR(MakeDirs(pool->options_.dir, 0755));
  CIFS_RETURN_IF_ERROR(pool->WriteCredential(ca));
  for (int i = 0; i < pool->options_.count; ++i) {
    auto child = pool->Launch(i);
    if (!child.ok()) return child.status();
    pool->children_.emplace_back(std::move(*child));
  }
  pool->watcher_ = std::thread([p = pool.get()] { p->Watch(); });
  return pool;
}

WorkerPool::~WorkerPool() {
  stopping_ = true;
  if (watcher_.joinable()) watcher_.join();
  // ChildProcess's destructor kills and reaps what still runs.
  for (auto& c : children_) {
    if (c) c->SignalGroup(SIGKILL);
  }
}

Status WorkerPool::WriteCredential(const CertificateAuthority& ca) {
  auto cert = ca.IssueClient(options_.node.empty() ? "farm" : options_.node, Role::kWorker, kCredentialDays);
  if (!cert.ok()) return cert.status();
  const std::string dir = options_.dir + "/credential";
  CIFS_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  CIFS_RETURN_IF_ERROR(Own(dir, options_.run_as));
  const std::string config = "farm = \"" + options_.farm + "\"\nca = \"ca.crt\"\ncert = \"cert.pem\"\nkey = \"key.pem\"\n";
  for (const auto& [name, data] : {std::pair<const char*, const std::string&>{"key.pem", cert->key_pem},
                                   {"cert.pem", cert->cert_pem},
                                   {"ca.crt", ca.ca().cert_pem},
                                   {"config.toml", config}}) {
    const std::string path = dir + "/" + name;
    CIFS_RETURN_IF_ERROR(WriteFileAtomic(path, data, 0600));
    CIFS_RETURN_IF_ERROR(Own(path, options_.run_as));
  }
  return Status::Ok();
}

Result<ChildProcess> WorkerPool::Launch(int index) {
  const std::string name = WorkerName(static_cast<size_t>(index));
  const std::string dir = options_.dir + "/" + name;
  CIFS_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  CIFS_RETURN_IF_ERROR(Own(dir, options_.run_as));
  ChildSpec spec;
  spec.exe = options_.exe;
  // The worker dies with the thread that starts it (PR_SET_PDEATHSIG): the
  // caller of Start or the watcher, both alive as long as the pool.
  spec.argv = {"cifs-worker", "--config", options_.dir + "/credential/config.toml", "--dir", dir, "--name", name,
               "--die-with-parent"};
  spec.argv.push_back("--cache-size");
  spec.argv.push_back(options_.cache_size);
  spec.argv.push_back("--farm");
  spec.argv.push_back(options_.farm);
  for (const auto& peer : options_.peers) {
    spec.argv.push_back("--farm");
    spec.argv.push_back(peer);
  }
  for (const auto& [k, v] : options_.platform) {
    spec.argv.push_back("--platform");
    spec.argv.push_back(k + "=" + v);
  }
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + dir};
  spec.run_as = options_.run_as;
  auto child = ChildProcess::Start(spec);
  if (!child.ok()) return Status::Internal("cannot start worker " + name + ": " + child.status().message());
  log_->Info("worker_started", {{"worker", name}, {"pid", child->pid()}});
  return child;
}

void WorkerPool::Watch() {
  std::vector<UniqueFd> logs;
  for (size_t i = 0; i < children_.size(); ++i) {
    const std::string path = options_.dir + "/" + WorkerName(i) + ".log";
    logs.emplace_back(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  }
  std::vector<std::chrono::steady_clock::time_point> restart_at(children_.size());
  std::string buf(16 << 10, '\0');
  while (!stopping_) {
    std::vector<pollfd> fds;
    for (auto& c : children_) {
      if (c) fds.push_back({c->output_fd(), POLLIN, 0});
    }
    ::poll(fds.data(), fds.size(), 200);
    auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < children_.size(); ++i) {
      auto& c = children_[i];
      if (c) {
        for (ssize_t n; (n = ::read(c->output_fd(), buf.data(), buf.size())) > 0;) {
          if (logs[i].valid() && ::write(logs[i].get(), buf.data(), static_cast<size_t>(n)) < 0) break;
        }
        if (auto code = c->Poll()) {
          log_->Warn("worker_exited", {{"worker", WorkerName(i)}, {"code", *code}});
          c.reset();
          restart_at[i] = now + std::chrono::seconds(1);  // a crash loop costs a second per round
        }
      } else if (now >= restart_at[i]) {
        auto child = Launch(static_cast<int>(i));
        if (child.ok()) {
          c.emplace(std::move(*child));
        } else {
          log_->Warn("worker_not_restarted", {{"error", child.status().message()}});
          restart_at[i] = now + std::chrono::seconds(10);
        }
      }
    }
  }
}

}  // namespace cifs
