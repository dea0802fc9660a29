// One watcher's view of the event stream: filtered, bounded, and never a
// reason for the writer to wait. Its queue holds up to `capacity` events;
// when a slow reader lets it fill, it switches to per-domain coalescing
// (only the newest state of each domain is kept, marked coalesced), so its
// memory stays bounded by the number of domains and the reader still
// converges without a resync. It switches back once drained.
#ifndef XENLET_STORE_SUBSCRIPTION_H_
#define XENLET_STORE_SUBSCRIPTION_H_

#include <deque>
#include <functional>
#include <optional>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "store/domain_filter.h"
#include "store/event.h"

namespace xenlet::store {

struct SubscriptionOptions {
  DomainFilter filter;
  // Effective event types to deliver (ADDED, MODIFIED, DELETED); empty: all.
  absl::flat_hash_set<int> event_types;
  size_t capacity = 1024;
};

// An event as this subscriber sees it: a domain leaving the filter is
// DELETED for it, one entering is ADDED.
struct QueuedEvent {
  EventPtr event;
  v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED;
  bool coalesced = false;
};

class Subscription {
 public:
  explicit Subscription(SubscriptionOptions options);

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

  size_t queued() const;
  size_t max_queued() const;
  bool coalescing() const;
  uint64_t coalesced_total() const;
  uint64_t delivered_total() const;

  // The type this subscriber should see for an event, or UNSPECIFIED if it
  // should not see it at all (the filter and the type selection).
  v1::EventType EffectiveType(const Event& event) const;

 private:
  void Push(QueuedEvent queued) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void SwitchToCoalescing() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Coalesce(QueuedEvent queued) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  size_t QueuedLocked() const ABSL_SHARED_LOCKS_REQUIRED(mutex_);

  const SubscriptionOptions options_;
  mutable absl::Mutex mutex_;
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
  std::deque<QueuedEvent> queue_ ABSL_GUARDED_BY(mutex_);
  // Coalescing mode: the newest event per domid, popped in revision order.
  bool coalescing_ ABSL_GUARDED_BY(mutex_) = false;
  absl::flat_hash_map<uint32_t, QueuedEvent> latest_ ABSL_GUARDED_BY(mutex_);
  // A B-tree: ~16 bytes an entry where a std::map node costs ~64, and a
  // stream that fell behind holds one per domain.
  absl::btree_map<uint64_t, uint32_t> order_ ABSL_GUARDED_BY(mutex_);
  std::function<void()> notify_ ABSL_GUARDED_BY(mutex_);  // armed
  std::function<void()> fired_ ABSL_GUARDED_BY(mutex_);   // to run
  bool notifying_ ABSL_GUARDED_BY(mutex_) = false;
  size_t max_queued_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t coalesced_total_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t delivered_total_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_SUBSCRIPTION_H_
