#include "farmserver/cluster/proxy_map.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/names.h"
#include "common/unique_fd.h"

namespace cifs {

Result<std::string> ProxyMap::Command(const std::string& line) const {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path) return Status::InvalidArgument("proxy socket path too long");
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::Internal(std::string("socket: ") + std::strerror(errno));
  timeval timeout{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Status::Unavailable("cannot reach the proxy's runtime socket " + socket_path_ + ": " + std::strerror(errno));
  }
  std::string msg = line + "\n";
  if (::send(fd.get(), msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
    return Status::Unavailable("cannot write to the proxy's runtime socket: " + std::string(std::strerror(errno)));
  }
  std::string answer;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) answer.append(buf, static_cast<size_t>(n));
  return answer;
}

Status ProxyMap::Set(const std::string& key, const std::string& value) const {
  if (socket_path_.empty()) return Status::Ok();
  // Names are checked before they get here; they hold no spaces or ';'.
  CIFS_RETURN_IF_ERROR(ValidateName("map key", key));
  CIFS_RETURN_IF_ERROR(ValidateName("map value", value));
  auto answer = Command("del map " + map_path_ + " " + key + "; add map " + map_path_ + " " + key + " " + value);
  if (!answer.ok()) return answer.status();
  // Success is silent, apart from del's answer for a key that was absent.
  std::string rest = *answer;
  for (size_t at; (at = rest.find("Key not found.")) != std::string::npos;) rest.erase(at, 14);
  if (rest.find_first_not_of(" \n") != std::string::npos) {
    return Status::Internal("the proxy refused to map " + key + ": " + rest);
  }
  return Status::Ok();
}

Status ProxyMap::Remove(const std::string& key) const {
  if (socket_path_.empty()) return Status::Ok();
  CIFS_RETURN_IF_ERROR(ValidateName("map key", key));
  auto answer = Command("del map " + map_path_ + " " + key);
  return answer.status();
}

}  // namespace cifs
