// The newest change of every domid, as the store committed it: what a watch
// stream that fell behind reads when it catches up (store/subscription.h),
// so that it keeps a set of changed domids rather than an event of its own
// per domain. One writer (the store's commit) and any number of readers.
//
// Each entry is a lean copy of the committed event: no previous state
// (catching up compares with what the stream's client holds, not with the
// state before) and forms of its own, the coalesced ones the catching-up
// streams send, made once and shared by all of them.
//
// Readers choose what to send by revision first, from an array they read
// without a lock (ForEachRevision), and take the lock only for the few
// changes they chose (GetAll): a hundred streams catching up over 32000
// domids then neither hold the writer back nor bounce the shared events'
// reference counts between cores.
#ifndef XENLET_STORE_LATEST_CHANGES_H_
#define XENLET_STORE_LATEST_CHANGES_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
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

  // The newest changes of domids, in the same order (null where none),
  // under one read lock.
  std::vector<EventPtr> GetAll(absl::Span<const uint32_t> domids) const;

  // Calls f(domid, revision) for each member of domids with the revision
  // of its newest change (0: none), read without a lock. A revision read
  // here may be older than the one Get then returns, never newer: Record
  // publishes the change before its revision.
  template <typename F>
  void ForEachRevision(const DomidSet& domids, F f) const {
    domids.ForEach([&](uint32_t domid) {
      f(domid, revisions_[domid].load(std::memory_order_acquire));
    });
  }

 private:
  mutable absl::Mutex mutex_;
  std::vector<EventPtr> latest_ ABSL_GUARDED_BY(mutex_);  // by domid
  std::unique_ptr<std::atomic<uint64_t>[]> revisions_;    // by domid
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_LATEST_CHANGES_H_
