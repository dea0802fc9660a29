#include "tools/xenletctl/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace xenlet::ctl {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read '", path, "'"));
  }
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

// "host:port" -> "host", "[::1]:443" -> "::1"; empty if there is no port.
std::string HostOf(const std::string& address) {
  if (absl::StartsWith(address, "[")) {
    size_t close = address.find("]:");
    return close == std::string::npos ? "" : address.substr(1, close - 1);
  }
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return "";
  return address.substr(0, colon);
}

}  // namespace

bool IsLoopbackAddress(const std::string& address) {
  std::string host = HostOf(address);
  if (host == "localhost") return true;
  // Parse addresses rather than match prefixes: "127.evil.example" is a
  // name that can resolve anywhere.
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 &&
         IN6_IS_ADDR_LOOPBACK(&v6);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ConnectionOptions& options) {
  const bool tls = !options.tls_ca.empty() || !options.tls_cert.empty() ||
                   !options.tls_key.empty();
  if (options.address.empty()) {
    if (tls) {
      return absl::InvalidArgumentError(
          "--tls-ca/--tls-cert/--tls-key: only with --address (the unix "
          "socket is protected by its file permissions)");
    }
    if (options.socket.empty()) {
      return absl::InvalidArgumentError("--socket: empty path");
    }
    return grpc::CreateChannel("unix:" + options.socket,
                               grpc::InsecureChannelCredentials());
  }
  if (HostOf(options.address).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--address: '", options.address, "' is not HOST:PORT"));
  }
  if (!tls) {
    // Plaintext off the host would expose the API (and control) to the
    // network: only loopback, e.g. an agent started with a TCP dev listener.
    if (!IsLoopbackAddress(options.address)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--address: plaintext only to loopback; give --tls-ca (and "
          "--tls-cert/--tls-key for client authentication) for '",
          options.address, "'"));
    }
    return grpc::CreateChannel(options.address,
                               grpc::InsecureChannelCredentials());
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert/--tls-key: give both or neither");
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.tls_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(options.tls_ca, "--tls-ca");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
  }
  if (!options.tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadFile(options.tls_cert, "--tls-cert");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile(options.tls_key, "--tls-key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::CreateChannel(options.address, grpc::SslCredentials(ssl));
}

void SetDeadline(grpc::ClientContext& context, double seconds) {
  if (seconds <= 0) return;
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(seconds)));
}

}  // namespace xenlet::ctl
