// Hypervisor over the real Xen 4.17 libraries: libxencall for the two
// domain-info hypercalls (with hypercall buffers allocated once), libxenctrl
// for the rest. On a host without Xen the simulated host answers the same
// privcmd ioctls.
#ifndef XENLET_XEN_XENCTRL_HYPERVISOR_H_
#define XENLET_XEN_XENCTRL_HYPERVISOR_H_

#include <memory>

#include "absl/status/statusor.h"
#include "xen/call_observer.h"
#include "xen/hypervisor.h"

namespace xenlet::xen {

enum class DomainListPath {
  // XEN_SYSCTL_getdomaininfolist through libxencall into a hypercall buffer
  // allocated once for the whole domid range.
  kPersistentBuffer,
  // libxenctrl's xc_domain_getinfolist, which bounces the caller's buffer
  // through a hypercall buffer allocated and freed on every call.
  kLibxenctrl,
};

struct HypervisorOptions {
  DomainListPath domain_list_path = DomainListPath::kPersistentBuffer;
  // Told of every hypercall; must outlive the hypervisor. Null: none.
  CallObserver* observer = nullptr;
};

// UNAVAILABLE if the privileged command interface cannot be opened.
absl::StatusOr<std::unique_ptr<Hypervisor>> OpenXenctrlHypervisor(
    const HypervisorOptions& options);

}  // namespace xenlet::xen

#endif  // XENLET_XEN_XENCTRL_HYPERVISOR_H_
