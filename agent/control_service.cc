#include "agent/control_service.h"

#include "agent/grpc_status.h"
#include "agent/request_validation.h"
#include "agent/unary.h"

namespace xenlet::agent {
namespace {

// Authorisation first, so that an unauthorised caller learns nothing about
// the host from validation messages.
template <typename Request>
grpc::ServerUnaryReactor* Handle(const ControlAuthorizer& authorizer,
                                 grpc::CallbackServerContext* context,
                                 const Request& request,
                                 absl::Status (*validate)(const Request&),
                                 const char* method) {
  if (auto s = authorizer.Authorize(*context); !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  if (auto s = validate(request); !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  return FinishUnary(context, Unimplemented(method));
}

}  // namespace

grpc::ServerUnaryReactor* ControlServiceImpl::PauseDomains(
    grpc::CallbackServerContext* context,
    const v1::PauseDomainsRequest* request, v1::ControlResponse*) {
  return Handle(authorizer_, context, *request, &ValidatePauseDomains,
                "PauseDomains");
}

grpc::ServerUnaryReactor* ControlServiceImpl::UnpauseDomains(
    grpc::CallbackServerContext* context,
    const v1::UnpauseDomainsRequest* request, v1::ControlResponse*) {
  return Handle(authorizer_, context, *request, &ValidateUnpauseDomains,
                "UnpauseDomains");
}

grpc::ServerUnaryReactor* ControlServiceImpl::ShutdownDomains(
    grpc::CallbackServerContext* context,
    const v1::ShutdownDomainsRequest* request, v1::ControlResponse*) {
  return Handle(authorizer_, context, *request, &ValidateShutdownDomains,
                "ShutdownDomains");
}

grpc::ServerUnaryReactor* ControlServiceImpl::DestroyDomains(
    grpc::CallbackServerContext* context,
    const v1::DestroyDomainsRequest* request, v1::ControlResponse*) {
  return Handle(authorizer_, context, *request, &ValidateDestroyDomains,
                "DestroyDomains");
}

}  // namespace xenlet::agent
