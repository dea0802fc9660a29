#include "xen/xenctrl_hypervisor.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "xen/errno_status.h"

// The Xen release whose public headers this file is compiled against.
#define XEN_SUPPORTED_VERSION "4.17"

extern "C" {
#define __XEN_TOOLS__ 1
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xen/version.h>
#include <xencall.h>
#include <xenctrl.h>
}

namespace xenlet::xen {
namespace {

// Xen refuses a domctl or sysctl whose interface version is not its own
// with EACCES (do_domctl/do_sysctl). The versions change with Xen
// releases (4.18 changed the domctl's, 4.21 the sysctl's; docs/real-xen.md),
// and xenlet is built against one: say so rather than report a permission
// problem.
absl::Status HypercallError(int err, const char* what, const char* interface,
                            uint32_t version) {
  if (err == EACCES) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": the hypervisor refused ", interface, " 0x", absl::Hex(version),
        " (xenlet is built against Xen ", XEN_SUPPORTED_VERSION,
        "'s headers and libraries); this host runs another Xen version: "
        "build xenlet against this host's libxen (docs/architecture.md, "
        "\"Xen versions\")"));
  }
  return ErrnoToStatus(err, what);
}

DomainInfo Convert(const xen_domctl_getdomaininfo& in) {
  DomainInfo out;
  out.domid = in.domain;
  std::memcpy(out.handle.data(), in.handle, out.handle.size());
  out.dying = in.flags & XEN_DOMINF_dying;
  out.hvm = in.flags & XEN_DOMINF_hvm_guest;
  out.shutdown = in.flags & XEN_DOMINF_shutdown;
  out.paused = in.flags & XEN_DOMINF_paused;
  out.blocked = in.flags & XEN_DOMINF_blocked;
  out.running = in.flags & XEN_DOMINF_running;
  out.debugged = in.flags & XEN_DOMINF_debugged;
  out.xenstore_domain = in.flags & XEN_DOMINF_xs_domain;
  out.hap = in.flags & XEN_DOMINF_hap;
  out.shutdown_code =
      (in.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
  out.tot_pages = in.tot_pages;
  out.max_pages = in.max_pages;
  out.outstanding_pages = in.outstanding_pages;
  out.shr_pages = in.shr_pages;
  out.cpu_time_ns = in.cpu_time;
  out.nr_online_vcpus = in.nr_online_vcpus;
  out.max_vcpu_id = in.max_vcpu_id;
  out.ssidref = in.ssidref;
  out.cpupool = in.cpupool;
  return out;
}

class XenctrlHypervisor : public Hypervisor {
 public:
  XenctrlHypervisor(xencall_handle* xcall, xc_interface* xch,
                    const HypervisorOptions& options)
      : xcall_(xcall),
        xch_(xch),
        path_(options.domain_list_path),
        observer_(options.observer ? options.observer : NullCallObserver()) {}

  ~XenctrlHypervisor() override {
    if (list_buffer_) xencall_free_buffer(xcall_, list_buffer_);
    if (sysctl_) xencall_free_buffer(xcall_, sysctl_);
    if (domctl_) xencall_free_buffer(xcall_, domctl_);
    xc_interface_close(xch_);
    xencall_close(xcall_);
  }

  absl::Status Init() {
    list_buffer_ = static_cast<xen_domctl_getdomaininfo*>(xencall_alloc_buffer(
        xcall_, sizeof(xen_domctl_getdomaininfo) * kDomidFirstReserved));
    sysctl_ = static_cast<xen_sysctl*>(
        xencall_alloc_buffer(xcall_, sizeof(xen_sysctl)));
    domctl_ = static_cast<xen_domctl*>(
        xencall_alloc_buffer(xcall_, sizeof(xen_domctl)));
    if (!list_buffer_ || !sysctl_ || !domctl_) {
      return ErrnoToStatus(errno, "allocating hypercall buffers");
    }
    return absl::OkStatus();
  }

  absl::Status GetDomainInfoList(Domid first_domid, uint32_t max_domains,
                                 std::vector<DomainInfo>* out) override {
    if (first_domid >= kDomidFirstReserved) {
      return absl::InvalidArgumentError(
          absl::StrCat("first domid ", first_domid, " is reserved"));
    }
    max_domains = std::min(max_domains, kDomidFirstReserved);
    absl::MutexLock lock(&list_mutex_);
    int count;
    int err = 0;
    auto start = std::chrono::steady_clock::now();
    if (path_ == DomainListPath::kPersistentBuffer) {
      std::memset(sysctl_, 0, sizeof(*sysctl_));
      sysctl_->cmd = XEN_SYSCTL_getdomaininfolist;
      sysctl_->interface_version = XEN_SYSCTL_INTERFACE_VERSION;
      sysctl_->u.getdomaininfolist.first_domain = first_domid;
      sysctl_->u.getdomaininfolist.max_domains = max_domains;
      sysctl_->u.getdomaininfolist.buffer.p = list_buffer_;
      int rc = xencall1(xcall_, __HYPERVISOR_sysctl,
                        reinterpret_cast<uintptr_t>(sysctl_));
      err = rc < 0 ? errno : 0;
      count = rc < 0 ? -1 : sysctl_->u.getdomaininfolist.num_domains;
    } else {
      count =
          xc_domain_getinfolist(xch_, first_domid, max_domains, list_buffer_);
      err = count < 0 ? errno : 0;
    }
    Observe(HypercallKind::kGetDomainInfoList, err, start);
    if (count < 0) {
      return HypercallError(err, "XEN_SYSCTL_getdomaininfolist",
                            "XEN_SYSCTL_INTERFACE_VERSION",
                            XEN_SYSCTL_INTERFACE_VERSION);
    }
    out->clear();
    out->reserve(count);
    for (int i = 0; i < count; ++i) out->push_back(Convert(list_buffer_[i]));
    return absl::OkStatus();
  }

  absl::StatusOr<DomainInfo> GetDomainInfo(Domid domid) override {
    if (domid >= kDomidFirstReserved) {
      return absl::InvalidArgumentError(
          absl::StrCat("domid ", domid, " is reserved"));
    }
    absl::MutexLock lock(&list_mutex_);
    std::memset(domctl_, 0, sizeof(*domctl_));
    domctl_->cmd = XEN_DOMCTL_getdomaininfo;
    domctl_->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    domctl_->domain = domid;
    auto start = std::chrono::steady_clock::now();
    int rc = xencall1(xcall_, __HYPERVISOR_domctl,
                      reinterpret_cast<uintptr_t>(domctl_));
    int err = rc < 0 ? errno : 0;
    Observe(HypercallKind::kGetDomainInfo, err, start);
    auto not_found = [domid] {
      return absl::NotFoundError(absl::StrCat("domain ", domid, " not found"));
    };
    if (rc < 0) {
      if (err == ESRCH) return not_found();
      return HypercallError(err, "XEN_DOMCTL_getdomaininfo",
                            "XEN_DOMCTL_INTERFACE_VERSION",
                            XEN_DOMCTL_INTERFACE_VERSION);
    }
    // For a missing domid Xen answers with the next domain up.
    if (domctl_->u.getdomaininfo.domain != domid) return not_found();
    return Convert(domctl_->u.getdomaininfo);
  }

  absl::StatusOr<PhysInfo> GetPhysInfo() override {
    xc_physinfo_t info{};
    auto start = std::chrono::steady_clock::now();
    int rc;
    {
      absl::MutexLock lock(&xc_mutex_);
      rc = xc_physinfo(xch_, &info);
    }
    int err = rc < 0 ? errno : 0;
    Observe(HypercallKind::kPhysInfo, err, start);
    if (rc < 0) return ErrnoToStatus(err, "XEN_SYSCTL_physinfo");
    PhysInfo out;
    out.nr_cpus = info.nr_cpus;
    out.threads_per_core = info.threads_per_core;
    out.cores_per_socket = info.cores_per_socket;
    out.nr_nodes = info.nr_nodes;
    out.cpu_khz = info.cpu_khz;
    out.total_bytes = info.total_pages * kPageSize;
    out.free_bytes = info.free_pages * kPageSize;
    out.scrub_bytes = info.scrub_pages * kPageSize;
    out.cap_hvm = info.capabilities & XEN_SYSCTL_PHYSCAP_hvm;
    out.cap_pv = info.capabilities & XEN_SYSCTL_PHYSCAP_pv;
    out.cap_hap = info.capabilities & XEN_SYSCTL_PHYSCAP_hap;
    out.cap_shadow = info.capabilities & XEN_SYSCTL_PHYSCAP_shadow;
    return out;
  }

  absl::StatusOr<XenVersion> GetVersion() override {
    absl::MutexLock lock(&xc_mutex_);
    XenVersion out;
    auto call = [&](int cmd, void* arg) {
      auto start = std::chrono::steady_clock::now();
      int rc = xc_version(xch_, cmd, arg);
      int err = rc < 0 ? errno : 0;
      Observe(HypercallKind::kXenVersion, err, start);
      errno = err;
      return rc;
    };
    int version = call(XENVER_version, nullptr);
    if (version < 0) return ErrnoToStatus(errno, "XENVER_version");
    out.major = static_cast<uint32_t>(version) >> 16;
    out.minor = static_cast<uint32_t>(version) & 0xffff;
    xen_extraversion_t extra{};
    if (call(XENVER_extraversion, &extra) < 0) {
      return ErrnoToStatus(errno, "XENVER_extraversion");
    }
    out.extra.assign(extra, strnlen(extra, sizeof(extra)));
    xen_capabilities_info_t caps{};
    if (call(XENVER_capabilities, &caps) < 0) {
      return ErrnoToStatus(errno, "XENVER_capabilities");
    }
    out.capabilities.assign(caps, strnlen(caps, sizeof(caps)));
    return out;
  }

  absl::Status PauseDomain(Domid domid) override {
    return Control(HypercallKind::kPauseDomain, domid, "pause",
                   [&] { return xc_domain_pause(xch_, domid); });
  }

  absl::Status UnpauseDomain(Domid domid) override {
    return Control(HypercallKind::kUnpauseDomain, domid, "unpause",
                   [&] { return xc_domain_unpause(xch_, domid); });
  }

  absl::Status DestroyDomain(Domid domid) override {
    return Control(HypercallKind::kDestroyDomain, domid, "destroy",
                   [&] { return xc_domain_destroy(xch_, domid); });
  }

  absl::Status ShutdownDomain(Domid domid, ShutdownReason reason) override {
    return Control(HypercallKind::kRemoteShutdown, domid, "shut down", [&] {
      return xc_domain_shutdown(xch_, domid, static_cast<int>(reason));
    });
  }

 private:
  void Observe(HypercallKind kind, int err,
               std::chrono::steady_clock::time_point start) {
    auto elapsed = std::chrono::steady_clock::now() - start;
    observer_->OnHypercall(
        kind, err,
        std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
  }

  template <typename Call>
  absl::Status Control(HypercallKind kind, Domid domid, const char* verb,
                       Call call) {
    if (domid >= kDomidFirstReserved) {
      return absl::InvalidArgumentError(
          absl::StrCat("domid ", domid, " is reserved"));
    }
    auto start = std::chrono::steady_clock::now();
    int rc;
    {
      absl::MutexLock lock(&xc_mutex_);
      rc = call();
    }
    int err = rc < 0 ? errno : 0;
    Observe(kind, err, start);
    if (rc < 0) {
      return ErrnoToStatus(err, absl::StrCat(verb, " domain ", domid));
    }
    return absl::OkStatus();
  }

  xencall_handle* xcall_;
  xc_interface* xch_;
  const DomainListPath path_;
  CallObserver* observer_;
  absl::Mutex list_mutex_;  // guards the hypercall buffers below
  xen_domctl_getdomaininfo* list_buffer_ ABSL_PT_GUARDED_BY(list_mutex_) =
      nullptr;
  xen_sysctl* sysctl_ ABSL_PT_GUARDED_BY(list_mutex_) = nullptr;
  xen_domctl* domctl_ ABSL_PT_GUARDED_BY(list_mutex_) = nullptr;
  // One libxenctrl call at a time (xc_physinfo, xc_version and the
  // control calls; the list path's xc_domain_getinfolist uses its own
  // buffers under list_mutex_).
  absl::Mutex xc_mutex_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Hypervisor>> OpenXenctrlHypervisor(
    const HypervisorOptions& options) {
  xencall_handle* xcall = xencall_open(nullptr, 0);
  if (!xcall) {
    return absl::UnavailableError(
        absl::StrCat("cannot open the hypercall interface: ",
                     ErrnoToStatus(errno, "xencall_open").message()));
  }
  xc_interface* xch = xc_interface_open(nullptr, nullptr, 0);
  if (!xch) {
    int err = errno;
    xencall_close(xcall);
    return absl::UnavailableError(
        absl::StrCat("cannot open libxenctrl: ",
                     ErrnoToStatus(err, "xc_interface_open").message()));
  }
  auto hypervisor = std::make_unique<XenctrlHypervisor>(xcall, xch, options);
  if (auto status = hypervisor->Init(); !status.ok()) return status;
  return std::unique_ptr<Hypervisor>(std::move(hypervisor));
}

}  // namespace xenlet::xen
