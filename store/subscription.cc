#include "store/subscription.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace xenlet::store {

// Catch-up mode: which domids changed since the reader was last sent them,
// and what the reader holds at each, a bit per domid.
struct Subscription::CatchUp {
  // The newest revision handed to Enqueue: a change the store recorded
  // after it has not been seen here yet, and waits for its Enqueue.
  uint64_t offered = 0;
  DomidSet changed;  // to send
  // For a domid in `changed`: the reader holds a domain there (what it was
  // last sent, or what it held before falling behind).
  DomidSet held;
  // Left the reader's view (destroyed, or out of the filter) since last
  // sent: what it holds there is gone, even if a domain is there again.
  DomidSet left;
  DomidSet merged;                // changed more than once since last sent
  std::deque<QueuedEvent> batch;  // gathered, in revision order
  // Every changed domid's newest change is newer than `offered`.
  bool waiting_for_writer = false;
};

Subscription::Subscription(SubscriptionOptions options,
                           const LatestChanges* latest)
    : options_(std::move(options)), latest_(latest) {}

Subscription::~Subscription() = default;

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

bool Subscription::Relevant(const Event& event) const {
  const DomainFilter& filter = options_.filter;
  return filter.matches_everything() ||
         (event.domain && filter.Matches(*event.domain)) ||
         (event.previous && filter.Matches(*event.previous));
}

void Subscription::Enqueue(const EventPtr& event) {
  absl::MutexLock lock(&mutex_);
  if (closed_) return;
  if (catch_up_) {
    catch_up_->offered = event->revision;
    catch_up_->waiting_for_writer = false;
    // Irrelevant events are still offered: a change waiting for them may
    // now be sendable. One of a domid still to send is folded into it.
    if (Relevant(*event)) {
      ++delivered_total_;
      MarkChanged(*event);
    } else if (catch_up_->changed.contains(event->domid)) {
      catch_up_->merged.insert(event->domid);
      ++coalesced_total_;
    }
  } else {
    const v1::EventType type = EffectiveType(*event);
    if (type == v1::EVENT_TYPE_UNSPECIFIED) return;
    ++delivered_total_;
    if (queue_.size() < options_.capacity) {
      queue_.push_back({event, type, false});
    } else {
      SwitchToCatchUp();
      catch_up_->offered = event->revision;
      MarkChanged(*event);
    }
  }
  const size_t queued = QueuedLocked();
  max_queued_ = std::max(max_queued_, queued);
  if (notify_ && queued > 0) {
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

void Subscription::SwitchToCatchUp() {
  catch_up_ = std::make_unique<CatchUp>();
  std::deque<QueuedEvent> queued;
  queued.swap(queue_);
  for (const QueuedEvent& q : queued) MarkChanged(*q.event);
}

void Subscription::MarkChanged(const Event& event) {
  CatchUp& c = *catch_up_;
  const uint32_t domid = event.domid;
  const bool was_in =
      event.previous && options_.filter.Matches(*event.previous);
  const bool is_in = event.type != v1::EVENT_TYPE_DELETED && event.domain &&
                     options_.filter.Matches(*event.domain);
  if (c.changed.insert(domid)) {
    // Not pending: the reader holds the state before this change.
    if (was_in) {
      c.held.insert(domid);
    } else {
      c.held.erase(domid);
    }
  } else {
    c.merged.insert(domid);
    ++coalesced_total_;
  }
  if (event.type == v1::EVENT_TYPE_DELETED || (was_in && !is_in)) {
    c.left.insert(domid);
  }
}

void Subscription::Gather() {
  CatchUp& c = *catch_up_;
  // A batch of at least a few hundred: catching up over N domids scans
  // them once per batch.
  constexpr size_t kMinBatch = 256;
  const size_t limit = std::max(kMinBatch, options_.capacity);
  using Candidate = std::pair<uint64_t, uint32_t>;  // revision, domid
  while (c.batch.empty()) {
    // The `limit` oldest changes that were offered, chosen by revision
    // alone in a max-heap: revisions keep going up on the stream (the
    // resume point is the bookmark at the end, see QueuedEvent).
    std::vector<Candidate> heap;
    std::vector<uint32_t> missing;
    bool deferred = false;
    latest_->ForEachRevision(c.changed, [&](uint32_t domid, uint64_t revision) {
      if (revision == 0) {
        missing.push_back(domid);  // nothing recorded: nothing to send
        return;
      }
      if (revision > c.offered) {
        deferred = true;  // its Enqueue is on its way
        return;
      }
      if (heap.size() == limit) {
        if (revision >= heap.front().first) return;
        std::pop_heap(heap.begin(), heap.end());
        heap.pop_back();
      }
      heap.emplace_back(revision, domid);
      std::push_heap(heap.begin(), heap.end());
    });
    for (uint32_t domid : missing) c.changed.erase(domid);
    if (heap.empty()) {
      if (c.changed.empty()) {
        // Caught up: every change up to `offered` was sent. Back to the
        // queue, after a bookmark saying so.
        caught_up_ = c.offered;
        catch_up_.reset();
      } else if (deferred) {
        c.waiting_for_writer = true;
      }
      return;
    }
    std::sort_heap(heap.begin(), heap.end());
    std::vector<uint32_t> chosen;
    chosen.reserve(heap.size());
    for (const Candidate& candidate : heap) chosen.push_back(candidate.second);
    std::vector<EventPtr> changes = latest_->GetAll(chosen);
    for (EventPtr& change : changes) {
      // Offered revisions were all recorded before this began, so a change
      // newer than its scanned revision is newer than `offered` too: it is
      // left for its Enqueue (Record published its revision with it, so
      // the next scan defers it).
      if (!change || change->revision > c.offered) continue;
      const uint32_t domid = change->domid;
      c.changed.erase(domid);
      const bool present = change->type != v1::EVENT_TYPE_DELETED &&
                           options_.filter.Matches(*change->domain);
      const bool held = c.held.contains(domid);
      const bool left = c.left.erase(domid);
      const bool merged = c.merged.erase(domid);
      // What the reader must do with what it holds at the domid. Where
      // what it held left its view and a domain is there again, that is
      // a DELETED then an ADDED; one event goes out per domid, so it is
      // the ADDED (which replaces), or the DELETED for a reader that asked
      // for deletions and not additions.
      v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED;
      if (present && held && left) {
        type = Wants(v1::EVENT_TYPE_ADDED) || !Wants(v1::EVENT_TYPE_DELETED)
                   ? v1::EVENT_TYPE_ADDED
                   : v1::EVENT_TYPE_DELETED;
      } else if (present) {
        type = held ? v1::EVENT_TYPE_MODIFIED : v1::EVENT_TYPE_ADDED;
      } else if (held) {
        type = v1::EVENT_TYPE_DELETED;
      }
      if (type == v1::EVENT_TYPE_UNSPECIFIED || !Wants(type)) continue;
      c.batch.push_back({std::move(change), type, /*coalesced=*/true, merged});
    }
  }
}

std::optional<QueuedEvent> Subscription::Pop() {
  absl::MutexLock lock(&mutex_);
  if (catch_up_) {
    if (catch_up_->batch.empty() && !catch_up_->waiting_for_writer) Gather();
    if (catch_up_) {
      if (catch_up_->batch.empty()) return std::nullopt;
      QueuedEvent next = std::move(catch_up_->batch.front());
      catch_up_->batch.pop_front();
      return next;
    }
  }
  if (caught_up_ != 0) {
    QueuedEvent bookmark;
    bookmark.bookmark = std::exchange(caught_up_, 0);
    return bookmark;
  }
  if (queue_.empty()) return std::nullopt;
  QueuedEvent next = std::move(queue_.front());
  queue_.pop_front();
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

bool Subscription::Wants(v1::EventType type) const {
  return options_.event_types.empty() || options_.event_types.contains(type);
}

size_t Subscription::QueuedLocked() const {
  if (!catch_up_) return queue_.size() + (caught_up_ != 0 ? 1 : 0);
  // The batch, the domids still to send, and the bookmark once they are.
  return catch_up_->batch.size() +
         (catch_up_->waiting_for_writer ? 0 : catch_up_->changed.size()) +
         (catch_up_->changed.empty() ? 1 : 0);
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
  return catch_up_ != nullptr;
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
