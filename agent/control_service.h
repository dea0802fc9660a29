// xenlet.v1.ControlService on the callback API.
#ifndef XENLET_AGENT_CONTROL_SERVICE_H_
#define XENLET_AGENT_CONTROL_SERVICE_H_

#include "agent/control_authorizer.h"
#include "xenlet/v1/control_service.grpc.pb.h"

namespace xenlet::agent {

class ControlServiceImpl final : public v1::ControlService::CallbackService {
 public:
  explicit ControlServiceImpl(ControlPolicy policy)
      : authorizer_(std::move(policy)) {}

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
  ControlAuthorizer authorizer_;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_CONTROL_SERVICE_H_
