#include "agent/host_service.h"

#include "agent/grpc_status.h"
#include "agent/unary.h"

namespace xenlet::agent {

grpc::ServerUnaryReactor* HostServiceImpl::GetHost(
    grpc::CallbackServerContext* context, const v1::GetHostRequest*,
    v1::Host*) {
  return FinishUnary(context, Unimplemented("GetHost"));
}

}  // namespace xenlet::agent
