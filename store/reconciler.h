// The model's one writer. Merges what sweeps report (the hypervisor's view,
// authoritative for existence and lifecycle) with what the xenstore watcher
// reads (names and tracked keys), derives lifecycle transitions and commits
// them to the DomainStore as events. Volatile fields are refreshed without
// events. Callers on several threads are serialised here.
#ifndef XENLET_STORE_RECONCILER_H_
#define XENLET_STORE_RECONCILER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "store/domain_store.h"
#include "store/initiators.h"
#include "store/sweeper.h"
#include "store/xenstore_watcher.h"
#include "xen/types.h"

namespace xenlet::store {

// Lifecycle changes first found by a timer sweep: the safety net at work.
// xenstored announces each of them (@introduceDomain, @releaseDomain), and
// such an announcement triggers a sweep at once; a timer sweep finds one
// first when the announcement was missed (or, for additions, when the
// timer fires in the moment between the toolstack's createdomain and its
// introduce).
struct RepairStats {
  uint64_t added = 0;
  uint64_t removed = 0;
  uint64_t lifecycle = 0;  // shut down or dying
  uint64_t total() const { return added + removed + lifecycle; }
};

class Reconciler {
 public:
  // initiators (optional): who asked for the changes it commits.
  explicit Reconciler(DomainStore* store, Initiators* initiators = nullptr);

  // From the sweeper. The first sweep's domains are EXISTING; later new
  // ones are CREATED. Returns whether the set of domains changed. Domids
  // that a new domain took over since the last sweep go to *reused: the new
  // domain starts without keys, and the xenstore watcher, for which the
  // domid is not new, must be asked to read them.
  bool OnSweep(const SweepResult& sweep,
               std::vector<xen::Domid>* reused = nullptr);
  // From the xenstore watcher.
  void OnKeys(std::vector<DomainKeys> keys);

  // Whether something happening under domid's xenstore path means the
  // hypervisor knows more than the model: the domain is not in the model
  // (the toolstack writes its keys right after createdomain, well before
  // it introduces it), or it is CREATED (never seen running; a guest that
  // writes keys runs).
  bool SweepWouldTell(xen::Domid domid) const;

  // Domids in the model now (for the watcher).
  std::vector<xen::Domid> Domids() const;
  RepairStats repairs() const;

  // The state a domain is in, from its hypervisor flags and whether it
  // has ever run.
  static v1::DomainState DeriveState(const xen::DomainInfo& info, bool has_run);

 private:
  // What every sweep touches for every domain, in an array by domid that
  // a sweep (in domid order) walks front to back.
  struct Slot {
    xen::DomainInfo info;  // the last sweep's; info.handle is the identity
    uint64_t seen_in_sweep = 0;
    bool present = false;
  };
  // The rest, touched only when the domain changes.
  struct Tracked {
    std::string uuid;  // info.handle formatted, once
    uint64_t incarnation = 0;
    bool has_run = false;
    std::map<std::string, std::string> keys;
  };

  std::unique_ptr<v1::Domain> Build(const xen::DomainInfo& info,
                                    const Tracked& tracked) const;

  DomainStore* const store_;
  Initiators* const initiators_;
  mutable absl::Mutex mutex_;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mutex_);  // kDomidFirstReserved
  size_t present_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::flat_hash_map<xen::Domid, Tracked> domains_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<xen::Domid, uint64_t> incarnations_
      ABSL_GUARDED_BY(mutex_);
  bool first_sweep_ ABSL_GUARDED_BY(mutex_) = true;
  uint64_t sweep_number_ ABSL_GUARDED_BY(mutex_) = 0;
  RepairStats repairs_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_RECONCILER_H_
