#include "store/latest_changes.h"

#include <utility>

namespace xenlet::store {

LatestChanges::LatestChanges()
    : latest_(DomidSet::kBits),
      revisions_(new std::atomic<uint64_t>[DomidSet::kBits]) {
  for (size_t i = 0; i < DomidSet::kBits; ++i) revisions_[i] = 0;
}

void LatestChanges::Record(const Event& event) {
  if (event.domid >= DomidSet::kBits) return;
  auto lean = std::make_shared<Event>();
  lean->revision = event.revision;
  lean->type = event.type;
  lean->transition = event.transition;
  lean->domid = event.domid;
  lean->domain = event.domain;
  lean->detected = event.detected;
  lean->initiator = event.initiator;
  EventPtr old;
  {
    absl::MutexLock lock(&mutex_);
    old = std::exchange(latest_[event.domid], std::move(lean));
    // Within the lock: a reader that fetched this change under it then
    // scans this revision, never the one before (no spinning on it).
    revisions_[event.domid].store(event.revision, std::memory_order_release);
  }
  // The replaced change, if this was its last reference, is freed here,
  // outside the lock readers take.
}

EventPtr LatestChanges::Get(uint32_t domid) const {
  if (domid >= DomidSet::kBits) return nullptr;
  absl::ReaderMutexLock lock(&mutex_);
  return latest_[domid];
}

std::vector<EventPtr> LatestChanges::GetAll(
    absl::Span<const uint32_t> domids) const {
  std::vector<EventPtr> out;
  out.reserve(domids.size());
  absl::ReaderMutexLock lock(&mutex_);
  for (uint32_t domid : domids) {
    out.push_back(domid < DomidSet::kBits ? latest_[domid] : nullptr);
  }
  return out;
}

}  // namespace xenlet::store
