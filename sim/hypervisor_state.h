// The simulated hypervisor's state file, seen from the side that drives it:
// what Xen's own toolstack-facing operations would change (createdomain,
// the last reference to a dying domain going away), fault injection and the
// hypercall counters. The fake hypervisor (fake_privcmd.c) answers the
// hypercalls themselves from the same file.
#ifndef XENLET_SIM_HYPERVISOR_STATE_H_
#define XENLET_SIM_HYPERVISOR_STATE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sim/state_layout.h"
#include "xen/call_observer.h"
#include "xen/types.h"

namespace xenlet::sim {

using xen::Domid;
using xen::HypercallKind;

// The environment variable through which the fake hypervisor finds the
// state file.
inline constexpr char kStateEnv[] = XLSIM_STATE_ENV;

struct DomainConfig {
  std::array<uint8_t, 16> uuid{};
  uint64_t memory_bytes = 256ull << 20;
  uint32_t vcpus = 1;
  bool hvm = false;
  // Share (per mille) of the time its vCPUs run while it may run; blocked
  // the rest. 1000: a busy guest, always running; an idle one is near 0.
  uint32_t load_permille = 1000;
  // Xen picks the domid (as XEN_DOMCTL_createdomain with domid 0 does)
  // unless one is asked for.
  std::optional<Domid> domid;
  // true: the domain as it is once built (its vCPUs online, its memory
  // allocated), for tests that need a domain and not its creation. false:
  // as XEN_DOMCTL_createdomain leaves it, without a vCPU or memory, for a
  // toolstack to build (SetMaxVcpus, SetMaxMemory, PopulateMemory, VcpusUp).
  bool built = true;
};

// Hypercall counts by kind, from the state file: every call made by every
// process on the simulated host.
struct HypercallCounts {
  std::array<uint64_t, static_cast<size_t>(HypercallKind::kCount)> by_kind{};
  uint64_t other = 0;  // hypercalls the fake does not implement
  uint64_t Get(HypercallKind kind) const {
    return by_kind[static_cast<size_t>(kind)];
  }
};

// Raw access to the table under the lock, for batch changes.
class DomainTable {
 public:
  explicit DomainTable(xlsim_header* header) : h_(header) {}
  bool Present(Domid domid) const { return xlsim_present(h_, domid); }
  xlsim_domain& Domain(Domid domid) { return xlsim_domains(h_)[domid]; }
  // Adds a domain the way createdomain does (paused once, not yet
  // unpaused by the toolstack). ALREADY_EXISTS if the domid is in use.
  absl::Status Add(Domid domid, const DomainConfig& config);
  // The domain vanishes (Xen frees it when its last reference goes).
  void Remove(Domid domid);
  // Present domids, ascending.
  std::vector<Domid> Domids() const;
  uint32_t Count() const { return h_->nr_domains; }
  xlsim_header* header() { return h_; }

 private:
  xlsim_header* h_;
};

// Remote shutdowns of dom0 (on Xen: the host halts or reboots).
struct HostHalts {
  uint32_t count = 0;
  uint32_t last_reason = 0;  // Xen's SHUTDOWN_* code
};

class HypervisorState {
 public:
  // A new state file at path (replacing any): dom0 only, Xen 4.17, a
  // 16-CPU 64 GiB host.
  static absl::StatusOr<std::unique_ptr<HypervisorState>> Create(
      const std::string& path);
  // An existing state file.
  static absl::StatusOr<std::unique_ptr<HypervisorState>> Open(
      const std::string& path);
  ~HypervisorState();

  const std::string& path() const { return path_; }

  // XEN_DOMCTL_createdomain: without config.domid, the lowest free domid
  // above the last one allocated, wrapping to 1 past 32751 (Xen's rover).
  // The domain starts paused (controller pause count 1).
  absl::StatusOr<Domid> CreateDomain(const DomainConfig& config);
  // A toolstack's build of a domain created with built = false, in
  // libxl's order (libxl__build_pre, then the domain builder):
  // XEN_DOMCTL_max_vcpus: the vCPUs exist, all down (max_vcpu_id n - 1).
  absl::Status SetMaxVcpus(Domid domid, uint32_t vcpus);
  // XEN_DOMCTL_max_mem: the most memory the domain may hold.
  absl::Status SetMaxMemory(Domid domid, uint64_t bytes);
  // XENMEM_populate_physmap: the domain's memory grows (RESOURCE_EXHAUSTED
  // past its maximum, as Xen refuses with ENOMEM).
  absl::Status PopulateMemory(Domid domid, uint64_t bytes);
  // The first `count` vCPUs online: vCPU 0 once the builder has set its
  // context, the others when the booted guest brings them up (VCPUOP_up).
  absl::Status VcpusUp(Domid domid, uint32_t count);
  // How long a destroyed domain stays dying before it vanishes, for the
  // destroys from now on: zero (the default) at once, as when nothing holds
  // it; longer while its pages are released; InfiniteDuration() for
  // zombies, which stay dying until ReapDomain (something mapped their
  // pages and never let go).
  void SetDyingTime(absl::Duration dying);
  // The last reference to a domain goes: it vanishes from the table.
  // FAILED_PRECONDITION unless it is dying (destroyed), so that a domain is
  // never reaped behind the toolstack's back; NOT_FOUND if absent.
  absl::Status ReapDomain(Domid domid);
  // What a guest does to itself (its own hypercalls, which no process on
  // dom0 makes): SCHEDOP_shutdown_code sets the code a later shutdown
  // reports without stopping the guest; SCHEDOP_shutdown shuts it down
  // (the first code given sticks, as in Xen's domain_shutdown).
  absl::Status GuestSetShutdownCode(Domid domid, uint8_t code);
  absl::Status GuestShutdown(Domid domid, uint8_t reason);
  // Whether anyone asked Xen to shut dom0 (the host) down.
  HostHalts host_halts() const;
  // The domctl/sysctl interface versions the simulated Xen accepts (0: its
  // own, 4.17's); callers built for others get EACCES, as from Xen.
  void SetInterfaceVersions(uint32_t domctl, uint32_t sysctl);
  // The simulated clock: frozen, time stands still for every process on
  // the host (cpu time, running and blocked stay as they are) until it is
  // advanced by hand or thawed. For exact comparisons of volatile fields.
  void FreezeClock();
  void AdvanceClock(absl::Duration by);
  void ThawClock();
  // How busy a guest is from now on (see DomainConfig::load_permille).
  absl::Status SetLoad(Domid domid, uint32_t load_permille);
  // Runs fn on the table under the exclusive lock, then bumps the
  // generation and wakes its waiters once, whatever fn returned (and sends
  // the VIRQ_DOM_EXC fn raised, if any).
  absl::Status Mutate(const std::function<absl::Status(DomainTable&)>& fn);
  // Runs fn under the shared lock.
  void Read(const std::function<void(DomainTable&)>& fn) const;

  // What getdomaininfo would report, without a hypercall. NOT_FOUND if
  // absent.
  absl::StatusOr<xen_domctl_getdomaininfo> Info(Domid domid) const;
  std::vector<Domid> Domids() const;
  uint32_t DomainCount() const;
  uint32_t Generation() const;
  // A spurious VIRQ_DOM_EXC (and a generation bump) without a change.
  void Kick();
  // How many VIRQ_DOM_EXC the simulated Xen has sent: on a shutdown
  // (except a suspend signalled on its suspend event channel), a destroy
  // and a dying domain's final release; never on create, pause, unpause
  // or resume.
  uint32_t DomExcCount() const;
  // Waits until the generation differs from `seen`, up to timeout; returns
  // the generation.
  uint32_t WaitGeneration(uint32_t seen, absl::Duration timeout) const;

  HypercallCounts Counts() const;
  void ResetCounts();
  // The next `count` calls of kind fail with err (0 clears).
  void InjectError(HypercallKind kind, int err, uint32_t count);
  // Every call of kind takes delay longer (zero clears).
  void SetDelay(HypercallKind kind, absl::Duration delay);
  void ClearFaults();

 private:
  // Mutate on one present domain (NOT_FOUND otherwise).
  absl::Status MutateDomain(
      Domid domid,
      const std::function<absl::Status(xlsim_header*, xlsim_domain&,
                                       DomainTable&)>& fn);
  static absl::StatusOr<std::unique_ptr<HypervisorState>> MapFile(
      const std::string& path, bool create);
  HypervisorState(std::string path, int fd, xlsim_header* header)
      : path_(std::move(path)), fd_(fd), h_(header) {}
  void Lock(bool exclusive) const ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex_);
  void Unlock(bool bump) const ABSL_UNLOCK_FUNCTION(mutex_);

  std::string path_;
  int fd_;
  xlsim_header* h_;
  // flock excludes other open files only; threads share this one.
  mutable absl::Mutex mutex_;
};

// "Paused", "running", "shutdown(reboot)", "dying", ... for a getdomaininfo
// record.
std::string DescribeState(const xen_domctl_getdomaininfo& info);

}  // namespace xenlet::sim

#endif  // XENLET_SIM_HYPERVISOR_STATE_H_
