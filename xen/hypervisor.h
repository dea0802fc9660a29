// The hypervisor as xenlet sees it: the few hypercalls it makes. store/ and
// agent/ use only this interface; xenctrl_hypervisor.h implements it over the
// real libxenctrl/libxencall (which the simulated host answers in tests).
#ifndef XENLET_XEN_HYPERVISOR_H_
#define XENLET_XEN_HYPERVISOR_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "xen/types.h"

namespace xenlet::xen {

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;

  // Exactly one XEN_SYSCTL_getdomaininfolist hypercall: the domains with
  // domid >= first_domid, at most max_domains of them, in domid order.
  // Xen holds its domain-list lock for the whole call, so the answer is one
  // consistent view; a walk made of several calls is not. Replaces *out.
  virtual absl::Status GetDomainInfoList(Domid first_domid,
                                         uint32_t max_domains,
                                         std::vector<DomainInfo>* out) = 0;

  // Every domain, in one hypercall (GetDomainInfoList over 0..32751).
  absl::Status GetAllDomains(std::vector<DomainInfo>* out) {
    return GetDomainInfoList(0, kDomidFirstReserved, out);
  }

  // One domain through the XEN_DOMCTL_getdomaininfo fast path. NOT_FOUND if
  // domid does not exist (Xen answers with the next domain up; that answer
  // is recognised and not returned).
  virtual absl::StatusOr<DomainInfo> GetDomainInfo(Domid domid) = 0;

  virtual absl::StatusOr<PhysInfo> GetPhysInfo() = 0;
  virtual absl::StatusOr<XenVersion> GetVersion() = 0;

  // Xen's semantics: pausing dom0 (the caller's own domain) is
  // INVALID_ARGUMENT, unpausing an unpaused domain is INVALID_ARGUMENT, a
  // missing domain is NOT_FOUND.
  virtual absl::Status PauseDomain(Domid domid) = 0;
  virtual absl::Status UnpauseDomain(Domid domid) = 0;
  virtual absl::Status DestroyDomain(Domid domid) = 0;
  // SCHEDOP_remote_shutdown: marks the domain shut down with reason.
  virtual absl::Status ShutdownDomain(Domid domid, ShutdownReason reason) = 0;
};

}  // namespace xenlet::xen

#endif  // XENLET_XEN_HYPERVISOR_H_
