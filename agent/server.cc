#include "agent/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "agent/control_service.h"
#include "agent/domain_service.h"
#include "agent/host_service.h"
#include "common/log.h"

namespace xenlet::agent {

absl::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(
    const ServerOptions& options, const Backends& backends) {
  const ListenerOptions& listeners = options.listeners;
  if (auto s = ValidateListenerOptions(listeners); !s.ok()) return s;
  if (!backends.store) {
    return absl::InvalidArgumentError("AgentServer needs a DomainStore");
  }

  std::unique_ptr<AgentServer> agent(new AgentServer());
  agent->peers_ = std::make_unique<PeerCredentials>();
  agent->domain_service_ = std::make_unique<DomainServiceImpl>(
      backends.store, options.domains, backends.xenstore, agent->peers_.get());
  DomainServiceImpl* domains = agent->domain_service_.get();
  agent->host_service_ = std::make_unique<HostServiceImpl>(
      HostSources{backends.store, backends.model, backends.calls,
                  [domains] { return domains->open_streams(); }});
  agent->control_service_ = std::make_unique<ControlServiceImpl>(
      options.control, agent->peers_.get(),
      ActionBackends{
          backends.control_hypervisor, backends.store, backends.xenstore,
          backends.model ? &backends.model->initiators() : nullptr,
          backends.model ? std::function<void()>([model = backends.model] {
            model->sweeper().Trigger(store::SweepCause::kResync);
          })
                         : std::function<void()>()},
      backends.control_metrics);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Watch streams stay open for days: ping idle connections so that dead
  // clients are noticed and their streams released.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Every request is small (the largest, a GetDomains of every domid, is
  // under 1 MiB): a bigger one is refused with RESOURCE_EXHAUSTED before it
  // is parsed. gRPC's default, stated so that it is a decision.
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);

  // The unix socket is the agent's own (agent/unix_acceptor.h), so that a
  // caller's uid and gid are known; it is opened once the server runs.
  if (!listeners.unix_socket.empty()) {
    if (auto s = PrepareUnixSocket(listeners.unix_socket); !s.ok()) return s;
    agent->unix_socket_ = listeners.unix_socket;
  }
  if (!listeners.tcp_address.empty()) {
    std::shared_ptr<grpc::ServerCredentials> credentials =
        grpc::InsecureServerCredentials();
    if (listeners.tls.enabled()) {
      auto reloader = TlsReloader::Create(listeners.tls);
      if (!reloader.ok()) return reloader.status();
      agent->tls_ = std::move(*reloader);
      credentials = agent->tls_->ServerCredentials();
    }
    builder.AddListeningPort(listeners.tcp_address, credentials,
                             &agent->tcp_port_);
  }
  if (backends.grpc_metrics) {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(backends.grpc_metrics->InterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  builder.RegisterService(agent->domain_service_.get());
  builder.RegisterService(agent->host_service_.get());
  builder.RegisterService(agent->control_service_.get());

  agent->server_ = builder.BuildAndStart();
  if (!agent->server_) {
    return absl::UnavailableError(absl::StrCat(
        "cannot start the gRPC server: could not bind ",
        listeners.unix_socket.empty() ? "" : listeners.unix_socket,
        listeners.unix_socket.empty() || listeners.tcp_address.empty() ? ""
                                                                       : " or ",
        listeners.tcp_address));
  }
  if (!listeners.tcp_address.empty() && agent->tcp_port_ == 0) {
    agent->server_->Shutdown();
    return absl::UnavailableError(
        absl::StrCat("--listen: cannot bind ", listeners.tcp_address));
  }
  if (!agent->unix_socket_.empty()) {
    auto acceptor = UnixAcceptor::Start(
        agent->unix_socket_, agent->server_.get(), agent->peers_.get());
    if (!acceptor.ok()) {
      agent->Shutdown(absl::ZeroDuration());
      return acceptor.status();
    }
    agent->unix_acceptor_ = std::move(*acceptor);
    if (auto s = SecureUnixSocket(agent->unix_socket_, listeners.socket_mode,
                                  listeners.socket_group);
        !s.ok()) {
      agent->Shutdown(absl::ZeroDuration());
      return s;
    }
  }
  grpc::HealthCheckServiceInterface* health =
      agent->server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  for (const char* name : kServiceNames) health->SetServingStatus(name, true);
  return agent;
}

absl::StatusOr<TlsReloader::Outcome> AgentServer::ReloadTls() {
  if (!tls_) {
    return absl::FailedPreconditionError(
        "no TLS listener to reload (no --tls-cert)");
  }
  return tls_->Reload();
}

absl::Time AgentServer::tls_not_after() const {
  return tls_ ? tls_->not_after() : absl::InfiniteFuture();
}

AgentServer::~AgentServer() { Shutdown(absl::ZeroDuration()); }

void AgentServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  if (unix_acceptor_) unix_acceptor_->Stop();
  server_->GetHealthCheckService()->SetServingStatus(false);
  domain_service_->EndStreams();
  auto deadline = std::chrono::system_clock::now() +
                  std::chrono::milliseconds(absl::ToInt64Milliseconds(grace));
  server_->Shutdown(deadline);
  server_->Wait();
  if (!unix_socket_.empty()) unlink(unix_socket_.c_str());
}

}  // namespace xenlet::agent
