// The newest change of every domid, as the store committed it: what a watch
// stream that fell behind reads when it catches up (store/subscription.h),
// so that it keeps a set of changed domids rather than an event of its own
// per domain. One writer (the store's commit) and any number of readers.
//
// Each entry is a lean copy of the committed event: no previous state
// (catching up compares with what the stream's client holds, not with the
// state before) and forms of its own, the coalesced ones the catching-up
// streams send, made once and shared by all of them.
#ifndef XENLET_STORE_LATEST_CHANGES_H_
#define XENLET_STORE_LATEST_CHANGES_H_

#include <vector>

#include "absl/synchronization/mutex.h"
#include "store/domid_set.h"
#include "store/event.h"

namespace xenlet::store {

class LatestChanges {
 public:
  LatestChanges();

  // Writer: records event as its domid's newest change. Events come in
  // revision order.
  void Record(const Event& event);

  // The newest change of domid, or null if it never had one.
  EventPtr Get(uint32_t domid) const;

  // Calls f(domid, change) for each member of domids, under one read lock
  // (f must not call back into this object). change is null for a domid
  // that never had one.
  template <typename F>
  void ForEachOf(const DomidSet& domids, F f) const {
    absl::ReaderMutexLock lock(&mutex_);
    domids.ForEach([&](uint32_t domid) { f(domid, latest_[domid]); });
  }

 private:
  mutable absl::Mutex mutex_;
  std::vector<EventPtr> latest_ ABSL_GUARDED_BY(mutex_);  // by domid
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_LATEST_CHANGES_H_
