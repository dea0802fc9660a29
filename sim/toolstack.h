// The toolstack simulator: creates, pauses, shuts down and destroys domains
// on the simulated host the way libxl does, through the project's own
// xen::XenstoreClient and xen::Hypervisor (so the real libxenstore and
// libxenctrl code paths run), and through the state file for what only
// Xen's createdomain would do (the hypervisor frees destroyed domains itself).
//
// Hypercalls go through the fake hypervisor linked into this process
// (//sim:fake_hypervisor_inprocess); Open() points it at options.state_path.
#ifndef XENLET_SIM_TOOLSTACK_H_
#define XENLET_SIM_TOOLSTACK_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sim/domid_history.h"
#include "sim/hypervisor_state.h"
#include "sim/libxl_keys.h"
#include "xen/hypervisor.h"
#include "xen/types.h"
#include "xen/xenstore.h"

namespace xenlet::sim {

struct DomainSpec {
  std::string name;  // empty: "sim-<domid>"
  uint64_t memory_mib = 256;
  uint32_t vcpus = 1;
  bool hvm = false;
  // A network card (vif 0); without one, no vif keys.
  bool nic = true;
  // Share (per mille) of the time the guest's vCPUs run; blocked the rest.
  uint32_t load_permille = 1000;
  std::optional<Domid> domid;                   // empty: Xen allocates one
  std::optional<std::array<uint8_t, 16>> uuid;  // empty: a random v4 UUID
  bool start = true;  // unpause at the end, as `xl create` does
  // Instead of libxl's keys and devices: /local/domain/N/{name,domid} in
  // one transaction, and no XS_INTRODUCE. For the whole domid space on the
  // hypervisor side: C xenstored fires each watch by walking every
  // connection, and each introduced domain is one, so 32000 libxl domains
  // are beyond what it can take in a benchmark's time.
  bool few_keys = false;
};

struct CreatedDomain {
  Domid domid = 0;
  std::string uuid;
  std::string name;
};

// libxl's LIBXL_DOMID_REUSE_TIMEOUT: a domid destroyed this recently is not
// given to a new domain.
inline constexpr absl::Duration kLibxlDomidReuseTimeout = absl::Seconds(60);

// libxl's LIBXL_DESTROY_TIMEOUT: how long a destroy waits for a device's
// backend to close.
inline constexpr absl::Duration kLibxlDestroyTimeout = absl::Seconds(10);

// One of the toolstack's steps, stamped with when it was made (its
// hypercall or xenstore write; reported once it succeeded): where the
// latency an orchestrator sees starts. tools/bootstorm measures from it to each
// watcher's receipt.
struct ToolstackStep {
  enum Kind {
    kCreated,            // XEN_DOMCTL_createdomain
    kUnpaused,           // XEN_DOMCTL_unpausedomain
    kPaused,             // XEN_DOMCTL_pausedomain (not destroy's own)
    kShutdownRequested,  // control/shutdown written (or the guest's own)
    kDestroyed,          // XEN_DOMCTL_destroydomain
  };
  Domid domid = 0;
  Kind kind = kCreated;
  absl::Time at;
};

struct ToolstackOptions {
  std::string state_path;
  std::string xenstore_socket;
  // Retries of a conflicting transaction (xen::RunTransaction).
  xen::RetryPolicy retry;
  // libxl's check against reusing a domid destroyed less than this ago:
  // an explicit domid is refused, an allocated one given up for the next.
  // Zero: no check, as a toolstack without libxl's rule (tests of domid
  // reuse, which on Xen also comes from the allocator wrapping around).
  absl::Duration domid_reuse_timeout = kLibxlDomidReuseTimeout;
  // libxl's domid history (destroyed domids and when), in its format;
  // empty: next to the state file. Per host: the real xl keeps its own
  // in /var/run/xen.
  std::string domid_history_path;
  // Whether the host's guests answer control/shutdown themselves
  // (sim/simulated_guests.h): then ShutdownDomain only writes the request
  // and waits, as xl does; otherwise it plays the guest's part as well.
  bool guests_answer = false;
  // Told of each step as it takes effect (null: not stamped). Called on the
  // thread that made the step.
  std::function<void(const ToolstackStep&)> on_step;
};

// How long ShutdownDomain waits for a guest to answer its request.
inline constexpr absl::Duration kGuestAnswerTimeout = absl::Seconds(10);

// What xl does once a guest has shut down (xl_vmcontrol.c,
// handle_domain_death, with xl's default on_* actions).
struct ShutdownReaction {
  enum Action {
    kNone,       // not shut down, or suspended: left as it is
    kDestroyed,  // poweroff, crash, watchdog
    kRestarted,  // reboot: destroyed, re-created with the same UUID
    kSoftReset,  // soft_reset: the same domid runs a new kernel
  };
  Action action = kNone;
  std::optional<CreatedDomain> restarted;  // kRestarted: the new domain
};

class Toolstack {
 public:
  static absl::StatusOr<std::unique_ptr<Toolstack>> Open(
      const ToolstackOptions& options);

  // As `xl create` (libxl 4.17): createdomain (paused, no vCPU, no
  // memory), libxl__domain_make's transaction, dm-version, the build
  // (max vCPUs, max memory, memory populated in batches, vCPU 0 online),
  // libxl__build_post's transaction, XS_INTRODUCE, the console and the
  // NIC (a transaction each), the unpause; then the guest brings its other
  // vCPUs up. See sim/libxl_keys.h for the keys.
  absl::StatusOr<CreatedDomain> CreateDomain(const DomainSpec& spec);
  absl::Status PauseDomain(Domid domid);
  absl::Status UnpauseDomain(Domid domid);
  // Asks through control/shutdown (for the reasons that have a word, as
  // libxl does) and waits until the guest has acknowledged and shut itself
  // down; crash and watchdog, which no toolstack asks for, are the guest's
  // (or Xen's) own doing. DEADLINE_EXCEEDED if no guest answers.
  absl::Status ShutdownDomain(Domid domid, xen::ShutdownReason reason);
  // As libxl does: pause, the domain's paths removed (backends,
  // /vm/UUID, /local/domain/N, /libxl/N), then the destroy hypercall; no
  // XS_RELEASE (xenstored releases it when it sees it dying or gone). The
  // domain vanishes when the hypervisor frees it (at once by default; see
  // HypervisorState::SetDyingTime).
  absl::Status DestroyDomain(Domid domid);
  // A suspended (or otherwise shut-down) domain runs again with the same
  // domid, its shutdown code invalid again (XEN_DOMCTL_resumedomain).
  absl::Status ResumeDomain(Domid domid);
  // The guest's SCHEDOP_shutdown_code: the code a later shutdown reports,
  // set while the guest keeps running.
  absl::Status GuestSetShutdownCode(Domid domid, xen::ShutdownReason reason);
  // libxl's soft reset of an HVM guest shut down (normally with reason
  // soft_reset, for kexec): XEN_DOMCTL_soft_reset (the domain runs again,
  // same domid, memory kept), then its keys written again as at creation,
  // XS_INTRODUCE and its devices. INVALID_ARGUMENT for PV, as Xen's EINVAL.
  absl::Status SoftResetDomain(Domid domid);
  // What xl does for a domain that has shut down (see ShutdownReaction).
  absl::StatusOr<ShutdownReaction> ReactToShutdown(Domid domid);
  // The domain's configuration, read back from xenstore and the
  // hypervisor (as xl reloads its saved one): name, UUID, memory, vCPUs,
  // type, NIC, load.
  absl::StatusOr<std::pair<DomainSpec, std::string>> ReadConfig(Domid domid);

  // After xenstored was restarted: a new connection.
  absl::Status ReconnectXenstore();
  // After a restart, xenstored's store is empty: writes every live domain's
  // keys again (from what the hypervisor knows; names from `names`, by
  // uuid, or else sim-N) and introduces it, as a toolstack rebuilding
  // xenstore would.
  absl::Status RestoreDomains(
      const std::map<std::string, std::string>& names = {});

  // The xenstore keys CreateDomain writes with a value, in order.
  static std::vector<std::pair<std::string, std::string>> DomainKeys(
      Domid domid, const std::string& uuid, const std::string& name,
      const DomainSpec& spec);

  HypervisorState& state() { return *state_; }
  xen::Hypervisor& hypervisor() { return *hypervisor_; }
  xen::XenstoreClient& xenstore() { return *xenstore_; }

 private:
  explicit Toolstack(ToolstackOptions options) : options_(std::move(options)) {}
  // One transaction of ops (retried on conflict).
  absl::Status RunOps(const std::vector<XsOp>& ops);
  // libxl__domain_make's transaction, dm-version, libxl__build_post's.
  absl::Status WriteDomainKeys(const LibxlKeys& keys);
  absl::Status AddDevices(const LibxlKeys& keys);
  absl::Status Introduce(Domid domid);
  // The hypervisor side of libxl__build_pre and the domain builder.
  absl::Status BuildDomain(Domid domid, const DomainSpec& spec);
  // A destroy's xenstore part: the devices, then the domain's paths.
  absl::Status RemoveDomainKeys(Domid domid, const std::string& uuid);
  // libxl__devices_destroy for the devices recorded under libxl_path.
  absl::Status DestroyDevices(xen::XenstoreClient& xs,
                              const std::string& libxl_path);
  // Waits (up to libxl's 10 s) for a backend to reach XenbusStateClosed.
  absl::Status AwaitBackendClosed(xen::XenstoreClient& xs,
                                  const std::string& state_path);
  // Waits until domid is shut down (or dying), from the table's generation
  // before the request.
  absl::Status AwaitShutdown(Domid domid, uint32_t generation);
  // The guest's first run: its other vCPUs come up.
  absl::Status BootGuest(Domid domid);
  void Stamp(Domid domid, ToolstackStep::Kind kind, absl::Time at);
  // Waits until xenstored no longer holds domid (it released the domain
  // that had it), so that the domid can be given to a new domain.
  absl::Status AwaitReleased(Domid domid);
  // Runs a xenstore operation, reconnecting once if xenstored went away.
  absl::Status WithXenstore(
      const std::function<absl::Status(xen::XenstoreClient&)>& op);

  ToolstackOptions options_;
  std::unique_ptr<HypervisorState> state_;
  std::unique_ptr<DomidHistory> history_;
  std::unique_ptr<xen::Hypervisor> hypervisor_;
  std::unique_ptr<xen::XenstoreClient> xenstore_;
};

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" from random bytes.
std::array<uint8_t, 16> RandomUuid();
std::string FormatUuid(const std::array<uint8_t, 16>& uuid);

}  // namespace xenlet::sim

#endif  // XENLET_SIM_TOOLSTACK_H_
