// A Hypervisor held in memory, for unit tests of the code above xen/ (the
// sweeper, the reconciler, control), the way leveldb ships an in-memory Env
// beside the real one. It answers with Xen 4.17's semantics as the
// simulated host does (sim/README.md): one consistent list per call, the
// controller's pause count, dom0 refusing to be paused or destroyed, the
// first shutdown code sticking. It makes no hypercall and needs no
// simulated host: a test of the logic above it runs in microseconds.
//
// Tests shape the domains directly (Create, Update, Remove); fault
// injection belongs in a decorator over it (xen/testing/faulty_hypervisor.h).
#ifndef XENLET_XEN_TESTING_MEMORY_HYPERVISOR_H_
#define XENLET_XEN_TESTING_MEMORY_HYPERVISOR_H_

#include <functional>
#include <map>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "xen/hypervisor.h"

namespace xenlet::xen::testing {

class MemoryHypervisor : public Hypervisor {
 public:
  // Starts with dom0 running, as every host does.
  MemoryHypervisor();

  // A domain as Xen's domain_create leaves it: paused by the controller
  // until the toolstack's unpause, no vCPU, no memory, no shutdown code;
  // its handle (uuid) is uuid_byte 16 times.
  static DomainInfo Created(Domid domid, uint8_t uuid_byte);
  // The same once built and unpaused: one vCPU running, 256 MiB.
  static DomainInfo Running(Domid domid, uint8_t uuid_byte);

  // Adds info as it is (info.paused: the controller paused it once).
  // Replaces any domain at info.domid.
  void Create(const DomainInfo& info);
  // Changes a domain in place; returns false if there is none at domid.
  bool Update(Domid domid, const std::function<void(DomainInfo&)>& change);
  // The domain is gone from the list (its last reference dropped).
  bool Remove(Domid domid);
  // What the list holds now.
  std::vector<DomainInfo> Domains() const;
  // Whether a destroyed domain stays in the list as dying (a zombie, until
  // Remove) instead of leaving it at once. Default false.
  void SetKeepDying(bool keep);
  void SetPhysInfo(const PhysInfo& info);
  void SetVersion(const XenVersion& version);

  absl::Status GetDomainInfoList(Domid first_domid, uint32_t max_domains,
                                 std::vector<DomainInfo>* out) override;
  absl::StatusOr<DomainInfo> GetDomainInfo(Domid domid) override;
  absl::StatusOr<PhysInfo> GetPhysInfo() override;
  absl::StatusOr<XenVersion> GetVersion() override;
  absl::Status PauseDomain(Domid domid) override;
  absl::Status UnpauseDomain(Domid domid) override;
  absl::Status DestroyDomain(Domid domid) override;
  absl::Status ShutdownDomain(Domid domid, ShutdownReason reason) override;

  // Calls made, all kinds together (a test asserts a query makes none).
  uint64_t calls() const;

 private:
  struct Entry {
    DomainInfo info;
    uint32_t pause_count = 0;  // the controller's; paused iff > 0
  };
  // Keeps info's flags in step with the pause count and shutdown state.
  static void Derive(Entry& entry);
  // The checks every control hypercall makes (a reserved domid, a missing
  // domain: ESRCH, dom0 refusing all but an unpause: EINVAL), then act on
  // the domain under the lock.
  absl::Status Control(
      Domid domid, const char* verb,
      const std::function<absl::Status(std::map<Domid, Entry>::iterator)>& act)
      ABSL_LOCKS_EXCLUDED(mutex_);

  mutable absl::Mutex mutex_;
  std::map<Domid, Entry> domains_ ABSL_GUARDED_BY(mutex_);
  bool keep_dying_ ABSL_GUARDED_BY(mutex_) = false;
  PhysInfo physinfo_ ABSL_GUARDED_BY(mutex_);
  XenVersion version_ ABSL_GUARDED_BY(mutex_);
  mutable uint64_t calls_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace xenlet::xen::testing

#endif  // XENLET_XEN_TESTING_MEMORY_HYPERVISOR_H_
