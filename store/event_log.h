// The last N events, for resuming watches: a client that was at revision R
// gets every event after R, or is told that R has left the log.
#ifndef XENLET_STORE_EVENT_LOG_H_
#define XENLET_STORE_EVENT_LOG_H_

#include <deque>
#include <vector>

#include "store/event.h"

namespace xenlet::store {

class EventLog {
 public:
  explicit EventLog(size_t capacity);

  // Revisions must follow each other (last_revision() + 1).
  void Append(EventPtr event);

  // The newest revision appended (0 before any).
  uint64_t last_revision() const { return last_revision_; }
  // The oldest revision still held, or last_revision() + 1 when empty.
  uint64_t first_revision() const {
    return last_revision_ + 1 - events_.size();
  }

  // Whether every event after `revision` is still held.
  bool CanReplayAfter(uint64_t revision) const {
    return revision + 1 >= first_revision() && revision <= last_revision_;
  }
  // Appends the events after `revision` to out; requires CanReplayAfter.
  void ReplayAfter(uint64_t revision, std::vector<EventPtr>* out) const;

  size_t size() const { return events_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  std::deque<EventPtr> events_;
  uint64_t last_revision_ = 0;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_EVENT_LOG_H_
