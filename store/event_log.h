// The last events, for resuming watches: a client that was at revision R
// gets every event after R, or is told that R has left the log. Bounded
// both in events and in (estimated) bytes: a flood of large domains must
// not hold the agent's memory hostage to a count chosen for small ones.
#ifndef XENLET_STORE_EVENT_LOG_H_
#define XENLET_STORE_EVENT_LOG_H_

#include <deque>
#include <vector>

#include "store/event.h"

namespace xenlet::store {

class EventLog {
 public:
  // At least one event is always kept, whatever max_bytes says.
  EventLog(size_t capacity, size_t max_bytes);

  // What an event in the log costs, estimated: the event itself, its
  // domain message in memory, and one encoded form of it (what a stream
  // adds when it sends it). The state before is the previous event's, or
  // the model's, and is not counted again.
  static size_t EstimatedBytes(const Event& event);

  // Revisions must follow each other (last_revision() + 1).
  void Append(EventPtr event);

  // The newest revision appended (0 before any).
  uint64_t last_revision() const { return last_revision_; }
  // The oldest revision still held, or last_revision() + 1 when empty.
  uint64_t first_revision() const {
    return last_revision_ + 1 - entries_.size();
  }

  // Whether every event after `revision` is still held.
  bool CanReplayAfter(uint64_t revision) const {
    return revision + 1 >= first_revision() && revision <= last_revision_;
  }
  // Appends the events after `revision` to out; requires CanReplayAfter.
  void ReplayAfter(uint64_t revision, std::vector<EventPtr>* out) const;

  size_t size() const { return entries_.size(); }
  size_t bytes() const { return bytes_; }
  size_t capacity() const { return capacity_; }
  size_t max_bytes() const { return max_bytes_; }

 private:
  struct Entry {
    EventPtr event;
    size_t bytes;
  };

  const size_t capacity_;
  const size_t max_bytes_;
  std::deque<Entry> entries_;
  size_t bytes_ = 0;
  uint64_t last_revision_ = 0;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_EVENT_LOG_H_
