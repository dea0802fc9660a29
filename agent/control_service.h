// xenlet.v1.ControlService on the callback API: authorisation, validation,
// then the batch (agent/domain_actions.h) on a thread of its own (a
// shutdown may wait for its guests for minutes), an audit line per item.
#ifndef XENLET_AGENT_CONTROL_SERVICE_H_
#define XENLET_AGENT_CONTROL_SERVICE_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/control_authorizer.h"
#include "agent/domain_actions.h"
#include "agent/request_ids.h"
#include "metrics/control_metrics.h"
#include "xenlet/v1/control_service.grpc.pb.h"

namespace xenlet::agent {

class ControlServiceImpl final : public v1::ControlService::CallbackService {
 public:
  // Without backends.hypervisor every authorised call is UNAVAILABLE.
  // metrics (optional) counts every item and every denial.
  // peers: the unix socket's callers' credentials (agent/unix_acceptor.h).
  ControlServiceImpl(ControlPolicy policy, const PeerCredentials* peers,
                     ActionBackends backends,
                     metrics::ControlMetrics* metrics = nullptr)
      : authorizer_(std::move(policy), peers),
        peers_(peers),
        actions_(backends),
        available_(backends.hypervisor != nullptr && backends.store),
        metrics_(metrics) {}
  // Waits for the batches still running (each ends when its caller goes).
  ~ControlServiceImpl() override;

  grpc::ServerUnaryReactor* PauseDomains(
      grpc::CallbackServerContext* context,
      const v1::PauseDomainsRequest* request,
      v1::ControlResponse* response) override;
  grpc::ServerUnaryReactor* UnpauseDomains(
      grpc::CallbackServerContext* context,
      const v1::UnpauseDomainsRequest* request,
      v1::ControlResponse* response) override;
  grpc::ServerUnaryReactor* ShutdownDomains(
      grpc::CallbackServerContext* context,
      const v1::ShutdownDomainsRequest* request,
      v1::ControlResponse* response) override;
  grpc::ServerUnaryReactor* DestroyDomains(
      grpc::CallbackServerContext* context,
      const v1::DestroyDomainsRequest* request,
      v1::ControlResponse* response) override;

 private:
  template <typename Request>
  grpc::ServerUnaryReactor* Handle(grpc::CallbackServerContext* context,
                                   const Request& request,
                                   absl::Status (*validate)(const Request&),
                                   const char* method, DomainAction action,
                                   ShutdownOptions shutdown,
                                   v1::ControlResponse* response);

  ControlAuthorizer authorizer_;
  const PeerCredentials* const peers_;
  DomainActions actions_;
  RequestIds request_ids_;
  const bool available_;
  metrics::ControlMetrics* const metrics_;
  struct Batch {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  absl::Mutex mutex_;
  std::vector<Batch> running_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_CONTROL_SERVICE_H_
