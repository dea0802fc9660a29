#include "tests/testing/store_events.h"

#include <algorithm>

namespace xenlet::testing {

StoreEvents::StoreEvents(store::DomainStore* store,
                         store::SubscriptionOptions options)
    : store_(store) {
  options.capacity = 1 << 20;  // a test wants every event, never coalesced
  subscription_ = store_->Watch({}, std::move(options)).subscription;
}

StoreEvents::~StoreEvents() { store_->Unwatch(subscription_); }

void StoreEvents::Drain() {
  while (auto e = subscription_->Pop()) {
    if (e->event) events_.push_back(*e);  // a bookmark is no event
  }
}

bool StoreEvents::WaitUntil(const Predicate& pred, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mutex_);
  while (true) {
    Drain();
    if (pred(events_)) return true;
    woken_ = false;
    if (subscription_->WaitForEvents([this] {
          absl::MutexLock inner(&mutex_);
          woken_ = true;
        })) {
      // Conditions on state beside the events (a watcher's connection,
      // counters) are rechecked every few milliseconds too.
      mutex_.AwaitWithDeadline(
          absl::Condition(&woken_),
          std::min(deadline, absl::Now() + absl::Milliseconds(10)));
      if (absl::Now() >= deadline) {
        Drain();
        return pred(events_);
      }
    } else if (absl::Now() >= deadline) {
      Drain();
      return pred(events_);
    }
  }
}

std::vector<store::QueuedEvent> StoreEvents::ForDomid(uint32_t domid) {
  absl::MutexLock lock(&mutex_);
  Drain();
  std::vector<store::QueuedEvent> out;
  for (const auto& e : events_) {
    if (e.event->domid == domid) out.push_back(e);
  }
  return out;
}

std::vector<store::QueuedEvent> StoreEvents::All() {
  absl::MutexLock lock(&mutex_);
  Drain();
  return events_;
}

bool HasTransition(const std::vector<store::QueuedEvent>& events,
                   uint32_t domid, v1::Transition transition) {
  for (const auto& e : events) {
    if (e.event->domid == domid && e.event->transition == transition) {
      return true;
    }
  }
  return false;
}

}  // namespace xenlet::testing
