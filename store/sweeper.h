// Sweeps the hypervisor: one XEN_SYSCTL_getdomaininfolist hypercall over
// the whole domid range per sweep, into a buffer reused once nobody holds
// it any more (the model's snapshots keep the last one: store/volatile_view).
// Runs on its own thread, on a timer and on request; requests made while a
// sweep runs are coalesced into one more sweep (at most one running and one
// pending, however many requests arrive).
//
// A failed hypercall is retried at once, a bounded number of times; a sweep
// that still fails changes nothing (the model keeps serving the last good
// one, and no domain is dropped for it) and the next one comes on the timer
// as usual. Failures are logged once per burst (the first, then the
// recovery), not once per sweep, and the model is reported stale while they
// last (Freshness).
#ifndef XENLET_STORE_SWEEPER_H_
#define XENLET_STORE_SWEEPER_H_

#include <functional>
#include <memory>
#include <string>
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
  uint64_t sweeps = 0;    // that succeeded
  uint64_t failures = 0;  // failed hypercalls, retries included
  // The last good sweep: when it started, how long it took, what it found.
  absl::Time last_time;
  absl::Duration last_duration;
  size_t last_domains = 0;
  // Sweeps that failed (after their retries) since the last good one, the
  // start of the first of them, and the last error.
  uint64_t consecutive_failures = 0;
  absl::Time failing_since = absl::InfinitePast();
  std::string last_error;
  // The start of the sweep under way, if one is (a hypercall that takes
  // seconds shows here).
  absl::Time running_since = absl::InfinitePast();
};

// Whether the model may be missing what the hypervisor knows: the last
// sweep failed, or kStaleIntervals intervals have passed since the last
// good sweep ended (a hypercall that hangs, or sweeps that each take longer
// than two intervals). `since` is when it became so: the first failure, or
// the moment the last good sweep grew too old.
struct Freshness {
  bool stale = false;
  absl::Time since = absl::InfinitePast();
};
inline constexpr int kStaleIntervals = 3;
Freshness SweepFreshness(const SweepStats& stats, absl::Duration interval,
                         absl::Time now);

// How often a failed getdomaininfolist is tried again within one sweep, and
// the pause before the first retry (doubled for each next one).
inline constexpr int kSweepAttempts = 3;
inline constexpr absl::Duration kSweepRetryBackoff = absl::Milliseconds(2);

class Sweeper {
 public:
  using Sink = std::function<void(const SweepResult&)>;
  Sweeper(xen::Hypervisor* hypervisor, absl::Duration interval, Sink sink);
  ~Sweeper();

  void Start();
  void Stop();
  // Asks for a sweep soon; never waits for it.
  void Trigger(SweepCause cause);
  // Sweeps on the caller's thread (before Start, for the initial state),
  // retrying a failed hypercall up to kSweepAttempts times in all.
  absl::Status SweepNow(SweepCause cause);

  SweepStats stats() const;
  // Whether a sweep has been asked for and not started yet.
  bool pending() const;

 private:
  void Loop();
  // Counts and logs the outcome of one sweep (its retries included).
  void Record(const absl::Status& status, absl::Time started,
              absl::Duration duration, size_t domains);

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
  bool last_slow_ ABSL_GUARDED_BY(mutex_) = false;  // took over an interval
  std::thread thread_;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_SWEEPER_H_
