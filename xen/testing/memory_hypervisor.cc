#include "xen/testing/memory_hypervisor.h"

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "xen/errno_status.h"

namespace xenlet::xen::testing {
namespace {

// What the real implementation answers for a domid outside Xen's range,
// before any hypercall.
absl::Status Reserved(Domid domid) {
  return absl::InvalidArgumentError(
      absl::StrCat("domid ", domid, " is reserved"));
}

}  // namespace

MemoryHypervisor::MemoryHypervisor() {
  DomainInfo dom0;
  dom0.domid = 0;
  dom0.nr_online_vcpus = 1;
  dom0.max_vcpu_id = 0;
  dom0.tot_pages = dom0.max_pages = 262144;
  Entry entry{dom0, 0};
  Derive(entry);
  domains_[0] = entry;
  physinfo_.nr_cpus = 2;
  physinfo_.threads_per_core = 1;
  physinfo_.cores_per_socket = 2;
  physinfo_.nr_nodes = 1;
  physinfo_.total_bytes = uint64_t{24} << 30;
  physinfo_.free_bytes = uint64_t{16} << 30;
  physinfo_.cap_pv = true;
  version_ = {4, 17, ".0", "xen-3.0-x86_64 hvm-3.0-x86_64"};
}

void MemoryHypervisor::Derive(Entry& entry) {
  DomainInfo& info = entry.info;
  info.paused = entry.pause_count > 0;
  const bool runnable = !info.paused && !info.shutdown && !info.dying;
  // A paused, shut-down or dying domain's vCPUs are not running; whether
  // they are blocked is left as the test set it (Xen's getdomaininfo does
  // not clear it for a paused domain). A runnable one with vCPUs runs
  // unless a test said blocked.
  if (!runnable || info.nr_online_vcpus == 0) {
    info.running = false;
  } else {
    info.running = !info.blocked;
  }
}

DomainInfo MemoryHypervisor::Created(Domid domid, uint8_t uuid_byte) {
  DomainInfo info;
  info.domid = domid;
  info.handle.fill(uuid_byte);
  info.paused = true;  // the controller's, until the toolstack's unpause
  return info;
}

DomainInfo MemoryHypervisor::Running(Domid domid, uint8_t uuid_byte) {
  DomainInfo info = Created(domid, uuid_byte);
  info.paused = false;
  info.nr_online_vcpus = 1;
  info.max_vcpu_id = 0;
  info.tot_pages = info.max_pages = 65536;
  return info;
}

void MemoryHypervisor::Create(const DomainInfo& info) {
  absl::MutexLock lock(&mutex_);
  Entry entry{info, info.paused ? 1u : 0u};
  Derive(entry);
  domains_[info.domid] = entry;
}

bool MemoryHypervisor::Update(Domid domid,
                              const std::function<void(DomainInfo&)>& change) {
  absl::MutexLock lock(&mutex_);
  auto it = domains_.find(domid);
  if (it == domains_.end()) return false;
  const bool was_paused = it->second.info.paused;
  change(it->second.info);
  // A test that flips `paused` means the controller's pause.
  if (it->second.info.paused != was_paused) {
    it->second.pause_count = it->second.info.paused ? 1 : 0;
  }
  Derive(it->second);
  return true;
}

bool MemoryHypervisor::Remove(Domid domid) {
  absl::MutexLock lock(&mutex_);
  return domains_.erase(domid) > 0;
}

std::vector<DomainInfo> MemoryHypervisor::Domains() const {
  absl::MutexLock lock(&mutex_);
  std::vector<DomainInfo> out;
  for (const auto& [domid, entry] : domains_) out.push_back(entry.info);
  return out;
}

void MemoryHypervisor::SetKeepDying(bool keep) {
  absl::MutexLock lock(&mutex_);
  keep_dying_ = keep;
}

void MemoryHypervisor::SetPhysInfo(const PhysInfo& info) {
  absl::MutexLock lock(&mutex_);
  physinfo_ = info;
}

void MemoryHypervisor::SetVersion(const XenVersion& version) {
  absl::MutexLock lock(&mutex_);
  version_ = version;
}

uint64_t MemoryHypervisor::calls() const {
  absl::MutexLock lock(&mutex_);
  return calls_;
}

absl::Status MemoryHypervisor::GetDomainInfoList(Domid first_domid,
                                                 uint32_t max_domains,
                                                 std::vector<DomainInfo>* out) {
  if (first_domid >= kDomidFirstReserved) return Reserved(first_domid);
  absl::MutexLock lock(&mutex_);
  ++calls_;
  // One lock for the whole walk: the answer is one consistent view.
  out->clear();
  for (auto it = domains_.lower_bound(first_domid);
       it != domains_.end() && out->size() < max_domains; ++it) {
    out->push_back(it->second.info);
  }
  return absl::OkStatus();
}

absl::StatusOr<DomainInfo> MemoryHypervisor::GetDomainInfo(Domid domid) {
  if (domid >= kDomidFirstReserved) return Reserved(domid);
  absl::MutexLock lock(&mutex_);
  ++calls_;
  auto it = domains_.find(domid);
  if (it == domains_.end()) {
    return absl::NotFoundError(absl::StrCat("domain ", domid, " not found"));
  }
  return it->second.info;
}

absl::StatusOr<PhysInfo> MemoryHypervisor::GetPhysInfo() {
  absl::MutexLock lock(&mutex_);
  ++calls_;
  return physinfo_;
}

absl::StatusOr<XenVersion> MemoryHypervisor::GetVersion() {
  absl::MutexLock lock(&mutex_);
  ++calls_;
  return version_;
}

absl::Status MemoryHypervisor::Control(
    Domid domid, const char* verb,
    const std::function<absl::Status(std::map<Domid, Entry>::iterator)>& act) {
  if (domid >= kDomidFirstReserved) return Reserved(domid);
  absl::MutexLock lock(&mutex_);
  ++calls_;
  auto it = domains_.find(domid);
  if (it == domains_.end()) {
    return ErrnoToStatus(ESRCH, absl::StrCat(verb, " domain ", domid));
  }
  // Dom0 is the caller's own domain: Xen refuses to pause or destroy it.
  if (domid == 0 && verb != std::string_view("unpause")) {
    return ErrnoToStatus(EINVAL, absl::StrCat(verb, " domain 0"));
  }
  return act(it);
}

absl::Status MemoryHypervisor::PauseDomain(Domid domid) {
  return Control(domid, "pause", [&](auto it) {
    Entry& entry = it->second;
    // The controller's count saturates.
    if (entry.pause_count >= 255) {
      return ErrnoToStatus(EOVERFLOW, absl::StrCat("pause domain ", domid));
    }
    ++entry.pause_count;
    Derive(entry);
    return absl::OkStatus();
  });
}

absl::Status MemoryHypervisor::UnpauseDomain(Domid domid) {
  return Control(domid, "unpause", [&](auto it) {
    Entry& entry = it->second;
    if (entry.pause_count == 0) {
      return ErrnoToStatus(EINVAL, absl::StrCat("unpause domain ", domid));
    }
    --entry.pause_count;
    Derive(entry);
    return absl::OkStatus();
  });
}

absl::Status MemoryHypervisor::DestroyDomain(Domid domid) {
  return Control(domid, "destroy", [&](auto it) {
    mutex_.AssertHeld();  // Control calls it with the lock held
    // domain_kill: dying until its last reference goes; destroying a
    // dying domain again succeeds.
    if (keep_dying_) {
      it->second.info.dying = true;
      Derive(it->second);
    } else {
      domains_.erase(it);
    }
    return absl::OkStatus();
  });
}

absl::Status MemoryHypervisor::ShutdownDomain(Domid domid,
                                              ShutdownReason reason) {
  // Dom0's shutdown would halt the host; nothing here models that, so it
  // is refused loudly (Control refuses it as "shut down domain 0").
  return Control(domid, "shut down", [&](auto it) {
    DomainInfo& info = it->second.info;
    // domain_shutdown: the first code sticks.
    if (info.shutdown_code == kShutdownCodeInvalid) {
      info.shutdown_code = static_cast<uint8_t>(reason);
    }
    info.shutdown = true;
    Derive(it->second);
    return absl::OkStatus();
  });
}

}  // namespace xenlet::xen::testing
