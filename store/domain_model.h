// The live domain model, assembled: the sweeper and the xenstore watcher
// feed the reconciler, which writes the DomainStore that queries and
// streams read.
#ifndef XENLET_STORE_DOMAIN_MODEL_H_
#define XENLET_STORE_DOMAIN_MODEL_H_

#include <functional>
#include <memory>

#include "store/domain_store.h"
#include "store/reconciler.h"
#include "store/sweeper.h"
#include "store/xenstore_watcher.h"
#include "xen/hypervisor.h"

namespace xenlet::store {

// What the hypervisor says about the host itself: read at start (version)
// and refreshed by the sweeper thread (physinfo), so that GetHost does no
// hypercall.
struct HostFacts {
  xen::PhysInfo physinfo;
  xen::XenVersion version;
  absl::Time physinfo_time;
};

struct ModelOptions {
  absl::Duration sweep_interval = absl::Seconds(1);
  // Told of every sweep (for metrics), on the sweeping thread.
  std::function<void(const SweepResult&)> on_sweep;
  absl::Duration physinfo_interval = absl::Seconds(5);
  XenstoreWatcherOptions watcher;
  StoreOptions store;
};

class DomainModel {
 public:
  DomainModel(xen::Hypervisor* hypervisor, XenstoreWatcher::Connect connect,
              ModelOptions options);
  ~DomainModel();

  // Sweeps once (so the model holds every domain before anyone asks),
  // then starts following xenstore and sweeping on the timer. Fails only
  // if the hypervisor cannot be swept; an unreachable xenstored is logged
  // and retried in the background.
  absl::Status Start();
  void Stop();

  DomainStore& store() { return store_; }
  HostFacts host_facts() const;
  absl::Time start_time() const { return start_time_; }
  absl::Duration sweep_interval() const { return options_.sweep_interval; }
  Sweeper& sweeper() { return sweeper_; }
  XenstoreWatcher& watcher() { return watcher_; }
  Reconciler& reconciler() { return reconciler_; }
  // Where ControlService says what its actions will cause, so that the
  // events carry who asked.
  Initiators& initiators() { return initiators_; }

 private:
  void OnSweep(const SweepResult& sweep);
  absl::Status RefreshPhysInfo();

  xen::Hypervisor* const hypervisor_;
  const ModelOptions options_;
  const absl::Time start_time_ = absl::Now();
  mutable absl::Mutex facts_mutex_;
  HostFacts facts_ ABSL_GUARDED_BY(facts_mutex_);
  DomainStore store_;
  Initiators initiators_;
  Reconciler reconciler_;
  XenstoreWatcher watcher_;
  Sweeper sweeper_;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_DOMAIN_MODEL_H_
