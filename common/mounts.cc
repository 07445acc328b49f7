#include "common/mounts.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/files.h"

namespace cifs {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

Status CheckMountpoint(const std::string& path) {
  struct stat st;
  if (path.empty() || path[0] != '/') return Status::InvalidArgument("mountpoint '" + path + "' is not absolute");
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOTCONN) {
      return Status::FailedPrecondition(path + " is a mount whose daemon died: run `cifs unmount " + path + "`");
    }
    return Status::NotFound("mountpoint " + path + " does not exist");
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("mountpoint " + path + " is not a directory");
  if (IsCifsMount(path)) return Status::AlreadyExists(path + " is already a cifs mount");
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
  if (!d) return Status::IoError("cannot read mountpoint " + path, errno);
  while (struct dirent* e = ::readdir(d.get())) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") return Status::FailedPrecondition("mountpoint " + path + " is not empty");
  }
  return Status::Ok();
}

bool IsCifsMount(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
    std::istringstream fields(line);
    std::string id, parent, dev, root, mountpoint, word;
    fields >> id >> parent >> dev >> root >> mountpoint;
    while (fields >> word && word != "-") {
    }
    std::string fstype;
    fields >> fstype;
    if (fstype == "fuse.cifs" && Unescape(mountpoint) == path) return true;
  }
  return false;
}

Status SaveMountRecords(const std::string& fsd_dir, const std::vector<MountRecord>& mounts) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : mounts) out.push_back({{"workspace", m.workspace}, {"mountpoint", m.mountpoint}});
  return WriteFileAtomic(fsd_dir + "/mounts.json", out.dump(2) + "\n", 0600);
}

std::vector<MountRecord> LoadMountRecords(const std::string& fsd_dir) {
  std::vector<MountRecord> mounts;
  auto text = ReadFile(fsd_dir + "/mounts.json");
  if (!text.ok()) return mounts;
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return mounts;
  for (const auto& m : j) {
    if (m.is_object() && m.value("mountpoint", "") != "") {
      mounts.push_back({m.value("workspace", ""), m.value("mountpoint", "")});
    }
  }
  return mounts;
}

}  // namespace cifs
