// Domctls that the simulator's toolstack makes and the agent never does
// (so they are not in xen::Hypervisor), issued through the real libxencall
// as libxenctrl would.
#ifndef XENLET_SIM_DOMCTL_H_
#define XENLET_SIM_DOMCTL_H_

#include "absl/status/status.h"
#include "xen/types.h"

namespace xenlet::sim {

// XEN_DOMCTL_resumedomain: a shut-down (suspended) domain runs again with
// the same domid, its shutdown code invalid again (Xen's domain_resume).
// libxl's cooperative resume does this after rewriting the guest's return
// code, which a simulated guest does not need.
absl::Status ResumeDomainDomctl(xen::Domid domid);

// XEN_DOMCTL_subscribe (xc_domain_subscribe_for_suspend): the guest's
// suspend is signalled on this event channel of the caller's from now on,
// instead of VIRQ_DOM_EXC, as libxl's save path asks before suspending.
absl::Status SubscribeForSuspendDomctl(xen::Domid domid, uint32_t port);

// XEN_DOMCTL_soft_reset: a shut-down HVM domain runs again under the same
// domid with its memory (Xen's domain_soft_reset, then domain_resume);
// EINVAL for a PV one or one not shut down.
absl::Status SoftResetDomctl(xen::Domid domid);

}  // namespace xenlet::sim

#endif  // XENLET_SIM_DOMCTL_H_
