// The gRPC channel from the global flags: the agent's unix socket by default,
// TCP with --address (TLS, or plaintext to loopback only).
#ifndef XENLET_TOOLS_XENLETCTL_CONNECTION_H_
#define XENLET_TOOLS_XENLETCTL_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace xenlet::ctl {

inline constexpr char kDefaultSocket[] = "/run/xenlet/xenlet.sock";

struct ConnectionOptions {
  std::string socket = kDefaultSocket;
  // HOST:PORT; when set, the socket is not used.
  std::string address;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
};

// Checks the flag combination and reads the TLS files; errors name the flag.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ConnectionOptions& options);

// Whether the host of HOST:PORT is a loopback name or address.
bool IsLoopbackAddress(const std::string& address);

// Sets a deadline `seconds` from now; 0 or less sets none.
void SetDeadline(grpc::ClientContext& context, double seconds);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_CONNECTION_H_
