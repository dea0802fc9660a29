// Keeps the snapshots that paged listings are reading, so that every page
// of one ListDomains walk comes from the same snapshot. Bounded in count,
// in age and in the domains the retained snapshots hold together (each
// pins its sweep's buffer, ~100 bytes a domain, so 64 listings of 32000
// domains taken at 64 sweeps would otherwise pin ~200 MB): a walk that
// pauses too long, or is pushed out by newer ones, must start again.
#ifndef XENLET_AGENT_SNAPSHOT_CACHE_H_
#define XENLET_AGENT_SNAPSHOT_CACHE_H_

#include <deque>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "store/domain_store.h"

namespace xenlet::agent {

class SnapshotCache {
 public:
  SnapshotCache(size_t max_entries, absl::Duration max_age, size_t max_domains)
      : max_entries_(max_entries),
        max_age_(max_age),
        max_domains_(max_domains) {}

  void Retain(std::shared_ptr<const store::Snapshot> snapshot);
  // Null if that revision's snapshot is no longer retained.
  std::shared_ptr<const store::Snapshot> Find(uint64_t revision);

 private:
  struct Entry {
    std::shared_ptr<const store::Snapshot> snapshot;
    absl::Time retained;
  };
  void Expire(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const size_t max_entries_;
  const absl::Duration max_age_;
  const size_t max_domains_;
  absl::Mutex mutex_;
  std::deque<Entry> entries_ ABSL_GUARDED_BY(mutex_);
  size_t domains_ ABSL_GUARDED_BY(mutex_) = 0;  // in entries_, summed
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_SNAPSHOT_CACHE_H_
