// xenlet.v1.HostService on the callback API.
#ifndef XENLET_AGENT_HOST_SERVICE_H_
#define XENLET_AGENT_HOST_SERVICE_H_

#include "xenlet/v1/host_service.grpc.pb.h"

namespace xenlet::agent {

class HostServiceImpl final : public v1::HostService::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetHost(grpc::CallbackServerContext* context,
                                    const v1::GetHostRequest* request,
                                    v1::Host* response) override;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_HOST_SERVICE_H_
