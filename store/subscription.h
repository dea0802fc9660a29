// One watcher's view of the event stream: filtered, bounded, and never a
// reason for the writer to wait. Its queue holds up to `capacity` events.
// When a slow reader lets it fill, it drops the queue and catches up
// instead: it keeps only which domids changed (a bit each, DomidSet) and,
// as the reader drains, sends each one's newest change from the store's
// LatestChanges, in revision order and marked coalesced. Its memory is
// then a few bit sets and one batch, whatever the number of domains, and
// the reader still converges without a resync. Once caught up it sends a
// bookmark (every change up to it was sent: a resume point, which the
// coalesced events were not) and switches back to a queue.
#ifndef XENLET_STORE_SUBSCRIPTION_H_
#define XENLET_STORE_SUBSCRIPTION_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "store/domain_filter.h"
#include "store/domid_set.h"
#include "store/event.h"
#include "store/latest_changes.h"

namespace xenlet::store {

struct SubscriptionOptions {
  DomainFilter filter;
  // Effective event types to deliver (ADDED, MODIFIED, DELETED); empty: all.
  absl::flat_hash_set<int> event_types;
  // Events queued before catching up; a catch-up batch holds at most this
  // many or 256, whichever is more.
  size_t capacity = 1024;
};

// An event as this subscriber sees it: a domain leaving the filter is
// DELETED for it, one entering is ADDED. With a null event, a bookmark: the
// reader has been sent every change up to `bookmark` (a catch-up ended).
struct QueuedEvent {
  EventPtr event;
  v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED;
  // Sent while catching up: it may stand for several changes, and its
  // revision is not a point to resume from (an older change of another
  // domain may still be on its way, folded into a newer one).
  bool coalesced = false;
  // It stands for several changes of the domain (so whose they were is
  // unclear).
  bool merged = false;
  uint64_t bookmark = 0;
};

class Subscription {
 public:
  // latest: where catching up reads each domid's newest change; the
  // writer records every event there before handing it to Enqueue.
  Subscription(SubscriptionOptions options, const LatestChanges* latest);
  ~Subscription();

  // Writer side, in two steps so that the writer can queue under its own
  // lock and wake readers after releasing it. Never blocks on the reader.
  // Enqueue queues the event and, if the reader is waiting
  // (WaitForEvents), fires its notification; FlushNotify then runs a fired
  // notification on the calling thread, outside every lock.
  void Enqueue(const EventPtr& event);
  void FlushNotify();
  void Deliver(const EventPtr& event) {
    Enqueue(event);
    FlushNotify();
  }

  // Reader side: the next event, or nullopt if none is queued.
  std::optional<QueuedEvent> Pop();
  // Arms a one-shot notification for the next queued event; returns false
  // (and arms nothing) if events are already queued.
  bool WaitForEvents(std::function<void()> notify);
  // Stops deliveries. Returns once no notification is running or pending:
  // after it, the reader's callback is never called again.
  void Close();

  // Events queued, or while catching up, domids still to send.
  size_t queued() const;
  size_t max_queued() const;
  bool coalescing() const;  // catching up
  uint64_t coalesced_total() const;
  uint64_t delivered_total() const;

  // The type this subscriber should see for an event, or UNSPECIFIED if it
  // should not see it at all (the filter and the type selection).
  v1::EventType EffectiveType(const Event& event) const;

 private:
  struct CatchUp;

  // Whether the event can change what the reader holds: its domain matches
  // the filter before or after.
  bool Relevant(const Event& event) const;
  // Whether the reader asked for events of this (effective) type.
  bool Wants(v1::EventType type) const;
  void SwitchToCatchUp() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void MarkChanged(const Event& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Fills the catch-up batch with the next changes in revision order;
  // leaves catch-up mode when nothing is left.
  void Gather() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  size_t QueuedLocked() const ABSL_SHARED_LOCKS_REQUIRED(mutex_);

  const SubscriptionOptions options_;
  const LatestChanges* const latest_;
  mutable absl::Mutex mutex_;
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
  std::deque<QueuedEvent> queue_ ABSL_GUARDED_BY(mutex_);
  // Set while catching up (the queue is then empty).
  std::unique_ptr<CatchUp> catch_up_ ABSL_GUARDED_BY(mutex_);
  // The revision a finished catch-up has yet to hand the reader as a
  // bookmark (0: none); it goes before anything queued after it.
  uint64_t caught_up_ ABSL_GUARDED_BY(mutex_) = 0;
  std::function<void()> notify_ ABSL_GUARDED_BY(mutex_);  // armed
  std::function<void()> fired_ ABSL_GUARDED_BY(mutex_);   // to run
  bool notifying_ ABSL_GUARDED_BY(mutex_) = false;
  size_t max_queued_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t coalesced_total_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t delivered_total_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_SUBSCRIPTION_H_
