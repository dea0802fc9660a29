// The guests' side of control/shutdown: what a PV guest's xenbus driver
// does when a toolstack (the real xl, or any other) writes a request into
// /local/domain/N/control/shutdown: it clears the key (the toolstack's
// acknowledgement) and shuts itself down with the matching reason, once it
// runs (a paused guest answers after its unpause)
// (SCHEDOP_shutdown, the guest's own hypercall, made here on the state
// file). And dom0's backend drivers' side of a device's removal: a backend
// told to close (state 5) once its frontend is gone answers closed (6), as
// netback does. One thread and xenstore connection answer for every guest
// and backend of a simulated host; it reconnects after xenstored restarts.
#ifndef XENLET_SIM_SIMULATED_GUESTS_H_
#define XENLET_SIM_SIMULATED_GUESTS_H_

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sim/hypervisor_state.h"
#include "xen/xenstore.h"

namespace xenlet::sim {

class SimulatedGuests {
 public:
  using Connect =
      std::function<absl::StatusOr<std::unique_ptr<xen::XenstoreClient>>()>;
  SimulatedGuests(Connect connect, HypervisorState* state);
  ~SimulatedGuests();  // stops the thread

  // True once the thread's watch is registered (and requests written
  // before it answered); false after timeout.
  bool WaitReady(absl::Duration timeout);
  // Requests answered so far.
  uint64_t answered() const { return answered_.load(); }
  // Backends closed so far.
  uint64_t backends_closed() const { return backends_closed_.load(); }

 private:
  void Run();
  // One watch event: answers it if it is a guest's shutdown request.
  void Handle(xen::XenstoreClient& xs, const std::string& path);
  // Answers requests already written (no event came for them).
  void AnswerWaiting(xen::XenstoreClient& xs);
  // One watch event on a backend's state: closes it if asked to.
  void CloseBackend(xen::XenstoreClient& xs, const std::string& path);

  const Connect connect_;
  HypervisorState* const state_;
  std::atomic<bool> stop_{false};
  absl::Mutex mutex_;
  bool ready_ ABSL_GUARDED_BY(mutex_) = false;
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> backends_closed_{0};
  std::set<std::string> pending_;  // requests to paused guests (thread's own)
  std::thread thread_;
};

}  // namespace xenlet::sim

#endif  // XENLET_SIM_SIMULATED_GUESTS_H_
