#include "store/event_log.h"

#include <algorithm>
#include <cassert>

namespace xenlet::store {

EventLog::EventLog(size_t capacity)
    : capacity_(std::max<size_t>(1, capacity)) {}

void EventLog::Append(EventPtr event) {
  assert(event->revision == last_revision_ + 1);
  last_revision_ = event->revision;
  events_.push_back(std::move(event));
  if (events_.size() > capacity_) events_.pop_front();
}

void EventLog::ReplayAfter(uint64_t revision,
                           std::vector<EventPtr>* out) const {
  if (!CanReplayAfter(revision)) return;
  size_t skip = revision + 1 - first_revision();
  out->insert(out->end(), events_.begin() + skip, events_.end());
}

}  // namespace xenlet::store
