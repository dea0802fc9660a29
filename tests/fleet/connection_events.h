// For tests: what a Connection's listener (on_connection_change) was told,
// in order, and a wait for it.
#ifndef XENLET_TESTS_FLEET_CONNECTION_EVENTS_H_
#define XENLET_TESTS_FLEET_CONNECTION_EVENTS_H_

#include <cstddef>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace xenlet::testing {

class ConnectionEvents {
 public:
  // For ConnectionOptions::on_connection_change; `this` must outlive the
  // connection.
  std::function<void(bool)> Listener() {
    return [this](bool up) {
      absl::MutexLock lock(&mu_);
      seen_.push_back(up);
    };
  }

  // Waits until the listener has been called `count` times, or the
  // timeout; returns what it was told.
  std::vector<bool> WaitFor(size_t count, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return seen_.size() >= count;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return seen_;
  }

 private:
  absl::Mutex mu_;
  std::vector<bool> seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xenlet::testing

#endif  // XENLET_TESTS_FLEET_CONNECTION_EVENTS_H_
