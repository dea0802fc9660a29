// The unix socket, served by the agent itself rather than by gRPC: it
// accepts each connection, notes its peer's credentials (SO_PEERCRED: uid,
// gid, pid) and hands the connection to gRPC (AddInsecureChannelFromFd),
// whose calls then name their peer "fd:N". Control can so be limited to
// some users or groups (gRPC does not expose a unix peer's credentials).
#ifndef XENLET_AGENT_UNIX_ACCEPTOR_H_
#define XENLET_AGENT_UNIX_ACCEPTOR_H_

#include <grpcpp/grpcpp.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace xenlet::agent {

struct PeerCredential {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
};

// Connections' credentials by the gRPC peer name of their calls.
class PeerCredentials {
 public:
  void Set(int fd, const PeerCredential& credential);
  // For a call's peer ("fd:N"); nullopt for any other peer.
  std::optional<PeerCredential> Find(const std::string& peer) const;

 private:
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<int, PeerCredential> by_fd_ ABSL_GUARDED_BY(mutex_);
};

class UnixAcceptor {
 public:
  // Listens on path (which PrepareUnixSocket made ready) and hands every
  // connection to server.
  static absl::StatusOr<std::unique_ptr<UnixAcceptor>> Start(
      const std::string& path, grpc::Server* server, PeerCredentials* peers);
  ~UnixAcceptor();  // Stop()
  // Accepts no more connections (open ones stay with gRPC). Idempotent.
  void Stop();

 private:
  UnixAcceptor(int listen_fd, int stop_fd, grpc::Server* server,
               PeerCredentials* peers)
      : listen_fd_(listen_fd),
        stop_fd_(stop_fd),
        server_(server),
        peers_(peers) {}
  void Loop();

  const int listen_fd_;
  const int stop_fd_;  // eventfd: readable once Stop() is called
  grpc::Server* const server_;
  PeerCredentials* const peers_;
  std::thread thread_;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_UNIX_ACCEPTOR_H_
