#include "store/sweeper.h"

#include "absl/time/clock.h"
#include "common/log.h"

namespace xenlet::store {

Sweeper::Sweeper(xen::Hypervisor* hypervisor, absl::Duration interval,
                 Sink sink)
    : hypervisor_(hypervisor), interval_(interval), sink_(std::move(sink)) {}

Sweeper::~Sweeper() { Stop(); }

void Sweeper::Start() {
  absl::MutexLock lock(&mutex_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Sweeper::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Sweeper::Trigger(SweepCause cause) {
  absl::MutexLock lock(&mutex_);
  // A watch or resync reason wins over the timer for the pending sweep.
  if (!pending_ || cause != SweepCause::kTimer) pending_cause_ = cause;
  pending_ = true;
}

absl::Status Sweeper::SweepNow(SweepCause cause) {
  absl::MutexLock sweep_lock(&sweep_mutex_);
  const absl::Time started = absl::Now();
  {
    absl::MutexLock lock(&mutex_);
    stats_.running_since = started;
  }
  std::shared_ptr<SweepBuffer> buffer = FreeBuffer();
  absl::Status status;
  absl::Duration backoff = kSweepRetryBackoff;
  for (int attempt = 1; attempt <= kSweepAttempts; ++attempt) {
    status = hypervisor_->GetAllDomains(buffer.get());
    if (status.ok()) break;
    {
      absl::MutexLock lock(&mutex_);
      ++stats_.failures;
    }
    // Every errno Xen gives here is worth one more try (EAGAIN and EINTR
    // mean exactly that; EFAULT and ENOMEM come from bounce buffers that the
    // next call allocates afresh), but only a few, close together: the
    // timer tries again anyway.
    if (attempt < kSweepAttempts) {
      absl::SleepFor(backoff);
      backoff *= 2;
    }
  }
  const absl::Duration duration = absl::Now() - started;
  Record(status, started, duration, status.ok() ? buffer->size() : 0);
  if (!status.ok()) return status;
  sink_({std::move(buffer), started, duration, cause});
  return absl::OkStatus();
}

void Sweeper::Record(const absl::Status& status, absl::Time started,
                     absl::Duration duration, size_t domains) {
  uint64_t failed = 0;
  absl::Time failing_since;
  bool was_slow, slow = duration > interval_;
  {
    absl::MutexLock lock(&mutex_);
    stats_.running_since = absl::InfinitePast();
    was_slow = last_slow_;
    last_slow_ = slow;
    if (!status.ok()) {
      if (stats_.consecutive_failures++ == 0) stats_.failing_since = started;
      stats_.last_error = std::string(status.message());
      failed = stats_.consecutive_failures;
    } else {
      failed = stats_.consecutive_failures;
      failing_since = stats_.failing_since;
      ++stats_.sweeps;
      stats_.last_time = started;
      stats_.last_duration = duration;
      stats_.last_domains = domains;
      stats_.consecutive_failures = 0;
      stats_.failing_since = absl::InfinitePast();
    }
  }
  // Once per burst: its first failure, then its end.
  if (!status.ok() && failed == 1) {
    LogWarning("sweep_failing",
               {{"error", std::string(status.message())},
                {"attempts", kSweepAttempts},
                {"action",
                 "serving the last good sweep; trying again every interval"}});
  } else if (status.ok() && failed > 0) {
    LogInfo("sweep_recovered",
            {{"failed_sweeps", failed},
             {"seconds", absl::ToDoubleSeconds(started - failing_since)}});
  }
  if (slow && !was_slow) {
    LogWarning("sweep_slow",
               {{"seconds", absl::ToDoubleSeconds(duration)},
                {"interval_seconds", absl::ToDoubleSeconds(interval_)}});
  } else if (!slow && was_slow) {
    LogInfo("sweep_speed_recovered",
            {{"seconds", absl::ToDoubleSeconds(duration)}});
  }
}

Freshness SweepFreshness(const SweepStats& stats, absl::Duration interval,
                         absl::Time now) {
  Freshness out;
  if (stats.consecutive_failures > 0) {
    out.stale = true;
    out.since = stats.failing_since;
    return out;
  }
  // Never swept: nothing to be stale about yet (the agent does not serve
  // before its first sweep).
  if (stats.sweeps == 0) return out;
  // From its end: the timer's next sweep starts an interval after it.
  const absl::Time too_old =
      stats.last_time + stats.last_duration + kStaleIntervals * interval;
  if (now >= too_old) {
    out.stale = true;
    out.since = too_old;
  }
  return out;
}

std::shared_ptr<SweepBuffer> Sweeper::FreeBuffer() {
  for (const auto& buffer : pool_) {
    if (buffer.use_count() == 1) return buffer;
  }
  // Readers hold every pooled one (paged listings keep their snapshot): a
  // new buffer, pooled while the pool is small.
  constexpr size_t kMaxPooled = 4;
  auto buffer = std::make_shared<SweepBuffer>();
  if (pool_.size() < kMaxPooled) pool_.push_back(buffer);
  return buffer;
}

void Sweeper::Loop() {
  absl::Time next = absl::Now() + interval_;
  while (true) {
    SweepCause cause;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this] {
        mutex_.AssertHeld();  // Await calls it with the lock held
        return stop_ || pending_;
      };
      mutex_.AwaitWithDeadline(absl::Condition(&ready), next);
      if (stop_) return;
      cause = pending_ ? pending_cause_ : SweepCause::kTimer;
      pending_ = false;
    }
    // A failure is counted and logged (once per burst) by SweepNow.
    SweepNow(cause).IgnoreError();
    next = absl::Now() + interval_;
  }
}

bool Sweeper::pending() const {
  absl::MutexLock lock(&mutex_);
  return pending_;
}

SweepStats Sweeper::stats() const {
  absl::MutexLock lock(&mutex_);
  return stats_;
}

}  // namespace xenlet::store
