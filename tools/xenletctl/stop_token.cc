#include "tools/xenletctl/stop_token.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <thread>

#include "grpcpp/client_context.h"

namespace xenlet::ctl {

void StopToken::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

bool StopToken::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

bool StopToken::Attach(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return false;
  context_ = context;
  return true;
}

void StopToken::Detach() {
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
}

bool StopToken::WaitFor(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopped_), timeout);
  return stopped_;
}

struct SignalStopper::Impl {
  sigset_t set;
  sigset_t old;
  std::atomic<bool> done{false};
  std::thread thread;
};

SignalStopper::SignalStopper(StopToken& token)
    : impl_(std::make_unique<Impl>()) {
  sigemptyset(&impl_->set);
  sigaddset(&impl_->set, SIGINT);
  sigaddset(&impl_->set, SIGTERM);
  // Threads inherit the mask: gRPC's threads, started later, never see them.
  pthread_sigmask(SIG_BLOCK, &impl_->set, &impl_->old);
  impl_->thread = std::thread([impl = impl_.get(), &token] {
    // A timed wait so the destructor can end this thread without a signal.
    const timespec tick = {0, 100 * 1000 * 1000};
    while (!impl->done.load()) {
      if (sigtimedwait(&impl->set, nullptr, &tick) > 0) token.Stop();
    }
  });
}

SignalStopper::~SignalStopper() {
  impl_->done.store(true);
  impl_->thread.join();
  pthread_sigmask(SIG_SETMASK, &impl_->old, nullptr);
}

}  // namespace xenlet::ctl
