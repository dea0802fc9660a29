#include "agent/listener.h"

#include <arpa/inet.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace xenlet::agent {
namespace {

absl::Status Invalid(std::string_view flag, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", std::string(flag), ": ", std::string(problem)));
}

}  // namespace

bool SplitHostPort(std::string_view address, std::string* host,
                   std::string* port) {
  size_t colon;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return false;
    }
    *host = std::string(address.substr(1, close - 1));
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string_view::npos) return false;
    *host = std::string(address.substr(0, colon));
    if (host->find(':') != std::string::npos) return false;
  }
  *port = std::string(address.substr(colon + 1));
  int number;
  return !host->empty() && absl::SimpleAtoi(*port, &number) && number >= 0 &&
         number <= 65535;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  std::string text(host);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

absl::Status ValidateListenerOptions(const ListenerOptions& options) {
  if (options.unix_socket.empty() && options.tcp_address.empty()) {
    return Invalid("socket", "no listener: give --socket or --listen");
  }
  if (!options.unix_socket.empty()) {
    if (options.unix_socket.front() != '/') {
      return Invalid("socket", "must be an absolute path");
    }
    if (options.unix_socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return Invalid(
          "socket", absl::StrCat("path longer than ",
                                 sizeof(sockaddr_un{}.sun_path) - 1, " bytes"));
    }
  }
  if (options.socket_mode > 0777) {
    return Invalid("socket-mode", "must be an octal mode such as 0660");
  }
  const TlsFiles& tls = options.tls;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return Invalid(tls.cert_file.empty() ? "tls-cert" : "tls-key",
                   "--tls-cert and --tls-key go together");
  }
  if (!tls.client_ca_file.empty() && !tls.enabled()) {
    return Invalid("tls-client-ca", "needs --tls-cert and --tls-key");
  }
  if (tls.enabled() && options.tcp_address.empty()) {
    return Invalid("tls-cert", "TLS applies to the TCP listener: add --listen");
  }
  if (!options.tcp_address.empty()) {
    std::string host, port;
    if (!SplitHostPort(options.tcp_address, &host, &port)) {
      return Invalid("listen",
                     absl::StrCat("\"", options.tcp_address,
                                  "\" is not HOST:PORT (e.g. 127.0.0.1:7443)"));
    }
    if (!IsLoopbackHost(host) && !tls.enabled()) {
      return Invalid("listen",
                     absl::StrCat(host,
                                  " is not a loopback address: a listener "
                                  "reachable from the network needs TLS "
                                  "(--tls-cert, --tls-key, --tls-client-ca)"));
    }
  }
  return absl::OkStatus();
}

absl::Status PrepareUnixSocket(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--socket: cannot create ", dir.string(), ": ", ec.message()));
    }
    chmod(dir.c_str(), 0750);
  }
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return absl::OkStatus();
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--socket: ", path, " exists and is not a socket; remove it"));
  }
  // A socket file nobody accepts on is left over from an agent that died.
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  bool live =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  if (live) {
    return absl::FailedPreconditionError(
        absl::StrCat("--socket: another process is serving on ", path,
                     " (is xenlet already running?)"));
  }
  if (unlink(path.c_str()) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--socket: cannot remove stale ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status SecureUnixSocket(const std::string& path, mode_t mode,
                              const std::string& group) {
  if (!group.empty()) {
    struct group* g = getgrnam(group.c_str());
    if (!g) {
      return absl::InvalidArgumentError(
          absl::StrCat("--socket-group: no group named ", group));
    }
    if (chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--socket-group: chown ", path, ": ", std::strerror(errno)));
    }
  }
  if (chmod(path.c_str(), mode) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--socket-mode: chmod ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace xenlet::agent
