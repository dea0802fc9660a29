// Records what a DomainStore subscriber sees, and lets a test wait (with a
// bound) until the record satisfies a condition: synchronisation on events,
// never on sleeps.
#ifndef XENLET_TESTS_TESTING_STORE_EVENTS_H_
#define XENLET_TESTS_TESTING_STORE_EVENTS_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "store/domain_store.h"

namespace xenlet::testing {

class StoreEvents {
 public:
  explicit StoreEvents(store::DomainStore* store,
                       store::SubscriptionOptions options = {});
  ~StoreEvents();

  using Predicate = std::function<bool(const std::vector<store::QueuedEvent>&)>;
  // True once pred holds for the events so far; false after timeout.
  bool WaitUntil(const Predicate& pred,
                 absl::Duration timeout = absl::Seconds(20));
  // Events of one domid (in order) so far.
  std::vector<store::QueuedEvent> ForDomid(uint32_t domid);
  std::vector<store::QueuedEvent> All();

 private:
  void Drain() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  store::DomainStore* const store_;
  std::shared_ptr<store::Subscription> subscription_;
  absl::Mutex mutex_;
  std::vector<store::QueuedEvent> events_ ABSL_GUARDED_BY(mutex_);
  bool woken_ ABSL_GUARDED_BY(mutex_) = false;
};

// The last event of domid with the given transition, if any.
bool HasTransition(const std::vector<store::QueuedEvent>& events,
                   uint32_t domid, v1::Transition transition);

}  // namespace xenlet::testing

#endif  // XENLET_TESTS_TESTING_STORE_EVENTS_H_
