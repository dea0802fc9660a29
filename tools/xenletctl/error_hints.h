// What an operator should do next after a failed call: the agent is not
// there, the socket's permissions keep the caller out, TLS does not match,
// control is off or not allowed to this caller. Derived from the gRPC status
// and from the agent's own messages (agent/control_authorizer.cc), which
// name the agent flag that decides.
#ifndef XENLET_TOOLS_XENLETCTL_ERROR_HINTS_H_
#define XENLET_TOOLS_XENLETCTL_ERROR_HINTS_H_

#include <string>

#include "grpcpp/support/status.h"
#include "tools/xenletctl/connection.h"

namespace xenlet::ctl {

// Where the flags point: "unix:/run/xenlet/xenlet.sock" or "HOST:PORT".
std::string TargetName(const ConnectionOptions& connection);

// Whether the call never reached the agent: no socket, nothing listening,
// the socket's permissions, a failed TLS handshake.
bool IsUnreachable(const grpc::Status& status);

// Why, without gRPC's wrapping: "No such file or directory".
std::string UnreachableReason(const grpc::Status& status);

// What to do next, one or two sentences; empty when there is nothing
// specific. `method` is a gRPC method ("GetHost") or a control verb
// ("pause").
std::string NextStep(const std::string& method, const grpc::Status& status,
                     const ConnectionOptions& connection);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_ERROR_HINTS_H_
