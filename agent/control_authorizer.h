// Who may call ControlService. Control is off unless enabled; when on, a
// caller on the unix socket is trusted (the socket's owner and mode decide
// who can connect) and a TCP caller must present a TLS client certificate
// whose common name or a subject alternative name is on the allow-list.
#ifndef XENLET_AGENT_CONTROL_AUTHORIZER_H_
#define XENLET_AGENT_CONTROL_AUTHORIZER_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agent/unix_acceptor.h"

namespace xenlet::agent {

struct ControlPolicy {
  bool enabled = false;
  // Certificate identities (CN or SAN) allowed to call control RPCs over TLS.
  std::vector<std::string> allowed_clients;
  // Unix-socket callers allowed control, by uid or gid (SO_PEERCRED). Both
  // empty: whoever the socket's mode and group let connect.
  std::vector<uid_t> allowed_uids;
  std::vector<gid_t> allowed_gids;
};

class ControlAuthorizer {
 public:
  // peers: the unix socket's callers' credentials (null: none known).
  ControlAuthorizer(ControlPolicy policy, const PeerCredentials* peers)
      : policy_(std::move(policy)), peers_(peers) {}

  // OK; UNAUTHENTICATED without a client certificate over TCP;
  // PERMISSION_DENIED when control is off or the certificate is not
  // authorised. Each says why.
  absl::Status Authorize(const grpc::CallbackServerContext& context) const;

 private:
  ControlPolicy policy_;
  const PeerCredentials* const peers_;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_CONTROL_AUTHORIZER_H_
