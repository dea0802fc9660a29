// The live domain model, assembled: the sweeper and the xenstore watcher
// feed the reconciler, which writes the DomainStore that queries and
// streams read.
#ifndef XENLET_STORE_DOMAIN_MODEL_H_
#define XENLET_STORE_DOMAIN_MODEL_H_

#include <memory>

#include "store/domain_store.h"
#include "store/reconciler.h"
#include "store/sweeper.h"
#include "store/xenstore_watcher.h"
#include "xen/hypervisor.h"

namespace xenlet::store {

struct ModelOptions {
  absl::Duration sweep_interval = absl::Seconds(1);
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
  Sweeper& sweeper() { return sweeper_; }
  XenstoreWatcher& watcher() { return watcher_; }
  Reconciler& reconciler() { return reconciler_; }

 private:
  void OnSweep(const SweepResult& sweep);

  DomainStore store_;
  Reconciler reconciler_;
  XenstoreWatcher watcher_;
  Sweeper sweeper_;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_DOMAIN_MODEL_H_
