#include "agent/snapshot_cache.h"

#include <algorithm>

namespace xenlet::agent {

// The newest entry stays even when it alone is over max_domains_: the walk
// that retained it can go on.
void SnapshotCache::Expire(absl::Time now) {
  while (!entries_.empty() &&
         (entries_.size() > max_entries_ ||
          (domains_ > max_domains_ && entries_.size() > 1) ||
          now - entries_.front().retained > max_age_)) {
    domains_ -= entries_.front().snapshot->domains.size();
    entries_.pop_front();
  }
}

void SnapshotCache::Retain(std::shared_ptr<const store::Snapshot> snapshot) {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = absl::Now();
  auto same = std::find_if(entries_.begin(), entries_.end(), [&](auto& e) {
    return e.snapshot->revision == snapshot->revision;
  });
  if (same != entries_.end()) {
    domains_ -= same->snapshot->domains.size();
    entries_.erase(same);
  }
  domains_ += snapshot->domains.size();
  entries_.push_back({std::move(snapshot), now});
  Expire(now);
}

std::shared_ptr<const store::Snapshot> SnapshotCache::Find(uint64_t revision) {
  absl::MutexLock lock(&mutex_);
  Expire(absl::Now());
  for (const Entry& entry : entries_) {
    if (entry.snapshot->revision == revision) return entry.snapshot;
  }
  return nullptr;
}

}  // namespace xenlet::agent
