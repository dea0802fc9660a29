#include "sim/domctl.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "xen/errno_status.h"

extern "C" {
#define __XEN_TOOLS__ 1
#include <xen/xen.h>
// clang-format off: after xen.h.
#include <xen/domctl.h>
// clang-format on
#include <xencall.h>
}

namespace xenlet::sim {

absl::Status ResumeDomainDomctl(xen::Domid domid) {
  xencall_handle* xcall = xencall_open(nullptr, 0);
  if (!xcall) return xen::ErrnoToStatus(errno, "xencall_open");
  auto* op =
      static_cast<xen_domctl*>(xencall_alloc_buffer(xcall, sizeof(xen_domctl)));
  if (!op) {
    int err = errno;
    xencall_close(xcall);
    return xen::ErrnoToStatus(err, "xencall_alloc_buffer");
  }
  std::memset(op, 0, sizeof(*op));
  op->cmd = XEN_DOMCTL_resumedomain;
  op->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
  op->domain = static_cast<domid_t>(domid);
  int rc =
      xencall1(xcall, __HYPERVISOR_domctl, reinterpret_cast<uintptr_t>(op));
  int err = rc < 0 ? errno : 0;
  xencall_free_buffer(xcall, op);
  xencall_close(xcall);
  if (rc < 0) {
    return xen::ErrnoToStatus(
        err, absl::StrCat("XEN_DOMCTL_resumedomain of domain ", domid));
  }
  return absl::OkStatus();
}

}  // namespace xenlet::sim
