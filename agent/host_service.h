// xenlet.v1.HostService on the callback API. Served from memory: the
// model's cached host facts, its counters and a snapshot.
#ifndef XENLET_AGENT_HOST_SERVICE_H_
#define XENLET_AGENT_HOST_SERVICE_H_

#include <functional>

#include "absl/time/time.h"
#include "metrics/xen_call_metrics.h"
#include "store/domain_model.h"
#include "xenlet/v1/host_service.grpc.pb.h"

namespace xenlet::agent {

struct HostSources {
  store::DomainStore* store = nullptr;
  // Optional: without them the answer has only the agent and domain parts.
  store::DomainModel* model = nullptr;
  metrics::XenCallMetrics* calls = nullptr;
  std::function<size_t()> open_streams;
};

class HostServiceImpl final : public v1::HostService::CallbackService {
 public:
  explicit HostServiceImpl(HostSources sources);

  grpc::ServerUnaryReactor* GetHost(grpc::CallbackServerContext* context,
                                    const v1::GetHostRequest* request,
                                    v1::Host* response) override;

  // The whole answer, for callers in-process.
  void Describe(v1::Host* host) const;

 private:
  const HostSources sources_;
  const absl::Time start_time_ = absl::Now();
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_HOST_SERVICE_H_
