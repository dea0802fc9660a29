#include "agent/request_ids.h"

#include "absl/strings/str_cat.h"

namespace xenlet::agent {

absl::StatusOr<RequestIds::Claim> RequestIds::Reserve(const std::string& id,
                                                      const std::string& method,
                                                      absl::Time now) {
  absl::MutexLock lock(&mutex_);
  Expire(now);
  if (auto it = slots_.find(id); it != slots_.end()) {
    if (it->second->method != method) {
      return absl::InvalidArgumentError(absl::StrCat(
          "request_id: \"", id, "\" was used for ", it->second->method,
          " less than ", absl::FormatDuration(window_),
          " ago; a retry must repeat its method"));
    }
    return Claim{it->second, false};
  }
  auto slot = std::make_shared<Slot>();
  slot->method = method;
  slots_[id] = slot;
  order_.push_back({now, id});
  return Claim{slot, true};
}

void RequestIds::Expire(absl::Time now) {
  while (!order_.empty() &&
         (order_.front().first + window_ < now || order_.size() > capacity_)) {
    slots_.erase(order_.front().second);
    order_.pop_front();
  }
}

}  // namespace xenlet::agent
