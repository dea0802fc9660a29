// A WatchDomains client that opens its stream with the initial state and
// never reads it: the slow or stuck consumer every agent meets. The agent
// must keep its memory bounded (a stalled stream's queue coalesces by
// domain) and serve every other client as before.
#ifndef XENLET_TOOLS_BOOTSTORM_STALLED_WATCHER_H_
#define XENLET_TOOLS_BOOTSTORM_STALLED_WATCHER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::bootstorm {

class StalledWatcher {
 public:
  // On a connection of its own (id makes it distinct), so that its full
  // flow-control window holds up nobody else's stream. Returns once the
  // agent has answered the call (its initial metadata).
  static absl::StatusOr<std::unique_ptr<StalledWatcher>> Open(
      const std::string& target, int id, absl::Duration timeout);
  ~StalledWatcher();  // cancels the call

 private:
  StalledWatcher() = default;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<xenlet::v1::DomainService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<xenlet::v1::WatchDomainsResponse>> reader_;
};

}  // namespace xenlet::bootstorm

#endif  // XENLET_TOOLS_BOOTSTORM_STALLED_WATCHER_H_
