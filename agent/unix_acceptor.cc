#include "agent/unix_acceptor.h"

#include <grpcpp/server_posix.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace xenlet::agent {

void PeerCredentials::Set(int fd, const PeerCredential& credential) {
  absl::MutexLock lock(&mutex_);
  by_fd_[fd] = credential;
}

std::optional<PeerCredential> PeerCredentials::Find(
    const std::string& peer) const {
  int fd;
  if (!absl::StartsWith(peer, "fd:") ||
      !absl::SimpleAtoi(absl::string_view(peer).substr(3), &fd)) {
    return std::nullopt;
  }
  absl::MutexLock lock(&mutex_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::unique_ptr<UnixAcceptor>> UnixAcceptor::Start(
    const std::string& path, grpc::Server* server, PeerCredentials* peers) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--socket: ", path, " is longer than ",
                     sizeof(addr.sun_path) - 1, " bytes"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 128) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("--socket: cannot listen on ", path, ": ", strerror(err)));
  }
  const int stop = eventfd(0, EFD_CLOEXEC);
  if (stop < 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  }
  std::unique_ptr<UnixAcceptor> acceptor(
      new UnixAcceptor(fd, stop, server, peers));
  acceptor->thread_ = std::thread([a = acceptor.get()] { a->Loop(); });
  return acceptor;
}

UnixAcceptor::~UnixAcceptor() {
  Stop();
  close(listen_fd_);
  close(stop_fd_);
}

void UnixAcceptor::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof(one)) < 0) {
    LogWarning("unix_acceptor_stop", {{"error", strerror(errno)}});
  }
  thread_.join();
}

void UnixAcceptor::Loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LogError("unix_accept_failed", {{"error", strerror(errno)}});
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    const int fd =
        accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      const int err = errno;
      if (err != EINTR && err != EAGAIN && err != ECONNABORTED) {
        LogWarning("unix_accept_failed", {{"error", strerror(err)}});
      }
      // Out of descriptors: the pending connection stays readable, so
      // give the process a moment instead of spinning on it.
      if (err == EMFILE || err == ENFILE) {
        pollfd stop = {stop_fd_, POLLIN, 0};
        poll(&stop, 1, 100);
      }
      continue;
    }
    ucred credential{};
    socklen_t length = sizeof(credential);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credential, &length) != 0) {
      LogWarning("unix_peer_credentials_unknown", {{"error", strerror(errno)}});
      close(fd);
      continue;
    }
    // Before gRPC has it: a call can only come after.
    peers_->Set(fd, {credential.uid, credential.gid, credential.pid});
    grpc::AddInsecureChannelFromFd(server_, fd);
  }
}

}  // namespace xenlet::agent
