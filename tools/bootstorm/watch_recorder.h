// A WatchDomains client that keeps its own model of the host from the
// stream and records, per event, how long after the agent detected the
// change it arrived.
#ifndef XENLET_TOOLS_BOOTSTORM_WATCH_RECORDER_H_
#define XENLET_TOOLS_BOOTSTORM_WATCH_RECORDER_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::bootstorm {

class WatchRecorder {
 public:
  explicit WatchRecorder(std::shared_ptr<grpc::Channel> channel);
  ~WatchRecorder();

  // Opens the stream (initial state) and returns once SYNCED arrived.
  absl::Status Start(absl::Duration timeout);
  void Stop();

  struct Snapshot {
    std::map<uint32_t, xenlet::v1::Domain> domains;
    uint64_t events = 0;
    uint64_t coalesced = 0;
    uint64_t revision = 0;
    std::vector<double> latencies_ms;  // detection -> receipt
    std::string error;                 // set if the stream failed
  };
  Snapshot Get() const;

 private:
  void Run();

  std::unique_ptr<xenlet::v1::DomainService::Stub> stub_;
  grpc::ClientContext context_;
  std::thread thread_;
  mutable absl::Mutex mutex_;
  bool synced_ ABSL_GUARDED_BY(mutex_) = false;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  Snapshot state_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace xenlet::bootstorm

#endif  // XENLET_TOOLS_BOOTSTORM_WATCH_RECORDER_H_
