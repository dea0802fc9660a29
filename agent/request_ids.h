// The request ids of recent control calls, for idempotent retries: the
// first call with an id acts and leaves its answer here; a retry with the
// same id within the window gets that answer (waiting for it if the first
// is still running) and acts on nothing.
#ifndef XENLET_AGENT_REQUEST_IDS_H_
#define XENLET_AGENT_REQUEST_IDS_H_

#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "xenlet/v1/control_service.pb.h"

namespace xenlet::agent {

class RequestIds {
 public:
  struct Slot {
    std::string method;
    absl::Notification done;  // response is final once notified
    v1::ControlResponse response;
  };
  struct Claim {
    std::shared_ptr<Slot> slot;
    bool first = false;  // this call acts and fills the slot
  };

  explicit RequestIds(absl::Duration window = absl::Minutes(10),
                      size_t capacity = 100000)
      : window_(window), capacity_(capacity) {}

  // INVALID_ARGUMENT if id was used for another method.
  absl::StatusOr<Claim> Reserve(const std::string& id,
                                const std::string& method, absl::Time now);

 private:
  void Expire(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const absl::Duration window_;
  const size_t capacity_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<Slot>> slots_
      ABSL_GUARDED_BY(mutex_);
  std::deque<std::pair<absl::Time, std::string>> order_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_REQUEST_IDS_H_
