// The agent's gRPC server: its listeners, the xenlet.v1 services, the
// standard health service and server reflection.
#ifndef XENLET_AGENT_SERVER_H_
#define XENLET_AGENT_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <array>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/control_authorizer.h"
#include "agent/domain_service.h"
#include "agent/listener.h"
#include "agent/tls_reloader.h"
#include "agent/unix_acceptor.h"
#include "metrics/control_metrics.h"
#include "metrics/grpc_metrics.h"
#include "metrics/xen_call_metrics.h"
#include "store/domain_model.h"
#include "xen/hypervisor.h"

namespace xenlet::agent {

class HostServiceImpl;
class ControlServiceImpl;

// The largest request the agent reads (gRPC's default receive bound).
inline constexpr int kMaxRequestBytes = 4 << 20;

struct ServerOptions {
  ListenerOptions listeners;
  ControlPolicy control;
  DomainServiceOptions domains;
};

// What the services serve from; owned by the caller, outliving the server.
struct Backends {
  store::DomainStore* store = nullptr;
  // Optional (GetHost then reports only the agent and its domains).
  store::DomainModel* model = nullptr;
  metrics::XenCallMetrics* calls = nullptr;
  metrics::GrpcMetrics* grpc_metrics = nullptr;
  // For ReadXenstore's own connection (unset: ReadXenstore is UNAVAILABLE),
  // and ControlService's.
  XenstoreReader::Connect xenstore;
  // ControlService's own hypervisor handle (the model's is its sweeper's);
  // unset: control RPCs are UNAVAILABLE.
  xen::Hypervisor* control_hypervisor = nullptr;
  // Optional: counts what ControlService did.
  metrics::ControlMetrics* control_metrics = nullptr;
};

class AgentServer {
 public:
  // Validates the options, binds every listener and starts serving; the
  // health service reports SERVING for "" and each xenlet.v1 service.
  static absl::StatusOr<std::unique_ptr<AgentServer>> Start(
      const ServerOptions& options, const Backends& backends);

  ~AgentServer();

  // Reports NOT_SERVING, ends open watch streams with UNAVAILABLE, lets
  // calls in flight finish for up to grace, then cancels what is left and
  // removes the unix socket. Idempotent.
  void Shutdown(absl::Duration grace);

  // Reads the TLS files again (SIGHUP): new connections get the new
  // certificate, open ones keep theirs. FAILED_PRECONDITION without TLS; a
  // bad file is INVALID_ARGUMENT naming its flag, and the old set stays.
  absl::StatusOr<TlsReloader::Outcome> ReloadTls();
  // When the served certificate expires; InfiniteFuture() without TLS.
  absl::Time tls_not_after() const;

  // The bound TCP port (useful with --listen 127.0.0.1:0), or 0.
  int tcp_port() const { return tcp_port_; }
  const std::string& unix_socket() const { return unix_socket_; }
  size_t open_streams() const { return domain_service_->open_streams(); }
  DomainServiceImpl::StreamStats stream_stats() const {
    return domain_service_->stream_stats();
  }
  uint64_t listing_encodings() const {
    return domain_service_->listing_encodings();
  }

  // Names of the services this server registers, for health and listings.
  static constexpr std::array<const char*, 3> kServiceNames = {
      "xenlet.v1.DomainService",
      "xenlet.v1.HostService",
      "xenlet.v1.ControlService",
  };

 private:
  AgentServer() = default;

  std::unique_ptr<DomainServiceImpl> domain_service_;
  std::unique_ptr<HostServiceImpl> host_service_;
  std::unique_ptr<ControlServiceImpl> control_service_;
  std::unique_ptr<PeerCredentials> peers_;
  std::unique_ptr<TlsReloader> tls_;  // null without TLS
  std::unique_ptr<grpc::Server> server_;
  // After server_: destroyed (stopped) before it.
  std::unique_ptr<UnixAcceptor> unix_acceptor_;
  std::string unix_socket_;
  int tcp_port_ = 0;
  bool shut_down_ = false;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_SERVER_H_
