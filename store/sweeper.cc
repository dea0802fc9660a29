#include "store/sweeper.h"

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
  std::shared_ptr<SweepBuffer> buffer = FreeBuffer();
  absl::Status status = hypervisor_->GetAllDomains(buffer.get());
  const absl::Duration duration = absl::Now() - started;
  {
    absl::MutexLock lock(&mutex_);
    if (status.ok()) {
      ++stats_.sweeps;
      stats_.last_time = started;
      stats_.last_duration = duration;
      stats_.last_domains = buffer->size();
    } else {
      ++stats_.failures;
    }
  }
  if (!status.ok()) return status;
  sink_({std::move(buffer), started, duration, cause});
  return absl::OkStatus();
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
      auto ready = [this] { return stop_ || pending_; };
      mutex_.AwaitWithDeadline(absl::Condition(&ready), next);
      if (stop_) return;
      cause = pending_ ? pending_cause_ : SweepCause::kTimer;
      pending_ = false;
    }
    if (absl::Status s = SweepNow(cause); !s.ok()) {
      LogWarning("sweep_failed", {{"error", std::string(s.message())}});
    }
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
