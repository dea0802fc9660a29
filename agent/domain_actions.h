// What ControlService does to domains, apart from gRPC: a batch of
// selectors resolved on one snapshot of the model, the guards (never dom0
// or the xenstore domain, never a reused domid the caller did not mean,
// each domain once), then each action the way libxl takes it, with one
// result per selector.
#ifndef XENLET_AGENT_DOMAIN_ACTIONS_H_
#define XENLET_AGENT_DOMAIN_ACTIONS_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "store/domain_store.h"
#include "store/initiators.h"
#include "xen/hypervisor.h"
#include "xen/types.h"
#include "xen/xenstore.h"
#include "xenlet/v1/control_service.pb.h"

namespace xenlet::agent {

enum class DomainAction { kPause, kUnpause, kShutdown, kDestroy };

struct ShutdownOptions {
  // poweroff, reboot or suspend: the words libxl writes.
  xen::ShutdownReason reason = xen::ShutdownReason::kPoweroff;
  // How long the guests may take to answer control/shutdown (zero: no
  // request, straight to force).
  absl::Duration timeout = absl::Seconds(30);
  // Then Xen's remote shutdown with the same reason, and a destroy as
  // libxl does if even that does not take.
  bool force = false;
};

struct ActionBackends {
  xen::Hypervisor* hypervisor = nullptr;
  store::DomainStore* store = nullptr;
  // The actions' own xenstore connection (control/shutdown requests, a
  // destroyed domain's keys).
  std::function<absl::StatusOr<std::unique_ptr<xen::XenstoreClient>>()>
      connect_xenstore;
  // Optional: told what each action will cause, so that those events
  // carry the caller as their initiator.
  store::Initiators* initiators = nullptr;
  // Optional: asks the model for a sweep after a batch acted (a pause or
  // an unpause makes no xenstore event the model would hear of).
  std::function<void()> resync;
};

class DomainActions {
 public:
  explicit DomainActions(ActionBackends backends) : b_(std::move(backends)) {}

  // One result per selector, in order. cancelled (optional) is checked
  // while a shutdown waits: the caller went away.
  // caller: who asks (the events the actions cause carry it).
  std::vector<v1::ControlResult> Run(
      DomainAction action,
      const google::protobuf::RepeatedPtrField<v1::DomainSelector>& selectors,
      const std::string& caller, const ShutdownOptions& shutdown = {},
      const std::function<bool()>& cancelled = nullptr);

 private:
  // xs: the batch's xenstore connection, or null (the keys then stay).
  absl::Status Destroy(xen::Domid domid, const std::string& uuid, bool dying,
                       xen::XenstoreClient* xs);
  // Waits until every domain of domids is shut down, dying or gone in the
  // model, up to deadline; returns the ones that are not.
  std::vector<xen::Domid> AwaitShutdown(std::vector<xen::Domid> domids,
                                        absl::Time deadline,
                                        const std::function<bool()>& cancelled);

  // Registers what acting on d will cause, as caller's; a handle for
  // Withdraw (0 without initiators).
  uint64_t Expect(DomainAction action, const v1::Domain& d, bool shut_down,
                  const std::string& caller, absl::Duration within);
  // The action failed: its expectation goes at once.
  void Withdraw(uint64_t handle);

  ActionBackends b_;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_DOMAIN_ACTIONS_H_
