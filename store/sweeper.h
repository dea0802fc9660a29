// Sweeps the hypervisor: one XEN_SYSCTL_getdomaininfolist hypercall over
// the whole domid range per sweep, into a buffer reused once nobody holds
// it any more (the model's snapshots keep the last one: store/volatile_view).
// Runs on its own thread, on a timer and on request; requests made while a
// sweep runs are coalesced into one more sweep (at most one running and one
// pending, however many requests arrive).
#ifndef XENLET_STORE_SWEEPER_H_
#define XENLET_STORE_SWEEPER_H_

#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "store/volatile_view.h"
#include "xen/hypervisor.h"

namespace xenlet::store {

enum class SweepCause { kTimer, kWatch, kResync };

struct SweepResult {
  // Sorted by domid; never changed once handed out: the sink may keep it.
  std::shared_ptr<const SweepBuffer> domains;
  absl::Time started;
  absl::Duration duration;
  SweepCause cause;
};

struct SweepStats {
  uint64_t sweeps = 0;
  uint64_t failures = 0;
  absl::Time last_time;
  absl::Duration last_duration;
  size_t last_domains = 0;
};

class Sweeper {
 public:
  using Sink = std::function<void(const SweepResult&)>;
  Sweeper(xen::Hypervisor* hypervisor, absl::Duration interval, Sink sink);
  ~Sweeper();

  void Start();
  void Stop();
  // Asks for a sweep soon; never waits for it.
  void Trigger(SweepCause cause);
  // Sweeps on the caller's thread (before Start, for the initial state).
  absl::Status SweepNow(SweepCause cause);

  SweepStats stats() const;
  // Whether a sweep has been asked for and not started yet.
  bool pending() const;

 private:
  void Loop();

  xen::Hypervisor* const hypervisor_;
  const absl::Duration interval_;
  const Sink sink_;
  // Buffers to sweep into; one is reused when the sweeper holds the only
  // reference. Only the sweeping thread uses the pool.
  std::shared_ptr<SweepBuffer> FreeBuffer();
  std::vector<std::shared_ptr<SweepBuffer>> pool_;
  absl::Mutex sweep_mutex_;  // one sweep at a time

  mutable absl::Mutex mutex_;
  bool pending_ ABSL_GUARDED_BY(mutex_) = false;
  SweepCause pending_cause_ ABSL_GUARDED_BY(mutex_) = SweepCause::kTimer;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  SweepStats stats_ ABSL_GUARDED_BY(mutex_);
  std::thread thread_;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_SWEEPER_H_
