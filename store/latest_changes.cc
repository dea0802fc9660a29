#include "store/latest_changes.h"

#include <memory>
#include <utility>

namespace xenlet::store {

LatestChanges::LatestChanges() : latest_(DomidSet::kBits) {}

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
  }
  // The replaced change, if this was its last reference, is freed here,
  // outside the lock readers take.
}

EventPtr LatestChanges::Get(uint32_t domid) const {
  if (domid >= DomidSet::kBits) return nullptr;
  absl::ReaderMutexLock lock(&mutex_);
  return latest_[domid];
}

}  // namespace xenlet::store
