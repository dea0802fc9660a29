// xenlet.v1.DomainService on the callback API.
#ifndef XENLET_AGENT_DOMAIN_SERVICE_H_
#define XENLET_AGENT_DOMAIN_SERVICE_H_

#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::agent {

class DomainServiceImpl final : public v1::DomainService::CallbackService {
 public:
  grpc::ServerUnaryReactor* ListDomains(
      grpc::CallbackServerContext* context,
      const v1::ListDomainsRequest* request,
      v1::ListDomainsResponse* response) override;
  grpc::ServerUnaryReactor* GetDomains(
      grpc::CallbackServerContext* context,
      const v1::GetDomainsRequest* request,
      v1::GetDomainsResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchDomainsResponse>* WatchDomains(
      grpc::CallbackServerContext* context,
      const v1::WatchDomainsRequest* request) override;
  grpc::ServerUnaryReactor* ReadXenstore(
      grpc::CallbackServerContext* context,
      const v1::ReadXenstoreRequest* request,
      v1::ReadXenstoreResponse* response) override;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_DOMAIN_SERVICE_H_
