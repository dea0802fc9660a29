#include "sim/domctl.h"

#include <cerrno>
#include <cstring>
#include <functional>

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
namespace {

// One domctl on domid through libxencall, as libxenctrl's do_domctl makes
// it (a hypercall-safe buffer, the 4.17 interface version).
absl::Status Domctl(uint32_t cmd, const char* name, xen::Domid domid,
                    const std::function<void(xen_domctl&)>& fill) {
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
  op->cmd = cmd;
  op->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
  op->domain = static_cast<domid_t>(domid);
  if (fill) fill(*op);
  int rc =
      xencall1(xcall, __HYPERVISOR_domctl, reinterpret_cast<uintptr_t>(op));
  int err = rc < 0 ? errno : 0;
  xencall_free_buffer(xcall, op);
  xencall_close(xcall);
  if (rc < 0) {
    return xen::ErrnoToStatus(err, absl::StrCat(name, " of domain ", domid));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ResumeDomainDomctl(xen::Domid domid) {
  return Domctl(XEN_DOMCTL_resumedomain, "XEN_DOMCTL_resumedomain", domid,
                nullptr);
}

absl::Status SubscribeForSuspendDomctl(xen::Domid domid, uint32_t port) {
  return Domctl(XEN_DOMCTL_subscribe, "XEN_DOMCTL_subscribe", domid,
                [port](xen_domctl& op) { op.u.subscribe.port = port; });
}

absl::Status SoftResetDomctl(xen::Domid domid) {
  return Domctl(XEN_DOMCTL_soft_reset, "XEN_DOMCTL_soft_reset", domid, nullptr);
}

}  // namespace xenlet::sim
