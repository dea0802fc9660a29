// A Hypervisor decorator that fails or delays the sweep's hypercall on
// demand, the faults a real host shows under load or during a migration:
// EAGAIN, EINTR, EFAULT, ENOMEM from XEN_SYSCTL_getdomaininfolist, and
// calls that take seconds or hang until released. Every other call passes
// through.
#ifndef XENLET_XEN_TESTING_FAULTY_HYPERVISOR_H_
#define XENLET_XEN_TESTING_FAULTY_HYPERVISOR_H_

#include <deque>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "xen/errno_status.h"
#include "xen/testing/forwarding.h"

namespace xenlet::xen::testing {

class FaultyHypervisor : public ForwardingHypervisor {
 public:
  using ForwardingHypervisor::ForwardingHypervisor;

  // The next calls of GetDomainInfoList fail with these errnos, in order,
  // as the real implementation reports them; then calls pass again.
  void FailListWith(std::vector<int> errnos) {
    absl::MutexLock lock(&mutex_);
    errnos_.insert(errnos_.end(), errnos.begin(), errnos.end());
  }
  // Every GetDomainInfoList takes this much longer (zero: none).
  void DelayList(absl::Duration delay) {
    absl::MutexLock lock(&mutex_);
    delay_ = delay;
  }
  // Until ReleaseList, every GetDomainInfoList waits inside the call: a
  // hypercall that hangs, for as long as the test wants.
  void HoldList() {
    absl::MutexLock lock(&mutex_);
    held_ = true;
  }
  void ReleaseList() {
    absl::MutexLock lock(&mutex_);
    held_ = false;
  }
  // Waits (bounded) until a call is held; false on timeout.
  bool WaitUntilListHeld(absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&mutex_);
    auto waiting = [this] {
      mutex_.AssertHeld();  // Await calls it with the lock held
      return waiting_ > 0;
    };
    return mutex_.AwaitWithTimeout(absl::Condition(&waiting), timeout);
  }
  // Calls of GetDomainInfoList that reached this decorator.
  uint64_t list_calls() const {
    absl::MutexLock lock(&mutex_);
    return list_calls_;
  }

  absl::Status GetDomainInfoList(Domid first_domid, uint32_t max_domains,
                                 std::vector<DomainInfo>* out) override {
    int err = 0;
    absl::Duration delay;
    {
      absl::MutexLock lock(&mutex_);
      ++list_calls_;
      if (!errnos_.empty()) {
        err = errnos_.front();
        errnos_.pop_front();
      }
      delay = delay_;
      ++waiting_;
      auto released = [this] {
        mutex_.AssertHeld();  // Await calls it with the lock held
        return !held_;
      };
      mutex_.Await(absl::Condition(&released));
      --waiting_;
    }
    if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
    if (err != 0) {
      return ErrnoToStatus(err, "XEN_SYSCTL_getdomaininfolist (injected)");
    }
    return ForwardingHypervisor::GetDomainInfoList(first_domid, max_domains,
                                                   out);
  }

 private:
  mutable absl::Mutex mutex_;
  std::deque<int> errnos_ ABSL_GUARDED_BY(mutex_);
  absl::Duration delay_ ABSL_GUARDED_BY(mutex_);
  uint64_t list_calls_ ABSL_GUARDED_BY(mutex_) = 0;
  bool held_ ABSL_GUARDED_BY(mutex_) = false;
  int waiting_ ABSL_GUARDED_BY(mutex_) = 0;  // calls held right now
};

}  // namespace xenlet::xen::testing

#endif  // XENLET_XEN_TESTING_FAULTY_HYPERVISOR_H_
