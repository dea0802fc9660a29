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
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sim/hypervisor_state.h"
#include "xen/hypervisor.h"
#include "xen/types.h"
#include "xen/xenstore.h"

namespace xenlet::sim {

struct DomainSpec {
  std::string name;  // empty: "sim-<domid>"
  uint64_t memory_mib = 256;
  uint32_t vcpus = 1;
  bool hvm = false;
  // Share (per mille) of the time the guest's vCPUs run; blocked the rest.
  uint32_t load_permille = 1000;
  std::optional<Domid> domid;                   // empty: Xen allocates one
  std::optional<std::array<uint8_t, 16>> uuid;  // empty: a random v4 UUID
  bool start = true;  // unpause at the end, as `xl create` does
};

struct CreatedDomain {
  Domid domid = 0;
  std::string uuid;
  std::string name;
};

struct ToolstackOptions {
  std::string state_path;
  std::string xenstore_socket;
  // Retries of a conflicting transaction (xen::RunTransaction).
  xen::RetryPolicy retry;
};

class Toolstack {
 public:
  static absl::StatusOr<std::unique_ptr<Toolstack>> Open(
      const ToolstackOptions& options);

  // Hypervisor domain (uuid, memory, vcpus; paused), then its keys under
  // /local/domain/N, /vm/UUID, /libxl/N and dom0's backend dirs in one
  // transaction, then XS_INTRODUCE (@introduceDomain), then the unpause.
  absl::StatusOr<CreatedDomain> CreateDomain(const DomainSpec& spec);
  absl::Status PauseDomain(Domid domid);
  absl::Status UnpauseDomain(Domid domid);
  // Asks through control/shutdown (for the reasons that have a word), the
  // simulated guest acknowledges and shuts itself down with the reason.
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

  // After xenstored was restarted: a new connection.
  absl::Status ReconnectXenstore();
  // After a restart, xenstored's store is empty: writes every live domain's
  // keys again (from what the hypervisor knows; names become sim-N) and
  // introduces it, as a toolstack rebuilding xenstore would.
  absl::Status RestoreDomains();

  // The xenstore keys CreateDomain writes, in order (path, value).
  static std::vector<std::pair<std::string, std::string>> DomainKeys(
      Domid domid, const std::string& uuid, const std::string& name,
      const DomainSpec& spec);

  HypervisorState& state() { return *state_; }
  xen::Hypervisor& hypervisor() { return *hypervisor_; }
  xen::XenstoreClient& xenstore() { return *xenstore_; }

 private:
  explicit Toolstack(ToolstackOptions options) : options_(std::move(options)) {}
  absl::Status WriteDomainKeys(Domid domid, const std::string& uuid,
                               const std::string& name, const DomainSpec& spec);
  // Waits until xenstored no longer holds domid (it released the domain
  // that had it), so that the domid can be given to a new domain.
  absl::Status AwaitReleased(Domid domid);
  // Runs a xenstore operation, reconnecting once if xenstored went away.
  absl::Status WithXenstore(
      const std::function<absl::Status(xen::XenstoreClient&)>& op);

  ToolstackOptions options_;
  std::unique_ptr<HypervisorState> state_;
  std::unique_ptr<xen::Hypervisor> hypervisor_;
  std::unique_ptr<xen::XenstoreClient> xenstore_;
};

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" from random bytes.
std::array<uint8_t, 16> RandomUuid();
std::string FormatUuid(const std::array<uint8_t, 16>& uuid);

}  // namespace xenlet::sim

#endif  // XENLET_SIM_TOOLSTACK_H_
