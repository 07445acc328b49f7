#include "tests/integration/dev_farm.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "google/bytestream/bytestream.grpc.pb.h"
#include "identity/certificate_authority.h"

extern char** environ;

namespace cifs::testing {

grpc::Status BatchUpload(const std::shared_ptr<grpc::Channel>& ch, const std::string& hash, int64_t size,
                         const std::string& data, int* blob_code) {
  namespace re = build::bazel::remote::execution::v2;
  grpc::ClientContext ctx;
  re::BatchUpdateBlobsRequest req;
  auto* e = req.add_requests();
  e->mutable_digest()->set_hash(hash);
  e->mutable_digest()->set_size_bytes(size);
  e->set_data(data);
  re::BatchUpdateBlobsResponse resp;
  auto s = re::ContentAddressableStorage::NewStub(ch)->BatchUpdateBlobs(&ctx, req, &resp);
  if (blob_code) *blob_code = resp.responses_size() ? resp.responses(0).status().code() : -1;
  return s;
}

grpc::Status WriteOnce(const std::shared_ptr<grpc::Channel>& ch, const std::string& name, const std::string& data,
                       bool finish) {
  namespace bs = google::bytestream;
  grpc::ClientContext ctx;
  bs::WriteResponse resp;
  auto writer = bs::ByteStream::NewStub(ch)->Write(&ctx, &resp);
  // 1 MiB messages, as a client must (the farm refuses messages over 4 MiB).
  constexpr size_t kChunk = 1 << 20;
  size_t off = 0;
  do {
    bs::WriteRequest w;
    if (off == 0) w.set_resource_name(name);
    w.set_write_offset(static_cast<int64_t>(off));
    w.set_data(data.substr(off, kChunk));
    off += kChunk;
    w.set_finish_write(finish && off >= data.size());
    if (!writer->Write(w)) break;
  } while (off < data.size());
  writer->WritesDone();
  return writer->Finish();
}

std::string TestBlob(int seed, size_t size) {
  std::string s(size, '\0');
  uint64_t x = 0x2545F4914F6CDD1DULL * static_cast<uint64_t>(seed + 7);
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t ResidentBytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int pipefd[2];
  // CLOEXEC: a daemon the command starts must not inherit the pipe and hold it open.
  if (pipe2(pipefd, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawn_file_actions_addclose(&fa, pipefd[0]);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  for (const auto& e : env) envs.push_back(e);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  CommandResult r;
  if (rc != 0) {
    close(pipefd[0]);
    r.output = "cannot run " + argv[0];
    return r;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) r.output.append(buf, n);
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

DevFarm::DevFarm(bool start) {
  char tmpl[] = "/tmp/cifs-farm-XXXXXX";
  dir_ = mkdtemp(tmpl);
  if (start) Start();
}

DevFarm::~DevFarm() {
  Stop();
  if (!std::getenv("CIFS_KEEP_TEST_DIRS")) RunCommand({"rm", "-rf", dir_});
}

bool DevFarm::Start() {
  auto r = RunCommand({SourceDir() + "/scripts/dev-farm", "start", dir_}, {"CIFS_BUILD_DIR=" + BinaryDir()});
  if (r.exit_code != 0) {
    std::fprintf(stderr, "dev-farm start failed: %s\n", r.output.c_str());
    return false;
  }
  std::string ready = ReadText(dir_ + "/ready.json");
  auto num = [&](const std::string& key) {
    auto p = ready.find("\"" + key + "\":");
    return p == std::string::npos ? 0 : std::atoi(ready.c_str() + p + key.size() + 3);
  };
  grpc_port_ = num("grpc_port");
  http_port_ = num("http_port");
  return grpc_port_ > 0;
}

bool DevFarm::Stop() { return RunCommand({SourceDir() + "/scripts/dev-farm", "stop", dir_}).exit_code == 0; }

int DevFarm::pid() const { return std::atoi(ReadText(dir_ + "/farmserver.pid").c_str()); }

void DevFarm::Kill9() {
  int p = pid();
  if (p > 0) {
    kill(p, SIGKILL);
    for (int i = 0; i < 100 && kill(p, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::shared_ptr<grpc::Channel> DevFarm::Channel(const std::string& user) const {
  std::string base = dir_ + "/users/" + user + "/";
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = ReadText(base + "ca.crt");
  o.pem_cert_chain = ReadText(base + "client.crt");
  o.pem_private_key = ReadText(base + "client.key");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);  // so oversized requests reach the farm's own limit
  args.SetInt("grpc.use_local_subchannel_pool", 1);  // a fresh connection per channel
  return grpc::CreateCustomChannel(target(), grpc::SslCredentials(o), args);
}

std::shared_ptr<grpc::Channel> DevFarm::ChannelWithoutClientCert() const {
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = ReadText(dir_ + "/ca/ca.crt");
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(target(), grpc::SslCredentials(o), args);
}

std::shared_ptr<grpc::Channel> DevFarm::ChannelFromOtherCa() const {
  auto other = CertificateAuthority::Create("intruder CA", 1);
  auto client = other->IssueClient("admin", Role::kAdmin, 1);
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = ReadText(dir_ + "/ca/ca.crt");
  o.pem_cert_chain = client->cert_pem;
  o.pem_private_key = client->key_pem;
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(target(), grpc::SslCredentials(o), args);
}

}  // namespace cifs::testing
