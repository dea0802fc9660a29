// A WatchDomains client that keeps its own model of the host from the
// stream and records each live event: which domain and transition, when
// the agent detected it and when it arrived.
#ifndef XENLET_TOOLS_BOOTSTORM_WATCH_RECORDER_H_
#define XENLET_TOOLS_BOOTSTORM_WATCH_RECORDER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
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

  // Called on the stream's thread with each live event (after SYNCED), outside
  // the recorder's lock. Set before Start.
  void SetObserver(
      std::function<void(const xenlet::v1::WatchDomainsResponse&)> observer) {
    observer_ = std::move(observer);
  }

  // Opens the stream (initial state) and returns once SYNCED arrived.
  absl::Status Start(absl::Duration timeout);
  void Stop();

  struct Received {
    uint32_t domid = 0;
    xenlet::v1::Transition transition = xenlet::v1::TRANSITION_UNSPECIFIED;
    absl::Time detected;
    absl::Time received;
  };
  struct Snapshot {
    std::map<uint32_t, xenlet::v1::Domain> domains;
    uint64_t events = 0;
    uint64_t coalesced = 0;
    uint64_t revision = 0;
    std::vector<double> latencies_ms;  // detection -> receipt
    std::vector<Received> received;    // live events, in order
    uint64_t duplicates = 0;  // events at or below a revision already seen
    std::string error;        // set if the stream failed
  };
  Snapshot Get() const;
  // fn on the state as it is, under the recorder's lock: no copy, so that
  // polling it does not hold up the stream it records.
  template <typename Fn>
  auto With(Fn fn) const {
    absl::MutexLock lock(&mutex_);
    return fn(state_);
  }

 private:
  void Run();
  void Apply(const xenlet::v1::WatchDomainsResponse& event, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  std::unique_ptr<xenlet::v1::DomainService::Stub> stub_;
  std::function<void(const xenlet::v1::WatchDomainsResponse&)> observer_;
  grpc::ClientContext context_;
  std::thread thread_;
  mutable absl::Mutex mutex_;
  bool synced_ ABSL_GUARDED_BY(mutex_) = false;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  Snapshot state_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace xenlet::bootstorm

#endif  // XENLET_TOOLS_BOOTSTORM_WATCH_RECORDER_H_
