#include "tools/xenletctl/error_hints.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace xenlet::ctl {
namespace {

bool IsControl(const std::string& method) {
  for (const char* name :
       {"pause", "unpause", "shutdown", "destroy", "PauseDomains",
        "UnpauseDomains", "ShutdownDomains", "DestroyDomains"}) {
    if (method == name) return true;
  }
  return false;
}

// Case-insensitive: gRPC and OpenSSL capitalise as they please.
bool Contains(const grpc::Status& status, const char* text) {
  return absl::StrContains(absl::AsciiStrToLower(status.error_message()),
                           absl::AsciiStrToLower(text));
}

bool IsTlsFailure(const grpc::Status& status) {
  return Contains(status, "handshake") || Contains(status, "ssl") ||
         Contains(status, "certificate");
}

// " 'xenlet'" for the socket's group, empty if unknown: the group whose
// members the agent's --socket-group/--socket-mode let in.
std::string SocketGroup(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "";
  std::vector<char> buffer(16384);
  struct group entry;
  struct group* found = nullptr;
  if (getgrgid_r(st.st_gid, &entry, buffer.data(), buffer.size(), &found) !=
          0 ||
      found == nullptr) {
    return absl::StrCat(" (gid ", st.st_gid, ")");
  }
  return absl::StrCat(" '", found->gr_name, "'");
}

std::string UnreachableStep(const grpc::Status& status,
                            const ConnectionOptions& connection) {
  const bool unix_socket = connection.address.empty();
  if (Contains(status, "Permission denied")) {
    return absl::StrCat(
        "The socket's permissions decide who may connect: run as root "
        "(sudo), or as a member of the socket's group",
        unix_socket ? SocketGroup(connection.socket) : "",
        " (the agent's --socket-group and --socket-mode 0660).");
  }
  if (!unix_socket && IsTlsFailure(status)) {
    return "The TLS handshake failed: --tls-ca must be the CA that signed "
           "the agent's certificate, and HOST must be a name in it; an "
           "agent that verifies clients (--tls-client-ca) also needs "
           "--tls-cert/--tls-key.";
  }
  return "Is the agent running (systemctl status xenlet)? Use --socket PATH "
         "or --address HOST:PORT to point elsewhere.";
}

std::string ControlStep(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    return "Over TCP, control needs a client certificate: give "
           "--tls-cert/--tls-key for an identity (CN or SAN) that the agent "
           "allows with --control-client.";
  }
  if (status.error_code() != grpc::StatusCode::PERMISSION_DENIED) return "";
  if (Contains(status, "--enable-control")) {
    return "pause, unpause, shutdown and destroy need an agent started with "
           "--enable-control: add it to the agent's flags and restart it "
           "(systemctl restart xenlet).";
  }
  if (Contains(status, "--control-uid") || Contains(status, "--control-gid")) {
    return "Run as a user the agent allows control: root (sudo), or a "
           "uid/gid given to the agent's --control-uid/--control-gid.";
  }
  if (Contains(status, "--control-client")) {
    return "Use a client certificate (--tls-cert/--tls-key) whose name (CN "
           "or SAN) the agent allows with --control-client.";
  }
  return "Control needs an agent started with --enable-control that allows "
         "this caller: --control-uid/--control-gid on the unix socket, "
         "--control-client for a TLS client certificate.";
}

}  // namespace

std::string TargetName(const ConnectionOptions& connection) {
  return connection.address.empty() ? "unix:" + connection.socket
                                    : connection.address;
}

bool IsUnreachable(const grpc::Status& status) {
  // The agent's own UNAVAILABLE answers ("no hypervisor to act on") reached
  // it; gRPC's connection failures say so in their message.
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         (Contains(status, "failed to connect") ||
          Contains(status, "Connection refused") ||
          Contains(status, "No such file or directory") ||
          Contains(status, "Permission denied") || IsTlsFailure(status));
}

std::string UnreachableReason(const grpc::Status& status) {
  // gRPC: "failed to connect to all addresses; last error: UNKNOWN:
  // unix:/run/xenlet/xenlet.sock: No such file or directory".
  std::string why = status.error_message();
  const std::string marker = "last error: ";
  if (size_t at = why.find(marker); at != std::string::npos) {
    why = why.substr(at + marker.size());
  }
  // The status code, then the address gRPC tried.
  size_t word = 0;
  while (word < why.size() &&
         (std::isupper(static_cast<unsigned char>(why[word])) ||
          why[word] == '_')) {
    ++word;
  }
  if (word > 0 && why.compare(word, 2, ": ") == 0) why = why.substr(word + 2);
  for (const char* scheme : {"unix:", "ipv4:", "ipv6:"}) {
    if (!absl::StartsWith(why, scheme)) continue;
    // "ipv6:[::1]:7443: ...": the address ends at the first ": ".
    if (size_t end = why.find(": "); end != std::string::npos) {
      why = why.substr(end + 2);
    }
    break;
  }
  return std::string(absl::StripAsciiWhitespace(why));
}

std::string NextStep(const std::string& method, const grpc::Status& status,
                     const ConnectionOptions& connection) {
  if (IsUnreachable(status)) return UnreachableStep(status, connection);
  if (IsControl(method)) {
    std::string step = ControlStep(status);
    if (!step.empty()) return step;
  }
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "The agent did not answer in time: a larger --timeout "
             "(seconds, 0 for none) waits longer.";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      if (method == "WatchDomains") {
        return "The agent limits open watch streams (its --max-streams and "
               "--max-streams-per-peer): end other watches, or raise the "
               "limits.";
      }
      return "";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "The agent wants a client certificate: give "
             "--tls-cert/--tls-key.";
    default:
      return "";
  }
}

}  // namespace xenlet::ctl
