#include "sim/hypervisor_state.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "xen/errno_status.h"

namespace xenlet::sim {
namespace {

static_assert(static_cast<int>(HypercallKind::kGetDomainInfoList) ==
              XLSIM_CALL_GETDOMAININFOLIST);
static_assert(static_cast<int>(HypercallKind::kRemoteShutdown) ==
              XLSIM_CALL_SHUTDOWN);
static_assert(static_cast<int>(HypercallKind::kCount) == XLSIM_CALL_OTHER);

void DefaultState(xlsim_header* h) {
  std::memset(h, 0, XLSIM_HEADER_SIZE);
  h->magic = XLSIM_MAGIC;
  h->layout_version = XLSIM_LAYOUT_VERSION;
  h->header_size = XLSIM_HEADER_SIZE;
  h->domain_size = sizeof(xlsim_domain);
  h->ndom = XLSIM_NDOM;
  h->xen_major = 4;
  h->xen_minor = 17;
  std::strncpy(h->xen_extra, ".0-xenlet-sim", sizeof(h->xen_extra) - 1);
  xen_sysctl_physinfo& p = h->physinfo;
  p.threads_per_core = 2;
  p.cores_per_socket = 8;
  p.nr_cpus = 16;
  p.max_cpu_id = 15;
  p.nr_nodes = 1;
  p.cpu_khz = 2400000;
  p.capabilities =
      XEN_SYSCTL_PHYSCAP_hvm | XEN_SYSCTL_PHYSCAP_pv | XEN_SYSCTL_PHYSCAP_hap;
  p.total_pages = 64ull << 18;  // 64 GiB
  p.free_pages = 60ull << 18;
  p.max_mfn = p.total_pages - 1;
  // Dom0: running, never paused by the controller.
  xlsim_domain& d0 = xlsim_domains(h)[0];
  std::memset(&d0, 0, sizeof(d0));
  d0.info.tot_pages = d0.info.max_pages = 1ull << 18;
  d0.info.nr_online_vcpus = 4;
  d0.info.max_vcpu_id = 3;
  d0.shutdown_code = XLSIM_SHUTDOWN_CODE_INVALID;
  d0.load_permille = 300;  // dom0 blocks between requests
  xlsim_account(h, 0, &d0);
  xlsim_set_present(h, 0, 1);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HypervisorState>> HypervisorState::MapFile(
    const std::string& path, bool create) {
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0);
  int fd = open(path.c_str(), flags, 0600);
  if (fd < 0) return xen::ErrnoToStatus(errno, absl::StrCat("open ", path));
  if (create && ftruncate(fd, XLSIM_FILE_SIZE) != 0) {
    int err = errno;
    close(fd);
    return xen::ErrnoToStatus(err, absl::StrCat("truncate ", path));
  }
  void* map =
      mmap(nullptr, XLSIM_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    int err = errno;
    close(fd);
    return xen::ErrnoToStatus(err, absl::StrCat("mmap ", path));
  }
  auto* h = static_cast<xlsim_header*>(map);
  if (create) {
    flock(fd, LOCK_EX);
    DefaultState(h);
    flock(fd, LOCK_UN);
  } else if (h->magic != XLSIM_MAGIC ||
             h->layout_version != XLSIM_LAYOUT_VERSION ||
             h->domain_size != sizeof(xlsim_domain)) {
    munmap(map, XLSIM_FILE_SIZE);
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a simulated host's state file"));
  }
  return std::unique_ptr<HypervisorState>(new HypervisorState(path, fd, h));
}

absl::Status DomainTable::Add(Domid domid, const DomainConfig& config) {
  if (domid == 0 || domid >= xen::kDomidFirstReserved) {
    return absl::InvalidArgumentError(absl::StrCat("domid ", domid));
  }
  xlsim_collect(h_);  // a slot whose dying domain has just gone is free
  if (Present(domid)) {
    return absl::AlreadyExistsError(absl::StrCat("domain ", domid));
  }
  xlsim_domain& d = Domain(domid);
  std::memset(&d, 0, sizeof(d));
  std::memcpy(d.info.handle, config.uuid.data(), sizeof(d.info.handle));
  // Xen reports XEN_INVALID_MAX_VCPU_ID while a domain has no vCPU.
  d.info.max_vcpu_id = XEN_INVALID_MAX_VCPU_ID;
  if (config.built) {
    d.info.tot_pages = config.memory_bytes / xen::kPageSize;
    d.info.max_pages = d.info.tot_pages;
    d.info.nr_online_vcpus = config.vcpus;
    if (config.vcpus) d.info.max_vcpu_id = config.vcpus - 1;
  }
  d.shutdown_code = XLSIM_SHUTDOWN_CODE_INVALID;
  d.load_permille = std::min<uint32_t>(config.load_permille, 1000);
  d.info.shared_info_frame = 0x100000 + domid;
  d.info.gpaddr_bits = 52;
  if (config.hvm) d.info.flags = XEN_DOMINF_hvm_guest | XEN_DOMINF_hap;
  d.pause_count = 1;  // Xen: paused until the toolstack's unpause
  xlsim_set_present(h_, domid, 1);
  return absl::OkStatus();
}

void DomainTable::Remove(Domid domid) {
  if (domid != 0 && Present(domid)) xlsim_set_present(h_, domid, 0);
}

std::vector<Domid> DomainTable::Domids() const {
  std::vector<Domid> out;
  out.reserve(h_->nr_domains);
  for (unsigned d = xlsim_next(h_, 0); d < XLSIM_NDOM;
       d = xlsim_next(h_, d + 1)) {
    out.push_back(d);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<HypervisorState>> HypervisorState::Create(
    const std::string& path) {
  return MapFile(path, true);
}

absl::StatusOr<std::unique_ptr<HypervisorState>> HypervisorState::Open(
    const std::string& path) {
  return MapFile(path, false);
}

HypervisorState::~HypervisorState() {
  munmap(h_, XLSIM_FILE_SIZE);
  close(fd_);
}

void HypervisorState::Lock(bool exclusive) const {
  mutex_.Lock();
  while (flock(fd_, exclusive ? LOCK_EX : LOCK_SH) != 0 && errno == EINTR) {
  }
  if (exclusive) xlsim_collect(h_);
}

void HypervisorState::Unlock(bool bump) const {
  xlsim_publish(h_, bump);
  flock(fd_, LOCK_UN);
  mutex_.Unlock();
}

absl::StatusOr<Domid> HypervisorState::CreateDomain(
    const DomainConfig& config) {
  Domid created = 0;
  absl::Status status = Mutate([&](DomainTable& table) {
    Domid domid;
    if (config.domid) {
      domid = *config.domid;
    } else {
      // Xen's rover: search upwards from the last allocation, wrapping
      // past the last domid to 1, and give up after a full circle.
      const Domid rover = h_->domid_rover;
      domid = rover + 1;
      for (;; ++domid) {
        if (domid >= xen::kDomidFirstReserved) domid = 1;
        if (!table.Present(domid)) break;
        if (domid == rover) {
          return absl::ResourceExhaustedError("no free domid");
        }
      }
      h_->domid_rover = domid;
    }
    if (auto s = table.Add(domid, config); !s.ok()) return s;
    created = domid;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return created;
}

absl::Status HypervisorState::MutateDomain(
    Domid domid, const std::function<absl::Status(xlsim_header*, xlsim_domain&,
                                                  DomainTable&)>& fn) {
  return Mutate([&](DomainTable& table) {
    if (!table.Present(domid)) {
      return absl::NotFoundError(absl::StrCat("domain ", domid));
    }
    return fn(table.header(), table.Domain(domid), table);
  });
}

absl::Status HypervisorState::ReapDomain(Domid domid) {
  return MutateDomain(
      domid, [domid](xlsim_header*, xlsim_domain& d, DomainTable& table) {
        if (!d.dying) {
          return absl::FailedPreconditionError(
              absl::StrCat("domain ", domid, " is not dying"));
        }
        // complete_domain_destroy sends VIRQ_DOM_EXC.
        table.Remove(domid);
        xlsim_raise_dom_exc(table.header());
        return absl::OkStatus();
      });
}

absl::Status HypervisorState::GuestSetShutdownCode(Domid domid, uint8_t code) {
  return MutateDomain(domid,
                      [code](xlsim_header*, xlsim_domain& d, DomainTable&) {
                        // SCHEDOP_shutdown_code (sched/core.c): the code is set
                        // for a later shutdown, the first one given sticks, and
                        // the guest keeps running.
                        if (d.shutdown_code == XLSIM_SHUTDOWN_CODE_INVALID)
                          d.shutdown_code = code;
                        return absl::OkStatus();
                      });
}

absl::Status HypervisorState::GuestShutdown(Domid domid, uint8_t reason) {
  return MutateDomain(
      domid, [domid, reason](xlsim_header* h, xlsim_domain& d, DomainTable&) {
        xlsim_shutdown(h, domid, &d, reason);
        return absl::OkStatus();
      });
}

HostHalts HypervisorState::host_halts() const {
  HostHalts out;
  Read([&](DomainTable& table) {
    out.count = table.header()->host_halts;
    out.last_reason = table.header()->host_halt_reason;
  });
  return out;
}

void HypervisorState::FreezeClock() {
  Mutate([](DomainTable& table) {
    xlsim_header* h = table.header();
    if (!h->frozen_clock_ns) {
      __atomic_store_n(&h->frozen_clock_ns, xlsim_now_ns(h), __ATOMIC_RELEASE);
    }
    return absl::OkStatus();
  }).IgnoreError();
}

void HypervisorState::AdvanceClock(absl::Duration by) {
  Mutate([by](DomainTable& table) {
    xlsim_header* h = table.header();
    if (h->frozen_clock_ns) {
      __atomic_store_n(&h->frozen_clock_ns,
                       h->frozen_clock_ns + absl::ToInt64Nanoseconds(by),
                       __ATOMIC_RELEASE);
    }
    return absl::OkStatus();
  }).IgnoreError();
}

void HypervisorState::ThawClock() {
  Mutate([](DomainTable& table) {
    xlsim_header* h = table.header();
    const uint64_t frozen = h->frozen_clock_ns;
    if (!frozen) return absl::OkStatus();
    __atomic_store_n(&h->frozen_clock_ns, 0, __ATOMIC_RELEASE);
    // Time never goes backwards (cpu time would): if the clock was
    // advanced past the real one, the real one runs on from there.
    const uint64_t now = xlsim_now_ns(h);
    if (now < frozen) {
      __atomic_store_n(&h->clock_offset_ns, h->clock_offset_ns + frozen - now,
                       __ATOMIC_RELEASE);
    }
    return absl::OkStatus();
  }).IgnoreError();
}

absl::Status HypervisorState::SetMaxVcpus(Domid domid, uint32_t vcpus) {
  return MutateDomain(domid, [&](xlsim_header*, xlsim_domain& d, DomainTable&) {
    if (vcpus == 0 || vcpus > 512) {  // HVM_MAX_VCPUS is 128, PV more
      return absl::InvalidArgumentError(absl::StrCat(vcpus, " vCPUs"));
    }
    if (d.info.max_vcpu_id != XEN_INVALID_MAX_VCPU_ID) {
      return absl::FailedPreconditionError(
          absl::StrCat("domain ", domid, " has its vCPUs already"));
    }
    d.info.max_vcpu_id = vcpus - 1;
    return absl::OkStatus();
  });
}

absl::Status HypervisorState::SetMaxMemory(Domid domid, uint64_t bytes) {
  return MutateDomain(domid, [&](xlsim_header*, xlsim_domain& d, DomainTable&) {
    d.info.max_pages = bytes / xen::kPageSize;
    return absl::OkStatus();
  });
}

absl::Status HypervisorState::PopulateMemory(Domid domid, uint64_t bytes) {
  return MutateDomain(domid, [&](xlsim_header*, xlsim_domain& d, DomainTable&) {
    const uint64_t pages = d.info.tot_pages + bytes / xen::kPageSize;
    if (pages > d.info.max_pages) {
      return absl::ResourceExhaustedError(
          absl::StrCat("domain ", domid, ": ", pages,
                       " pages exceed its maximum of ", d.info.max_pages));
    }
    d.info.tot_pages = pages;
    return absl::OkStatus();
  });
}

absl::Status HypervisorState::VcpusUp(Domid domid, uint32_t count) {
  return MutateDomain(
      domid, [&](xlsim_header* h, xlsim_domain& d, DomainTable&) {
        if (d.info.max_vcpu_id == XEN_INVALID_MAX_VCPU_ID ||
            count > d.info.max_vcpu_id + 1) {
          return absl::FailedPreconditionError(absl::StrCat(
              "domain ", domid, " has fewer than ", count, " vCPUs"));
        }
        // The cpu time run so far by the vCPUs that were online is banked.
        if (d.runnable_since) {
          const uint64_t now = xlsim_now_ns(h);
          d.cpu_ns += xlsim_cpu_between(&d, domid, d.runnable_since, now);
          d.runnable_since = now;
        }
        d.info.nr_online_vcpus = std::max(d.info.nr_online_vcpus, count);
        return absl::OkStatus();
      });
}

absl::Status HypervisorState::SetLoad(Domid domid, uint32_t load_permille) {
  return MutateDomain(
      domid, [&](xlsim_header* h, xlsim_domain& d, DomainTable&) {
        // The cpu time run so far at the old load is banked; the new load
        // counts from now.
        if (d.runnable_since) {
          const uint64_t now = xlsim_now_ns(h);
          d.cpu_ns += xlsim_cpu_between(&d, domid, d.runnable_since, now);
          d.runnable_since = now;
        }
        d.load_permille = std::min<uint32_t>(load_permille, 1000);
        return absl::OkStatus();
      });
}

void HypervisorState::SetInterfaceVersions(uint32_t domctl, uint32_t sysctl) {
  Mutate([&](DomainTable& table) {
    table.header()->domctl_interface_version = domctl;
    table.header()->sysctl_interface_version = sysctl;
    return absl::OkStatus();
  }).IgnoreError();
}

absl::Status HypervisorState::Mutate(
    const std::function<absl::Status(DomainTable&)>& fn) {
  Lock(true);
  DomainTable table(h_);
  absl::Status status = fn(table);
  // Even a failed fn may have changed something: always tell the waiters.
  Unlock(true);
  return status;
}

void HypervisorState::Read(const std::function<void(DomainTable&)>& fn) const {
  Lock(false);
  DomainTable table(h_);
  fn(table);
  Unlock(false);
}

absl::StatusOr<xen_domctl_getdomaininfo> HypervisorState::Info(
    Domid domid) const {
  xen_domctl_getdomaininfo info{};
  bool found = false;
  Read([&](DomainTable& table) {
    if (!table.Present(domid)) return;
    xlsim_fill_info(table.header(), domid, &info);
    found = true;
  });
  if (!found) return absl::NotFoundError(absl::StrCat("domain ", domid));
  return info;
}

std::vector<Domid> HypervisorState::Domids() const {
  std::vector<Domid> out;
  Read([&](DomainTable& table) { out = table.Domids(); });
  return out;
}

uint32_t HypervisorState::DomainCount() const {
  // Dying domains whose time has come are not counted, collected or not.
  return static_cast<uint32_t>(Domids().size());
}

void HypervisorState::SetDyingTime(absl::Duration dying) {
  Mutate([dying](DomainTable& table) {
    table.header()->dying_ns =
        dying == absl::InfiniteDuration()
            ? XLSIM_NEVER
            : static_cast<uint64_t>(absl::ToInt64Nanoseconds(dying));
    return absl::OkStatus();
  }).IgnoreError();
}

uint32_t HypervisorState::Generation() const {
  return __atomic_load_n(&h_->generation, __ATOMIC_ACQUIRE);
}

void HypervisorState::Kick() {
  Lock(true);
  xlsim_raise_dom_exc(h_);
  Unlock(true);
}

uint32_t HypervisorState::DomExcCount() const {
  return __atomic_load_n(&h_->dom_exc, __ATOMIC_ACQUIRE);
}

uint32_t HypervisorState::WaitGeneration(uint32_t seen,
                                         absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  uint32_t now;
  while ((now = Generation()) == seen) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    timespec ts = absl::ToTimespec(left);
    syscall(SYS_futex, &h_->generation, FUTEX_WAIT, seen, &ts, nullptr, 0);
  }
  return now;
}

HypercallCounts HypervisorState::Counts() const {
  HypercallCounts out;
  for (size_t i = 0; i < out.by_kind.size(); ++i) {
    out.by_kind[i] = __atomic_load_n(&h_->calls[i], __ATOMIC_RELAXED);
  }
  out.other = __atomic_load_n(&h_->calls[XLSIM_CALL_OTHER], __ATOMIC_RELAXED);
  return out;
}

void HypervisorState::ResetCounts() {
  for (auto& c : h_->calls) __atomic_store_n(&c, 0, __ATOMIC_RELAXED);
}

void HypervisorState::InjectError(HypercallKind kind, int err, uint32_t count) {
  xlsim_fault& f = h_->faults[static_cast<int>(kind)];
  // Count first: a call that sees err also sees its count.
  __atomic_store_n(&f.err, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&f.count, count, __ATOMIC_RELEASE);
  __atomic_store_n(&f.err, err, __ATOMIC_RELEASE);
}

void HypervisorState::SetDelay(HypercallKind kind, absl::Duration delay) {
  __atomic_store_n(&h_->faults[static_cast<int>(kind)].delay_us,
                   static_cast<uint32_t>(absl::ToInt64Microseconds(delay)),
                   __ATOMIC_RELEASE);
}

void HypervisorState::ClearFaults() {
  for (auto& f : h_->faults) {
    __atomic_store_n(&f.err, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&f.count, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&f.delay_us, 0, __ATOMIC_RELEASE);
  }
}

std::string DescribeState(const xen_domctl_getdomaininfo& info) {
  if (info.flags & XEN_DOMINF_dying) return "dying";
  if (info.flags & XEN_DOMINF_shutdown) {
    auto reason = static_cast<xen::ShutdownReason>(
        (info.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask);
    return absl::StrCat("shutdown(", xen::ShutdownReasonName(reason), ")");
  }
  if (info.flags & XEN_DOMINF_paused) return "paused";
  if (info.flags & XEN_DOMINF_running) return "running";
  return "blocked";
}

}  // namespace xenlet::sim
