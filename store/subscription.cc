#include "store/subscription.h"

#include <algorithm>

namespace xenlet::store {

Subscription::Subscription(SubscriptionOptions options)
    : options_(std::move(options)) {}

v1::EventType Subscription::EffectiveType(const Event& event) const {
  const DomainFilter& filter = options_.filter;
  v1::EventType type = event.type;
  if (!filter.matches_everything()) {
    bool now = event.domain && filter.Matches(*event.domain);
    bool before = event.previous && filter.Matches(*event.previous);
    switch (event.type) {
      case v1::EVENT_TYPE_ADDED:
        if (!now) return v1::EVENT_TYPE_UNSPECIFIED;
        break;
      case v1::EVENT_TYPE_DELETED:
        if (!now && !before) return v1::EVENT_TYPE_UNSPECIFIED;
        break;
      case v1::EVENT_TYPE_MODIFIED:
        if (now && !before) {
          type = v1::EVENT_TYPE_ADDED;
        } else if (!now && before) {
          type = v1::EVENT_TYPE_DELETED;
        } else if (!now) {
          return v1::EVENT_TYPE_UNSPECIFIED;
        }
        break;
      default:
        break;
    }
  }
  if (!options_.event_types.empty() && !options_.event_types.contains(type)) {
    return v1::EVENT_TYPE_UNSPECIFIED;
  }
  return type;
}

void Subscription::Enqueue(const EventPtr& event) {
  v1::EventType type = EffectiveType(*event);
  if (type == v1::EVENT_TYPE_UNSPECIFIED) return;
  absl::MutexLock lock(&mutex_);
  if (closed_) return;
  ++delivered_total_;
  Push({event, type, false});
  max_queued_ = std::max(max_queued_, QueuedLocked());
  if (notify_) {
    fired_ = std::move(notify_);
    notify_ = nullptr;
    notifying_ = true;
  }
}

void Subscription::FlushNotify() {
  std::function<void()> fired;
  {
    absl::MutexLock lock(&mutex_);
    if (!fired_) return;
    fired.swap(fired_);
    if (closed_) {
      notifying_ = false;
      return;
    }
  }
  fired();
  absl::MutexLock lock(&mutex_);
  notifying_ = false;
}

void Subscription::Push(QueuedEvent queued) {
  if (coalescing_) {
    Coalesce(std::move(queued));
    return;
  }
  if (queue_.size() >= options_.capacity) {
    SwitchToCoalescing();
    Coalesce(std::move(queued));
    return;
  }
  queue_.push_back(std::move(queued));
}

void Subscription::SwitchToCoalescing() {
  coalescing_ = true;
  std::deque<QueuedEvent> pending;
  pending.swap(queue_);
  for (QueuedEvent& queued : pending) Coalesce(std::move(queued));
}

// Merges an event into the newest pending one of its domid. The merged
// event carries the newer state and revision; DELETED wins (the reader must
// drop whatever it holds at that domid), otherwise it stays ADDED if the
// reader had not been told of the domain before.
void Subscription::Coalesce(QueuedEvent queued) {
  const uint32_t domid = queued.event->domid;
  auto it = latest_.find(domid);
  if (it == latest_.end()) {
    order_.emplace(queued.event->revision, domid);
    latest_.emplace(domid, std::move(queued));
    return;
  }
  QueuedEvent& pending = it->second;
  order_.erase(pending.event->revision);
  v1::EventType type = queued.type;
  if (type != v1::EVENT_TYPE_DELETED && pending.type == v1::EVENT_TYPE_ADDED) {
    type = v1::EVENT_TYPE_ADDED;
  }
  pending = {std::move(queued.event), type, true};
  ++coalesced_total_;
  order_.emplace(pending.event->revision, domid);
}

std::optional<QueuedEvent> Subscription::Pop() {
  absl::MutexLock lock(&mutex_);
  if (!coalescing_) {
    if (queue_.empty()) return std::nullopt;
    QueuedEvent next = std::move(queue_.front());
    queue_.pop_front();
    return next;
  }
  if (order_.empty()) {
    coalescing_ = false;
    return std::nullopt;
  }
  auto first = order_.begin();
  auto it = latest_.find(first->second);
  QueuedEvent next = std::move(it->second);
  latest_.erase(it);
  order_.erase(first);
  if (order_.empty()) coalescing_ = false;
  return next;
}

bool Subscription::WaitForEvents(std::function<void()> notify) {
  absl::MutexLock lock(&mutex_);
  if (QueuedLocked() > 0) return false;
  if (closed_) return true;  // nothing will come
  notify_ = std::move(notify);
  return true;
}

void Subscription::Close() {
  absl::MutexLock lock(&mutex_);
  closed_ = true;
  notify_ = nullptr;
  // A notification fired but not yet run is run (or dropped) by the
  // writer's FlushNotify; wait for that.
  mutex_.Await(absl::Condition(
      +[](bool* notifying) { return !*notifying; }, &notifying_));
}

size_t Subscription::QueuedLocked() const {
  return coalescing_ ? order_.size() : queue_.size();
}

size_t Subscription::queued() const {
  absl::MutexLock lock(&mutex_);
  return QueuedLocked();
}

size_t Subscription::max_queued() const {
  absl::MutexLock lock(&mutex_);
  return max_queued_;
}

bool Subscription::coalescing() const {
  absl::MutexLock lock(&mutex_);
  return coalescing_;
}

uint64_t Subscription::coalesced_total() const {
  absl::MutexLock lock(&mutex_);
  return coalesced_total_;
}

uint64_t Subscription::delivered_total() const {
  absl::MutexLock lock(&mutex_);
  return delivered_total_;
}

}  // namespace xenlet::store
