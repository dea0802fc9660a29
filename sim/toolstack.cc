#include "sim/toolstack.h"

#include <cstdio>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "sim/domctl.h"
#include "xen/libxenstore_client.h"
#include "xen/xenctrl_hypervisor.h"

namespace xenlet::sim {
namespace {

using xen::XenstoreTransaction;

constexpr uint64_t kStoreRingMfnBase = 0xfe000;
constexpr uint32_t kStorePort = 1;
constexpr uint32_t kConsolePort = 2;

struct Layout {
  std::string dom, vm, libxl, vif_backend, vbd_backend;
};

Layout PathsOf(Domid domid, const std::string& uuid) {
  return {xen::DomainPath(domid), absl::StrCat("/vm/", uuid),
          absl::StrCat("/libxl/", domid),
          absl::StrCat("/local/domain/0/backend/vif/", domid),
          absl::StrCat("/local/domain/0/backend/vbd/", domid)};
}

absl::Status IgnoreNotFound(absl::Status s) {
  return s.code() == absl::StatusCode::kNotFound ? absl::OkStatus() : s;
}

}  // namespace

std::array<uint8_t, 16> RandomUuid() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::array<uint8_t, 16> u;
  uint64_t a = rng(), b = rng();
  for (int i = 0; i < 8; ++i) {
    u[i] = static_cast<uint8_t>(a >> (8 * i));
    u[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  u[6] = (u[6] & 0x0f) | 0x40;  // version 4
  u[8] = (u[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return u;
}

std::string FormatUuid(const std::array<uint8_t, 16>& uuid) {
  xen::DomainInfo info;
  info.handle = uuid;
  return info.Uuid();
}

absl::StatusOr<std::unique_ptr<Toolstack>> Toolstack::Open(
    const ToolstackOptions& options) {
  std::unique_ptr<Toolstack> ts(new Toolstack(options));
  auto state = HypervisorState::Open(options.state_path);
  if (!state.ok()) return state.status();
  ts->state_ = std::move(*state);
  // The in-process fake hypervisor binds to this file when opened.
  const char* current = std::getenv(kStateEnv);
  if (!current || options.state_path != current) {
    setenv(kStateEnv, options.state_path.c_str(), 1);
  }
  auto hypervisor = xen::OpenXenctrlHypervisor({});
  if (!hypervisor.ok()) return hypervisor.status();
  ts->hypervisor_ = std::move(*hypervisor);
  if (auto s = ts->ReconnectXenstore(); !s.ok()) return s;
  return ts;
}

absl::Status Toolstack::ReconnectXenstore() {
  xenstore_.reset();
  auto client = xen::OpenLibxenstoreClient({options_.xenstore_socket});
  if (!client.ok()) return client.status();
  xenstore_ = std::move(*client);
  return absl::OkStatus();
}

absl::Status Toolstack::WithXenstore(
    const std::function<absl::Status(xen::XenstoreClient&)>& op) {
  if (!xenstore_) {
    if (auto s = ReconnectXenstore(); !s.ok()) return s;
  }
  absl::Status status = op(*xenstore_);
  if (status.code() != absl::StatusCode::kUnavailable) return status;
  if (auto s = ReconnectXenstore(); !s.ok()) return s;
  return op(*xenstore_);
}

std::vector<std::pair<std::string, std::string>> Toolstack::DomainKeys(
    Domid domid, const std::string& uuid, const std::string& name,
    const DomainSpec& spec) {
  const Layout p = PathsOf(domid, uuid);
  const std::string d = p.dom;
  const std::string kib = absl::StrCat(spec.memory_mib * 1024);
  const std::string vif = absl::StrCat(p.vif_backend, "/0");
  const std::string mac =
      absl::StrCat("00:16:3e:", absl::Hex(domid >> 8 & 0xff, absl::kZeroPad2),
                   ":", absl::Hex(domid & 0xff, absl::kZeroPad2), ":01");
  std::vector<std::pair<std::string, std::string>> keys = {
      {d + "/vm", p.vm},
      {d + "/name", name},
      {d + "/domid", absl::StrCat(domid)},
      {d + "/memory/static-max", kib},
      {d + "/memory/target", kib},
      {d + "/control/shutdown", ""},
      {d + "/control/platform-feature-multiprocessor-suspend", "1"},
      {d + "/control/platform-feature-xs_reset_watches", "1"},
      {d + "/store/port", absl::StrCat(kStorePort)},
      {d + "/store/ring-ref", absl::StrCat(kStoreRingMfnBase + domid)},
      {d + "/console/port", absl::StrCat(kConsolePort)},
      {d + "/console/ring-ref", absl::StrCat(kStoreRingMfnBase - 1 - domid)},
      {d + "/console/type", "xenconsoled"},
      {d + "/device/suspend/event-channel", ""},
      {d + "/device/vif/0/backend", vif},
      {d + "/device/vif/0/backend-id", "0"},
      {d + "/device/vif/0/state", "1"},
      {d + "/device/vif/0/handle", "0"},
      {d + "/device/vif/0/mac", mac},
      {vif + "/frontend", d + "/device/vif/0"},
      {vif + "/frontend-id", absl::StrCat(domid)},
      {vif + "/online", "1"},
      {vif + "/state", "1"},
      {vif + "/mac", mac},
      {vif + "/handle", "0"},
      {p.vm + "/uuid", uuid},
      {p.vm + "/name", name},
      {p.vm + "/start_time", absl::StrCat(absl::ToUnixSeconds(absl::Now()))},
      {p.libxl + "/type", spec.hvm ? "hvm" : "pv"},
      {p.libxl + "/dm-version", "qemu_xen"},
  };
  for (uint32_t v = 0; v < spec.vcpus; ++v) {
    keys.push_back({absl::StrCat(d, "/cpu/", v, "/availability"), "online"});
  }
  return keys;
}

absl::Status Toolstack::WriteDomainKeys(Domid domid, const std::string& uuid,
                                        const std::string& name,
                                        const DomainSpec& spec) {
  const Layout p = PathsOf(domid, uuid);
  const std::string self = absl::StrCat(domid);
  const std::string owner = "n" + self, reader = "r" + self;
  // Directories first, with libxl's permissions: dom0-owned and readable by
  // the guest, or guest-owned where the guest writes. Keys inherit them.
  const std::vector<std::pair<std::string, std::vector<std::string>>> dirs = {
      {p.dom, {"n0", reader}},
      {p.vm, {"n0", reader}},
      {p.libxl, {"n0"}},
      {p.dom + "/control", {"n0", reader}},
      {p.dom + "/data", {owner}},
      {p.dom + "/device", {owner}},
      {p.dom + "/device/vif/0", {owner, "r0"}},
      {p.vif_backend + "/0", {"n0", reader}},
  };
  auto keys = DomainKeys(domid, uuid, name, spec);
  return WithXenstore([&](xen::XenstoreClient& xs) {
    return xen::RunTransaction(
        xs,
        [&](XenstoreTransaction& t) -> absl::Status {
          for (const auto& [path, perms] : dirs) {
            if (auto s = t.Mkdir(path); !s.ok()) return s;
            if (auto s = t.SetPermissions(path, perms); !s.ok()) return s;
          }
          for (const auto& [path, value] : keys) {
            if (auto s = t.Write(path, value); !s.ok()) return s;
          }
          // The guest answers shutdown requests here.
          return t.SetPermissions(p.dom + "/control/shutdown", {owner});
        },
        options_.retry);
  });
}

absl::StatusOr<CreatedDomain> Toolstack::CreateDomain(const DomainSpec& spec) {
  DomainConfig config;
  config.uuid = spec.uuid ? *spec.uuid : RandomUuid();
  config.memory_bytes = spec.memory_mib << 20;
  config.vcpus = spec.vcpus;
  config.hvm = spec.hvm;
  config.load_permille = spec.load_permille;
  // A domid still in use is refused by createdomain below; a freed one
  // may still be held by xenstored.
  if (spec.domid && !state_->Info(*spec.domid).ok()) {
    if (auto s = AwaitReleased(*spec.domid); !s.ok()) return s;
  }
  config.domid = spec.domid;
  auto domid = state_->CreateDomain(config);
  if (!domid.ok()) return domid.status();
  CreatedDomain out{
      *domid, FormatUuid(config.uuid),
      spec.name.empty() ? absl::StrCat("sim-", *domid) : spec.name};
  absl::Status status = WriteDomainKeys(out.domid, out.uuid, out.name, spec);
  if (status.ok()) {
    status = WithXenstore([&](xen::XenstoreClient& xs) {
      return xs.IntroduceDomain(out.domid, kStoreRingMfnBase + out.domid,
                                kStorePort);
    });
  }
  if (status.ok() && spec.start) status = hypervisor_->UnpauseDomain(out.domid);
  if (!status.ok()) {
    // Leave nothing half-built behind.
    DestroyDomain(out.domid).IgnoreError();
    return status;
  }
  return out;
}

absl::Status Toolstack::RestoreDomains() {
  for (Domid domid : state_->Domids()) {
    if (domid == 0) continue;
    auto info = hypervisor_->GetDomainInfo(domid);
    if (!info.ok()) return info.status();
    if (info->dying) continue;
    DomainSpec spec;
    spec.memory_mib = info->tot_pages * xen::kPageSize >> 20;
    spec.vcpus = info->nr_online_vcpus;
    spec.hvm = info->hvm;
    const std::string name = absl::StrCat("sim-", domid);
    if (auto s = WriteDomainKeys(domid, info->Uuid(), name, spec); !s.ok()) {
      return s;
    }
    absl::Status s = WithXenstore([&](xen::XenstoreClient& xs) {
      return xs.IntroduceDomain(domid, kStoreRingMfnBase + domid, kStorePort);
    });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Toolstack::PauseDomain(Domid domid) {
  return hypervisor_->PauseDomain(domid);
}

absl::Status Toolstack::UnpauseDomain(Domid domid) {
  return hypervisor_->UnpauseDomain(domid);
}

absl::Status Toolstack::ShutdownDomain(Domid domid,
                                       xen::ShutdownReason reason) {
  // Never ask dom0 (the host itself) through control/shutdown.
  if (domid == 0) {
    return absl::InvalidArgumentError("cannot shut down dom0");
  }
  auto info = hypervisor_->GetDomainInfo(domid);
  if (!info.ok()) return info.status();
  const std::string word = xen::ShutdownRequestWord(reason);
  if (!word.empty()) {
    const std::string key = xen::DomainPath(domid) + "/control/shutdown";
    // The toolstack's request, then the guest's acknowledgement (it clears
    // the key before shutting down).
    absl::Status s = WithXenstore([&](xen::XenstoreClient& xs) {
      if (auto w = xs.Write(key, word); !w.ok()) return w;
      return xen::RunTransaction(
          xs,
          [&](XenstoreTransaction& t) -> absl::Status {
            auto seen = t.Read(key);
            if (!seen.ok()) return seen.status();
            return t.Write(key, "");
          },
          options_.retry);
    });
    if (!s.ok()) return s;
  }
  // The guest's SCHEDOP_shutdown; the fake answers the remote form.
  return hypervisor_->ShutdownDomain(domid, reason);
}

absl::Status Toolstack::ResumeDomain(Domid domid) {
  return ResumeDomainDomctl(domid);
}

absl::Status Toolstack::GuestSetShutdownCode(Domid domid,
                                             xen::ShutdownReason reason) {
  return state_->GuestSetShutdownCode(domid, static_cast<uint8_t>(reason));
}

absl::Status Toolstack::DestroyDomain(Domid domid) {
  // libxl__destroy_domid (libxl_domain.c): pause first (a failure is only
  // logged there), tear the devices down, remove the domain's paths, then
  // the destroy hypercall. No XS_RELEASE: xenstored finds out by itself
  // (VIRQ_DOM_EXC, check_domains). The hypervisor frees the domain when its
  // last reference goes (HypervisorState::SetDyingTime).
  auto info = state_->Info(domid);
  if (!info.ok()) return info.status();
  if (domid == 0) return absl::InvalidArgumentError("cannot destroy dom0");
  std::array<uint8_t, 16> handle;
  std::copy(std::begin(info->handle), std::end(info->handle), handle.begin());
  if (!(info->flags & XEN_DOMINF_dying)) {
    hypervisor_->PauseDomain(domid).IgnoreError();
  }
  const Layout p = PathsOf(domid, FormatUuid(handle));
  absl::Status removed = WithXenstore([&](xen::XenstoreClient& xs) {
    for (const std::string& path :
         {p.vif_backend, p.vbd_backend, p.vm, p.dom, p.libxl}) {
      if (auto s = IgnoreNotFound(xs.Remove(path)); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
  absl::Status destroyed = hypervisor_->DestroyDomain(domid);
  return destroyed.ok() ? removed : destroyed;
}

absl::Status Toolstack::AwaitReleased(Domid domid) {
  // libxl never reuses a domid destroyed less than 60 s ago
  // (LIBXL_DOMID_REUSE_TIMEOUT), by which time xenstored has long released
  // it. The simulator may reuse one at once, so it waits for that release
  // (@releaseDomain), as a domain introduced while xenstored still holds
  // its predecessor would be taken for a reconnection of it.
  return WithXenstore([&](xen::XenstoreClient& xs) -> absl::Status {
    auto introduced = xs.IsDomainIntroduced(domid);
    if (!introduced.ok() || !*introduced) return introduced.status();
    const std::string token = absl::StrCat("xlsim-release-", domid);
    if (auto s = xs.Watch("@releaseDomain", token); !s.ok()) return s;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    absl::Status status = absl::DeadlineExceededError(
        absl::StrCat("xenstored still holds domain ", domid, " after 10 s"));
    while (absl::Now() < deadline) {
      introduced = xs.IsDomainIntroduced(domid);
      if (!introduced.ok()) {
        status = introduced.status();
        break;
      }
      if (!*introduced) {
        status = absl::OkStatus();
        break;
      }
      auto event = xs.NextWatchEvent(deadline - absl::Now());
      if (!event.ok()) {
        status = event.status();
        break;
      }
    }
    xs.Unwatch("@releaseDomain", token).IgnoreError();
    return status;
  });
}

}  // namespace xenlet::sim
