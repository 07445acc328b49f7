#include "common/client_config.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <toml++/toml.h>

#include "common/digest.h"
#include "common/files.h"

namespace cifs {

std::string DefaultClientConfigPath() {
  if (const char* env = std::getenv("CIFS_CONFIG"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return std::string(xdg) + "/cifs/config.toml";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/root") + "/.config/cifs/config.toml";
}

Result<ClientConfig> LoadClientConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    return Status::NotFound("no client config at " + path +
                            " (set CIFS_CONFIG or ask an admin for `cifs admin user add`)");
  }
  toml::table t;
  try {
    t = toml::parse(*text, path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument("cannot parse " + path + ": " + std::string(e.description()));
  }
  ClientConfig c;
  c.path = path;
  auto dir = std::filesystem::path(path).parent_path();
  auto get = [&](const char* k, bool is_path) {
    std::string v = t[k].value_or(std::string());
    if (is_path && !v.empty() && std::filesystem::path(v).is_relative()) v = (dir / v).string();
    return v;
  };
  c.farm = get("farm", false);
  c.web = get("web", false);
  c.ca = get("ca", true);
  c.cert = get("cert", true);
  c.key = get("key", true);
  c.user = get("user", false);
  c.bazel_kit = get("bazel_kit", true);
  c.fsd_dir = get("fsd_dir", true);
  c.local_cache_limit = get("local_cache_limit", false);
  for (auto [name, v] : {std::pair{"farm", &c.farm}, {"ca", &c.ca}, {"cert", &c.cert}, {"key", &c.key}}) {
    if (v->empty()) return Status::InvalidArgument(path + " lacks the required key '" + name + "'");
  }
  return c;
}

std::string RenderClientConfig(const ClientConfig& c) {
  toml::table t;
  t.insert("user", c.user);
  t.insert("farm", c.farm);
  if (!c.web.empty()) t.insert("web", c.web);
  t.insert("ca", c.ca);
  t.insert("cert", c.cert);
  t.insert("key", c.key);
  if (!c.bazel_kit.empty()) t.insert("bazel_kit", c.bazel_kit);
  if (!c.fsd_dir.empty()) t.insert("fsd_dir", c.fsd_dir);
  if (!c.local_cache_limit.empty()) t.insert("local_cache_limit", c.local_cache_limit);
  std::ostringstream out;
  out << "# cifs client configuration (use with CIFS_CONFIG=" << (c.path.empty() ? "this file" : c.path) << ")\n";
  out << t << "\n";
  return out.str();
}

std::string FsdDir(const ClientConfig& c) {
  if (!c.fsd_dir.empty()) return c.fsd_dir;
  std::string base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    base = std::string(home ? home : "/root") + "/.cache";
  }
  std::error_code ec;
  std::string config = std::filesystem::weakly_canonical(c.path, ec).string();
  Sha256 sha;
  sha.Update(ec ? c.path : config);
  return base + "/cifs/fsd-" + sha.FinishHex().substr(0, 12);
}

}  // namespace cifs
