// Ends a long-running call from another thread: a signal or a test sets it,
// and the call in flight is cancelled so a blocked stream read returns.
#ifndef XENLET_TOOLS_XENLETCTL_STOP_TOKEN_H_
#define XENLET_TOOLS_XENLETCTL_STOP_TOKEN_H_

#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace grpc {
class ClientContext;
}

namespace xenlet::ctl {

class StopToken {
 public:
  // Thread-safe; cancels the attached call, if any.
  void Stop();
  bool stopped() const;

  // Makes `context` cancellable by Stop() until Detach(). Returns false (and
  // attaches nothing) if already stopped.
  bool Attach(grpc::ClientContext* context);
  void Detach();

  // Waits up to `timeout` (backoff between reconnects); true if stopped.
  bool WaitFor(absl::Duration timeout);

 private:
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// While alive, SIGINT and SIGTERM call token.Stop() instead of killing the
// process. Construct before the first gRPC call: the signals are blocked in
// every thread started afterwards and taken by one sigwait thread.
class SignalStopper {
 public:
  explicit SignalStopper(StopToken& token);
  ~SignalStopper();
  SignalStopper(const SignalStopper&) = delete;
  SignalStopper& operator=(const SignalStopper&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_STOP_TOKEN_H_
