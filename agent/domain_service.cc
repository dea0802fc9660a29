#include "agent/domain_service.h"

#include "agent/grpc_status.h"
#include "agent/request_validation.h"
#include "agent/unary.h"

namespace xenlet::agent {

grpc::ServerUnaryReactor* DomainServiceImpl::ListDomains(
    grpc::CallbackServerContext* context, const v1::ListDomainsRequest* request,
    v1::ListDomainsResponse*) {
  if (auto s = ValidateListDomains(*request); !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  return FinishUnary(context, Unimplemented("ListDomains"));
}

grpc::ServerUnaryReactor* DomainServiceImpl::GetDomains(
    grpc::CallbackServerContext* context, const v1::GetDomainsRequest* request,
    v1::GetDomainsResponse*) {
  if (auto s = ValidateGetDomains(*request); !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  return FinishUnary(context, Unimplemented("GetDomains"));
}

grpc::ServerWriteReactor<v1::WatchDomainsResponse>*
DomainServiceImpl::WatchDomains(grpc::CallbackServerContext*,
                                const v1::WatchDomainsRequest* request) {
  if (auto s = ValidateWatchDomains(*request); !s.ok()) {
    return new FinishedWriter<v1::WatchDomainsResponse>(ToGrpcStatus(s));
  }
  return new FinishedWriter<v1::WatchDomainsResponse>(
      Unimplemented("WatchDomains"));
}

grpc::ServerUnaryReactor* DomainServiceImpl::ReadXenstore(
    grpc::CallbackServerContext* context,
    const v1::ReadXenstoreRequest* request, v1::ReadXenstoreResponse*) {
  if (auto s = ValidateReadXenstore(*request); !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  return FinishUnary(context, Unimplemented("ReadXenstore"));
}

}  // namespace xenlet::agent
