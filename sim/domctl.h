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

}  // namespace xenlet::sim

#endif  // XENLET_SIM_DOMCTL_H_
