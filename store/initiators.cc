#include "store/initiators.h"

#include <algorithm>

namespace xenlet::store {

uint64_t Initiators::Expect(uint32_t domid, const std::string& uuid,
                            std::vector<v1::Transition> transitions,
                            std::string who, absl::Time until,
                            bool in_sequence) {
  absl::MutexLock lock(&mutex_);
  const uint64_t handle = next_handle_++;
  expected_.push_back({handle, domid, uuid, std::move(transitions),
                       std::move(who), until, in_sequence});
  return handle;
}

void Initiators::Withdraw(uint64_t handle) {
  absl::MutexLock lock(&mutex_);
  std::erase_if(expected_,
                [handle](const Expected& e) { return e.handle == handle; });
}

std::string Initiators::Take(uint32_t domid, const std::string& uuid,
                             v1::Transition transition, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  std::erase_if(expected_, [now](const Expected& e) { return e.until < now; });
  for (auto it = expected_.begin(); it != expected_.end(); ++it) {
    if (it->domid != domid || it->uuid != uuid) continue;
    auto t =
        std::find(it->transitions.begin(), it->transitions.end(), transition);
    if (t == it->transitions.end()) continue;
    std::string who = it->who;
    if (it->in_sequence) {
      // A later step seen means the earlier ones were missed or skipped
      // (a domain freed at once is never seen dying).
      it->transitions.erase(it->transitions.begin(), t + 1);
    } else {
      it->transitions.clear();
    }
    if (it->transitions.empty()) expected_.erase(it);
    return who;
  }
  return "";
}

size_t Initiators::pending() const {
  absl::MutexLock lock(&mutex_);
  return expected_.size();
}

}  // namespace xenlet::store
