// cifs admin ...: the farm's CA, users and their certificates.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <toml++/toml.h>

#include "cifs/v1/cifs.grpc.pb.h"
#include "client/commands/call_farm.h"
#include "client/commands/commands.h"
#include "farmclient/farm_client.h"
#include "common/client_config.h"
#include "common/files.h"
#include "identity/certificate_authority.h"

namespace cifs {

namespace fs = std::filesystem;

namespace {

std::string DefaultFarmDir() {
  if (const char* env = std::getenv("CIFS_FARM_DIR"); env && *env) return env;
  return "/var/lib/cifs";
}

struct CaInitArgs {
  std::string farm_dir = DefaultFarmDir();
  std::vector<std::string> names;
  int days = 3650;
  bool force = false;
};

int CaInit(const CaInitArgs& a) {
  fs::path ca_dir = fs::path(a.farm_dir) / "ca";
  if (fs::exists(ca_dir / "ca.key") && !a.force) {
    return Fail("a CA already exists in " + ca_dir.string() + " (use --force to replace it and every certificate)");
  }
  Status s = MakeDirs(ca_dir.string(), 0700);
  if (!s.ok()) return Fail(s.message());
  auto ca = CertificateAuthority::Create("cifs farm CA", a.days);
  if (!ca.ok()) return Fail(ca.status().message());
  std::vector<std::string> names = {"localhost", "127.0.0.1", "::1"};
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0 && host[0]) names.emplace_back(host);
  for (const auto& n : a.names) names.push_back(n);
  auto server = ca->IssueServer(names, a.days);
  if (!server.ok()) return Fail(server.status().message());
  for (auto [file, data, mode] : {std::tuple{"ca.key", ca->ca().key_pem, 0600},
                                  {"ca.crt", ca->ca().cert_pem, 0644},
                                  {"server.key", server->key_pem, 0600},
                                  {"server.crt", server->cert_pem, 0644}}) {
    Status w = WriteFileAtomic((ca_dir / file).string(), data, mode);
    if (!w.ok()) return Fail(w.message());
  }
  std::cout << "created the farm CA and server certificate in " << ca_dir.string() << "\n"
            << "server names: ";
  for (size_t i = 0; i < names.size(); ++i) std::cout << (i ? ", " : "") << names[i];
  std::cout << "\n";
  return 0;
}

struct ServerCertArgs {
  std::string farm_dir = DefaultFarmDir();
  std::string out;
  std::vector<std::string> names;
  int days = 3650;
};

Result<CertificateAuthority> LoadCa(const std::string& farm_dir) {
  fs::path ca_dir = fs::path(farm_dir) / "ca";
  auto key = ReadFile((ca_dir / "ca.key").string());
  auto cert = ReadFile((ca_dir / "ca.crt").string());
  if (!key.ok() || !cert.ok()) {
    return Status::NotFound("no farm CA in " + ca_dir.string() + ": run `cifs admin ca init` first (or pass --farm-dir)");
  }
  return CertificateAuthority::Load(*key, *cert);
}

// Another server certificate from the farm's CA: each node of a cluster, and
// its proxy, answers with one of its own.
int ServerCert(const ServerCertArgs& a) {
  auto ca = LoadCa(a.farm_dir);
  if (!ca.ok()) return Fail(ca.status().message());
  std::vector<std::string> names = {"localhost", "127.0.0.1", "::1"};
  for (const auto& n : a.names) names.push_back(n);
  auto server = ca->IssueServer(names, a.days);
  if (!server.ok()) return Fail(server.status().message());
  Status s = MakeDirs(a.out, 0700);
  if (!s.ok()) return Fail(s.message());
  for (auto [file, data, mode] : {std::tuple{"server.key", server->key_pem, 0600},
                                  {"server.crt", server->cert_pem, 0644},
                                  {"ca.crt", ca->ca().cert_pem, 0644}}) {
    Status w = WriteFileAtomic((fs::path(a.out) / file).string(), data, mode);
    if (!w.ok()) return Fail(w.message());
  }
  std::cout << "issued a server certificate in " << a.out << "\n";
  return 0;
}

struct UserAddArgs {
  std::string farm_dir = DefaultFarmDir();
  std::string name;
  std::string role;
  std::string farm;
  std::string web;
  std::string out;
  int days = 365;
};

// The farm's address from its config file, when the admin did not give one.
std::pair<std::string, std::string> FarmAddressFromDir(const std::string& farm_dir) {
  std::string grpc_addr = "localhost:8980";
  std::string web = "https://localhost:8981";
  try {
    auto t = toml::parse_file(farm_dir + "/farmserver.toml");
    if (auto p = t["grpc-port"].value<int64_t>()) grpc_addr = "localhost:" + std::to_string(*p);
    if (auto p = t["http-port"].value<int64_t>()) web = "https://localhost:" + std::to_string(*p);
  } catch (const std::exception&) {
    // No farm config: the defaults above.
  }
  return {grpc_addr, web};
}

int UserAdd(const UserAddArgs& a) {
  Status v = ValidateUserName(a.name);
  if (!v.ok()) return Fail(v.message());
  auto role = ParseRole(a.role);
  if (!role.ok()) return Fail(role.status().message());
  if (*role == Role::kBuilder) return Fail("the builder role belongs to the farm itself; users are dev, lead or admin");
  auto ca = LoadCa(a.farm_dir);
  if (!ca.ok()) return Fail(ca.status().message());
  auto client = ca->IssueClient(a.name, *role, a.days);
  if (!client.ok()) return Fail(client.status().message());

  fs::path out = a.out.empty() ? fs::path(a.farm_dir) / "users" / a.name : fs::path(a.out);
  Status s = MakeDirs(out.string(), 0700);
  if (!s.ok()) return Fail(s.message());
  auto [farm, web] = FarmAddressFromDir(a.farm_dir);
  ClientConfig c;
  c.user = a.name;
  c.farm = a.farm.empty() ? farm : a.farm;
  c.web = a.web.empty() ? web : a.web;
  c.ca = "ca.crt";
  c.cert = "client.crt";
  c.key = "client.key";
  c.path = (fs::absolute(out) / "config.toml").string();
  for (auto [file, data, mode] : {std::tuple{"client.key", client->key_pem, 0600},
                                  {"client.crt", client->cert_pem, 0644},
                                  {"ca.crt", ca->ca().cert_pem, 0644},
                                  {"config.toml", RenderClientConfig(c), 0644}}) {
    Status w = WriteFileAtomic((out / file).string(), data, mode);
    if (!w.ok()) return Fail(w.message());
  }
  std::cout << "issued a " << a.role << " certificate for " << a.name << " in " << out.string() << "\n"
            << "use it with: export CIFS_CONFIG=" << c.path << "\n";
  return 0;
}

int UserRevoke(const std::string& name) {
  return CallFarm<v1::Admin>(std::chrono::seconds(30), [&](v1::Admin::Stub& stub, grpc::ClientContext& ctx) {
    v1::RevokeUserRequest req;
    req.set_name(name);
    v1::RevokeUserResponse resp;
    auto s = stub.RevokeUser(&ctx, req, &resp);
    if (s.ok()) {
      std::cout << "revoked every certificate issued to " << name << " so far; the farm refuses them from now on\n";
    }
    return s;
  });
}

}  // namespace

CLI::App* RegisterAdminCommands(CLI::App& app, ExitCode* exit_code) {
  auto* admin = app.add_subcommand("admin", "farm administration (CA, users, repositories, workspaces)");
  admin->require_subcommand(1);

  auto* ca = admin->add_subcommand("ca", "the farm's certificate authority");
  ca->require_subcommand(1);
  auto ca_args = std::make_shared<CaInitArgs>();
  auto* init = ca->add_subcommand("init", "create the farm CA and the server certificate");
  init->add_option("--farm-dir", ca_args->farm_dir, "farm state directory (env CIFS_FARM_DIR)")->capture_default_str();
  init->add_option("--name", ca_args->names, "extra server name or IP for the certificate (repeatable)");
  init->add_option("--days", ca_args->days, "validity in days")->capture_default_str();
  init->add_flag("--force", ca_args->force, "replace an existing CA (every issued certificate stops working)");
  init->callback([ca_args, exit_code] { *exit_code = CaInit(*ca_args); });
  auto sc_args = std::make_shared<ServerCertArgs>();
  auto* sc = ca->add_subcommand("server-cert", "issue another server certificate (a cluster node's, its proxy's)");
  sc->add_option("--farm-dir", sc_args->farm_dir, "farm directory holding the CA (env CIFS_FARM_DIR)")
      ->capture_default_str();
  sc->add_option("--out", sc_args->out, "directory for server.crt, server.key and ca.crt")->required();
  sc->add_option("--name", sc_args->names, "server name or IP besides localhost (repeatable)");
  sc->add_option("--days", sc_args->days, "validity in days")->capture_default_str();
  sc->callback([sc_args, exit_code] { *exit_code = ServerCert(*sc_args); });

  auto* user = admin->add_subcommand("user", "users and their client certificates");
  user->require_subcommand(1);
  auto add_args = std::make_shared<UserAddArgs>();
  auto* add = user->add_subcommand("add", "issue a client certificate bundle and config.toml for a user");
  add->add_option("NAME", add_args->name, "user name")->required();
  add->add_option("--role", add_args->role, "dev, lead or admin; proxy for a cluster's HAProxy, node for a cluster node's calls to the others' cache (neither has rights of its own)")->required();
  add->add_option("--farm-dir", add_args->farm_dir, "farm state directory holding the CA (env CIFS_FARM_DIR)")
      ->capture_default_str();
  add->add_option("--farm", add_args->farm, "farm gRPC address for the config (default from farmserver.toml)");
  add->add_option("--web", add_args->web, "farm HTTPS address for the config");
  add->add_option("--out", add_args->out, "where to write the bundle (default FARM_DIR/users/NAME)");
  add->add_option("--days", add_args->days, "validity in days")->capture_default_str();
  add->callback([add_args, exit_code] { *exit_code = UserAdd(*add_args); });

  auto revoke_name = std::make_shared<std::string>();
  auto* revoke = user->add_subcommand("revoke", "make the farm refuse every certificate issued to a user so far");
  revoke->add_option("NAME", *revoke_name, "user name")->required();
  revoke->callback([revoke_name, exit_code] { *exit_code = UserRevoke(*revoke_name); });
  return admin;
}

}  // namespace cifs
