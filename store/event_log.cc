#include "store/event_log.h"

#include <algorithm>
#include <cassert>

namespace xenlet::store {

EventLog::EventLog(size_t capacity, size_t max_bytes)
    : capacity_(std::max<size_t>(1, capacity)), max_bytes_(max_bytes) {}

size_t EventLog::EstimatedBytes(const Event& event) {
  // make_shared's control block and the allocator's headers.
  constexpr size_t kOverhead = 64;
  size_t bytes = sizeof(Event) + kOverhead + event.initiator.capacity();
  if (event.domain) {
    bytes += event.domain->SpaceUsedLong();
    bytes += event.domain->ByteSizeLong() + kOverhead;  // one encoded form
  }
  return bytes;
}

void EventLog::Append(EventPtr event) {
  assert(event->revision == last_revision_ + 1);
  last_revision_ = event->revision;
  const size_t bytes = EstimatedBytes(*event);
  entries_.push_back({std::move(event), bytes});
  bytes_ += bytes;
  while (entries_.size() > 1 &&
         (entries_.size() > capacity_ || bytes_ > max_bytes_)) {
    bytes_ -= entries_.front().bytes;
    entries_.pop_front();
  }
}

void EventLog::ReplayAfter(uint64_t revision,
                           std::vector<EventPtr>* out) const {
  if (!CanReplayAfter(revision)) return;
  size_t skip = revision + 1 - first_revision();
  out->reserve(out->size() + entries_.size() - skip);
  for (auto it = entries_.begin() + skip; it != entries_.end(); ++it) {
    out->push_back(it->event);
  }
}

}  // namespace xenlet::store
