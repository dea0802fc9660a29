// Who asked for the changes the model is about to see: ControlService
// registers what it expects an action to cause (this domain, these
// transitions, by this caller, until then); the reconciler, when it commits
// a matching event, takes the caller as the event's initiator. Changes
// nobody here asked for (another toolstack, the guest, Xen) have none.
#ifndef XENLET_STORE_INITIATORS_H_
#define XENLET_STORE_INITIATORS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "xenlet/v1/domain_service.pb.h"

namespace xenlet::store {

class Initiators {
 public:
  // Any one of `transitions` of the domain (domid and uuid) before
  // `until` is who's. With in_sequence, each of them is, in turn (a
  // destroy's DYING, then DESTROYED); a step seen ends the ones before it.
  // Returns a handle for Withdraw.
  uint64_t Expect(uint32_t domid, const std::string& uuid,
                  std::vector<v1::Transition> transitions, std::string who,
                  absl::Time until, bool in_sequence = false);
  // The action failed: nothing it expected will come of it, and a change
  // someone else makes meanwhile is not its caller's. No-op if already
  // taken or expired.
  void Withdraw(uint64_t handle);
  // The initiator of this event, or "" (and forgets what it matched).
  std::string Take(uint32_t domid, const std::string& uuid,
                   v1::Transition transition, absl::Time now);
  size_t pending() const;

 private:
  struct Expected {
    uint64_t handle;
    uint32_t domid;
    std::string uuid;
    std::vector<v1::Transition> transitions;
    std::string who;
    absl::Time until;
    bool in_sequence;
  };
  mutable absl::Mutex mutex_;
  std::vector<Expected> expected_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_handle_ ABSL_GUARDED_BY(mutex_) = 1;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_INITIATORS_H_
