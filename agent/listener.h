// Where the agent listens: a unix socket by default, optionally TCP. TCP is
// plaintext only on loopback; any other address needs TLS.
#ifndef XENLET_AGENT_LISTENER_H_
#define XENLET_AGENT_LISTENER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/tls_files.h"

namespace xenlet::agent {

inline constexpr char kDefaultSocketPath[] = "/run/xenlet/xenlet.sock";

struct ListenerOptions {
  std::string unix_socket = kDefaultSocketPath;  // "" = no unix listener
  mode_t socket_mode = 0660;
  std::string socket_group;  // "" = leave the group alone
  std::string tcp_address;   // "host:port"; "" = no TCP listener
  TlsFiles tls;
};

// INVALID_ARGUMENT naming the flag at fault: no listener at all, a TCP
// address that does not parse, a non-loopback address without TLS, half a
// TLS configuration, a unix socket path too long for sun_path.
absl::Status ValidateListenerOptions(const ListenerOptions& options);

// 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(std::string_view host);

// Splits "host:port" / "[v6]:port"; false if it does not parse.
bool SplitHostPort(std::string_view address, std::string* host,
                   std::string* port);

// Makes the socket's directory (0750) if missing and removes a stale socket
// left by a dead agent; FAILED_PRECONDITION if a live agent owns the path.
absl::Status PrepareUnixSocket(const std::string& path);

// Applies mode and group to the socket once it is bound.
absl::Status SecureUnixSocket(const std::string& path, mode_t mode,
                              const std::string& group);

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_LISTENER_H_
