#include "sim/toolstack.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "sim/domctl.h"
#include "xen/errno_status.h"
#include "xen/libxenstore_client.h"
#include "xen/xenctrl_hypervisor.h"

namespace xenlet::sim {
namespace {

using xen::XenstoreTransaction;

constexpr uint64_t kStoreRingMfnBase = 0xfe000;
constexpr uint32_t kStorePort = 1;
constexpr uint32_t kConsolePort = 2;
// libxl's LIBXL_MAXMEM_CONSTANT: the slack above the target that
// libxl__build_pre gives XEN_DOMCTL_max_mem.
constexpr uint64_t kMaxMemSlackBytes = 1024 * 1024;
// The domain builder populates memory in batches; each is visible.
constexpr int kPopulateBatches = 4;

absl::Status IgnoreNotFound(absl::Status s) {
  return s.code() == absl::StatusCode::kNotFound ? absl::OkStatus() : s;
}

LibxlDomain LibxlView(Domid domid, const std::string& uuid,
                      const std::string& name, const DomainSpec& spec) {
  LibxlDomain d;
  d.domid = domid;
  d.uuid = uuid;
  d.name = name;
  d.hvm = spec.hvm;
  d.memory_kib = spec.memory_mib * 1024;
  d.vcpus = spec.vcpus;
  d.nic = spec.nic;
  d.start_time = absl::Now();
  d.store_port = kStorePort;
  d.store_mfn = kStoreRingMfnBase + domid;
  d.console_port = kConsolePort;
  d.console_mfn = kStoreRingMfnBase - 1 - domid;
  return d;
}

// Outside a transaction: a plain write or remove (libxl sets permissions
// only inside its transactions).
absl::Status Apply(xen::XenstoreClient& xs, const XsOp& op) {
  if (op.kind == XsOp::kRemove) return IgnoreNotFound(xs.Remove(op.path));
  if (!op.perms.empty()) {
    return absl::InternalError("permissions outside a transaction");
  }
  return xs.Write(op.path, op.value);
}

absl::Status Apply(XenstoreTransaction& t, const XsOp& op) {
  switch (op.kind) {
    case XsOp::kRemove:
      return IgnoreNotFound(t.Remove(op.path));
    case XsOp::kMknod:
    case XsOp::kWrite:
      if (auto s = t.Write(op.path, op.value); !s.ok()) return s;
      return op.perms.empty() ? absl::OkStatus()
                              : t.SetPermissions(op.path, op.perms);
  }
  return absl::InternalError("unknown xenstore operation");
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
  ts->history_ = std::make_unique<DomidHistory>(
      options.domid_history_path.empty() ? options.state_path + ".domid-history"
                                         : options.domid_history_path,
      options.domid_reuse_timeout);
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
  return WrittenKeys(LibxlCreationKeys(LibxlView(domid, uuid, name, spec)));
}

absl::Status Toolstack::RunOps(const std::vector<XsOp>& ops) {
  if (ops.empty()) return absl::OkStatus();
  return WithXenstore([&](xen::XenstoreClient& xs) {
    return xen::RunTransaction(
        xs,
        [&](XenstoreTransaction& t) -> absl::Status {
          for (const XsOp& op : ops) {
            if (auto s = Apply(t, op); !s.ok()) return s;
          }
          return absl::OkStatus();
        },
        options_.retry);
  });
}

absl::Status Toolstack::WriteDomainKeys(const LibxlKeys& keys) {
  if (auto s = RunOps(keys.make); !s.ok()) return s;
  if (auto s = WithXenstore(
          [&](xen::XenstoreClient& xs) { return Apply(xs, keys.dm_version); });
      !s.ok()) {
    return s;
  }
  return RunOps(keys.build_post);
}

absl::Status Toolstack::AddDevices(const LibxlKeys& keys) {
  if (auto s = RunOps(keys.console); !s.ok()) return s;
  return RunOps(keys.nic);
}

absl::Status Toolstack::Introduce(Domid domid) {
  return WithXenstore([&](xen::XenstoreClient& xs) {
    return xs.IntroduceDomain(domid, kStoreRingMfnBase + domid, kStorePort);
  });
}

absl::Status Toolstack::BuildDomain(Domid domid, const DomainSpec& spec) {
  // libxl__build_pre: the vCPUs (all down), the memory limit; then the
  // domain builder allocates the memory and sets vCPU 0's context.
  const uint64_t bytes = spec.memory_mib << 20;
  if (auto s = state_->SetMaxVcpus(domid, spec.vcpus); !s.ok()) return s;
  if (auto s = state_->SetMaxMemory(domid, bytes + kMaxMemSlackBytes);
      !s.ok()) {
    return s;
  }
  const uint64_t batch =
      bytes / kPopulateBatches / xen::kPageSize * xen::kPageSize;
  for (int i = 0; i < kPopulateBatches; ++i) {
    const uint64_t n = i + 1 < kPopulateBatches
                           ? batch
                           : bytes - batch * (kPopulateBatches - 1);
    if (auto s = state_->PopulateMemory(domid, n); !s.ok()) return s;
  }
  return state_->VcpusUp(domid, 1);
}

absl::Status Toolstack::BootGuest(Domid domid) {
  // The guest, once it runs, brings its other vCPUs up, and its xenbus
  // driver announces the shutdown requests it answers (Linux's
  // setup_shutdown_watcher writes control/feature-* = 1; libxl made them
  // empty). Those keys say whether it has booted already.
  auto info = state_->Info(domid);
  if (!info.ok()) return info.status();
  if (info->max_vcpu_id == XEN_INVALID_MAX_VCPU_ID ||
      (info->flags &
       (XEN_DOMINF_paused | XEN_DOMINF_shutdown | XEN_DOMINF_dying))) {
    return absl::OkStatus();  // not running (still paused by someone)
  }
  const std::string control = xen::DomainPath(domid) + "/control/feature-";
  return WithXenstore([&](xen::XenstoreClient& xs) -> absl::Status {
    auto announced = xs.Read(control + "poweroff");
    if (!announced.ok()) return IgnoreNotFound(announced.status());
    if (!announced->empty()) return absl::OkStatus();  // booted before
    if (auto s = state_->VcpusUp(domid, info->max_vcpu_id + 1); !s.ok()) {
      return s;
    }
    for (const char* feature : {"poweroff", "reboot", "suspend"}) {
      if (auto s = xs.Write(control + feature, "1"); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<CreatedDomain> Toolstack::CreateDomain(const DomainSpec& spec) {
  DomainConfig config;
  config.uuid = spec.uuid ? *spec.uuid : RandomUuid();
  config.memory_bytes = spec.memory_mib << 20;
  config.vcpus = spec.vcpus;
  config.hvm = spec.hvm;
  config.load_permille = spec.load_permille;
  config.built = false;
  // A domid still in use is refused by createdomain below; a freed one
  // may still be held by xenstored.
  if (spec.domid && !state_->Info(*spec.domid).ok()) {
    if (auto s = AwaitReleased(*spec.domid); !s.ok()) return s;
  }
  config.domid = spec.domid;
  // libxl__domain_make's loop: a domid used too recently is refused if it
  // was asked for, and otherwise destroyed again for the next one.
  Domid domid = 0;
  absl::Time created_at;
  for (int attempt = 0;; ++attempt) {
    if (attempt == xen::kDomidFirstReserved) {
      return absl::ResourceExhaustedError(
          "every free domid was used too recently");
    }
    created_at = absl::Now();
    auto created = state_->CreateDomain(config);
    if (!created.ok()) return created.status();
    domid = *created;
    auto recent = history_->RecentlyUsed(domid);
    if (recent.ok() && !*recent) break;
    hypervisor_->DestroyDomain(domid).IgnoreError();
    if (!recent.ok()) return recent.status();
    if (spec.domid) {
      return absl::FailedPreconditionError(absl::StrCat(
          "domain id ", domid,
          " recently used: libxl gives no domid to a "
          "new domain within ",
          absl::FormatDuration(history_->timeout()), " of its destruction"));
    }
  }
  Stamp(domid, ToolstackStep::kCreated, created_at);
  CreatedDomain out{
      domid, FormatUuid(config.uuid),
      spec.name.empty() ? absl::StrCat("sim-", domid) : spec.name};
  if (spec.few_keys) {
    const std::string dom = xen::DomainPath(domid);
    absl::Status status = BuildDomain(domid, spec);
    if (status.ok()) {
      status =
          RunOps({{XsOp::kWrite, dom + "/name", out.name, {}},
                  {XsOp::kWrite, dom + "/domid", absl::StrCat(domid), {}}});
    }
    if (status.ok() && spec.start) status = UnpauseDomain(domid);
    if (!status.ok()) {
      DestroyDomain(domid).IgnoreError();
      return status;
    }
    return out;
  }
  const LibxlKeys keys =
      LibxlCreationKeys(LibxlView(domid, out.uuid, out.name, spec));
  absl::Status status = RunOps(keys.make);
  if (status.ok()) {
    status = WithXenstore(
        [&](xen::XenstoreClient& xs) { return Apply(xs, keys.dm_version); });
  }
  if (status.ok()) status = BuildDomain(domid, spec);
  if (status.ok()) status = RunOps(keys.build_post);
  if (status.ok()) status = Introduce(domid);
  if (status.ok()) status = AddDevices(keys);
  if (status.ok() && spec.start) status = UnpauseDomain(domid);
  if (!status.ok()) {
    // Leave nothing half-built behind.
    DestroyDomain(domid).IgnoreError();
    return status;
  }
  return out;
}

absl::Status Toolstack::RestoreDomains(
    const std::map<std::string, std::string>& names) {
  for (Domid domid : state_->Domids()) {
    if (domid == 0) continue;
    auto info = hypervisor_->GetDomainInfo(domid);
    if (!info.ok()) return info.status();
    if (info->dying) continue;
    DomainSpec spec;
    spec.memory_mib = info->tot_pages * xen::kPageSize >> 20;
    spec.vcpus = info->max_vcpu_id == XEN_INVALID_MAX_VCPU_ID
                     ? 1
                     : info->max_vcpu_id + 1;
    spec.hvm = info->hvm;
    auto named = names.find(info->Uuid());
    const LibxlKeys keys = LibxlCreationKeys(LibxlView(
        domid, info->Uuid(),
        named != names.end() ? named->second : absl::StrCat("sim-", domid),
        spec));
    if (auto s = WriteDomainKeys(keys); !s.ok()) return s;
    if (auto s = Introduce(domid); !s.ok()) return s;
    if (auto s = AddDevices(keys); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void Toolstack::Stamp(Domid domid, ToolstackStep::Kind kind, absl::Time at) {
  if (options_.on_step) options_.on_step({domid, kind, at});
}

// Steps are stamped with the time their call was made (so that no agent
// can have seen one before its stamp), once it has succeeded.
absl::Status Toolstack::PauseDomain(Domid domid) {
  const absl::Time at = absl::Now();
  absl::Status s = hypervisor_->PauseDomain(domid);
  if (s.ok()) Stamp(domid, ToolstackStep::kPaused, at);
  return s;
}

absl::Status Toolstack::UnpauseDomain(Domid domid) {
  const absl::Time at = absl::Now();
  if (auto s = hypervisor_->UnpauseDomain(domid); !s.ok()) return s;
  Stamp(domid, ToolstackStep::kUnpaused, at);
  // Whenever the guest first runs (at once after `xl create`, at the first
  // unpause after `xl create -p`).
  return BootGuest(domid);
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
  const uint8_t code = static_cast<uint8_t>(reason);
  if (word.empty()) {
    const absl::Time at = absl::Now();
    absl::Status s = state_->GuestShutdown(domid, code);
    if (s.ok()) Stamp(domid, ToolstackStep::kShutdownRequested, at);
    return s;
  }
  const std::string key = xen::DomainPath(domid) + "/control/shutdown";
  const uint32_t generation = state_->Generation();
  absl::Status s = WithXenstore([&](xen::XenstoreClient& xs) {
    const absl::Time at = absl::Now();
    if (auto w = xs.Write(key, word); !w.ok()) return w;
    Stamp(domid, ToolstackStep::kShutdownRequested, at);
    if (options_.guests_answer) return absl::OkStatus();
    // No guest will answer: its acknowledgement (it clears the key)...
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
  // ...and its SCHEDOP_shutdown.
  if (!options_.guests_answer) return state_->GuestShutdown(domid, code);
  // A paused guest answers once unpaused: the request stays pending, as
  // after `xl shutdown` (without -w) of a paused domain.
  if (info->paused) return absl::OkStatus();
  return AwaitShutdown(domid, generation);
}

absl::Status Toolstack::AwaitShutdown(Domid domid, uint32_t generation) {
  // Every change of the domain table bumps the generation: wait on it.
  const absl::Time deadline = absl::Now() + kGuestAnswerTimeout;
  for (;;) {
    auto info = state_->Info(domid);
    if (!info.ok()) return info.status();
    if (info->flags & (XEN_DOMINF_shutdown | XEN_DOMINF_dying)) {
      return absl::OkStatus();
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "domain ", domid, " did not shut down within ",
          absl::FormatDuration(kGuestAnswerTimeout),
          " of the request (does its guest answer control/shutdown?)"));
    }
    generation = state_->WaitGeneration(generation, left);
  }
}

absl::Status Toolstack::ResumeDomain(Domid domid) {
  // libxl__domain_resume: the domctl, then XS_RESUME, so that xenstored
  // counts the domain's next shutdown as a new one.
  if (auto s = ResumeDomainDomctl(domid); !s.ok()) return s;
  return WithXenstore(
      [&](xen::XenstoreClient& xs) { return xs.ResumeDomain(domid); });
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
  absl::Status removed = RemoveDomainKeys(domid, FormatUuid(handle));
  const absl::Time destroy_at = absl::Now();
  absl::Status destroyed = hypervisor_->DestroyDomain(domid);
  if (destroyed.ok()) {
    Stamp(domid, ToolstackStep::kDestroyed, destroy_at);
    history_->Mark(domid).IgnoreError();
  }
  return destroyed.ok() ? removed : destroyed;
}

namespace {

// libxl__xs_path_cleanup: the path, then each parent left empty (no value,
// no children).
absl::Status PathCleanup(XenstoreTransaction& t, std::string path) {
  absl::Status removed = t.Remove(path);
  if (removed.code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  if (!removed.ok()) return removed;
  for (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0;
       slash = path.rfind('/')) {
    path.resize(slash);
    auto value = t.Read(path);
    if (!value.ok() || !value->empty()) break;
    auto children = t.Directory(path);
    if (!children.ok() || !children->empty()) break;
    if (auto s = IgnoreNotFound(t.Remove(path)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Toolstack::DestroyDevices(xen::XenstoreClient& xs,
                                       const std::string& libxl_path) {
  // libxl__devices_destroy: every device libxl recorded under
  // /libxl/N/device/KIND/DEVID.
  auto kinds = xs.Directory(libxl_path + "/device");
  if (!kinds.ok()) return IgnoreNotFound(kinds.status());
  for (const std::string& kind : *kinds) {
    const std::string kind_path = absl::StrCat(libxl_path, "/device/", kind);
    auto devids = xs.Directory(kind_path);
    if (!devids.ok()) continue;
    for (const std::string& devid : *devids) {
      const std::string record = absl::StrCat(kind_path, "/", devid);
      auto frontend = xs.Read(record + "/frontend");
      auto backend = xs.Read(record + "/backend");
      if (!frontend.ok() || !backend.ok()) continue;
      // libxl__device_destroy: frontend, record and backend go together.
      auto destroy = [&](XenstoreTransaction& t) -> absl::Status {
        for (const std::string& path : {*frontend, record, *backend}) {
          if (auto s = PathCleanup(t, path); !s.ok()) return s;
        }
        return absl::OkStatus();
      };
      if (kind != "console") {
        // A forced remove: the frontend goes, the backend is told to close
        // (online 0, state 5) and given libxl's 10 s to reach state 6.
        absl::Status closing = xen::RunTransaction(
            xs,
            [&](XenstoreTransaction& t) -> absl::Status {
              if (auto s = PathCleanup(t, *frontend); !s.ok()) return s;
              auto state = t.Read(*backend + "/state");
              if (!state.ok()) return IgnoreNotFound(state.status());
              if (*state == "6") return absl::OkStatus();  // closed already
              if (auto s = t.Write(*backend + "/online", "0"); !s.ok()) {
                return s;
              }
              return t.Write(*backend + "/state", "5");
            },
            options_.retry);
        if (!closing.ok()) return closing;
        // Without simulated backends the toolstack plays the backend too.
        if (!options_.guests_answer) {
          if (auto s = IgnoreNotFound(xs.Write(*backend + "/state", "6"));
              !s.ok()) {
            return s;
          }
        }
        if (auto s = AwaitBackendClosed(xs, *backend + "/state"); !s.ok()) {
          return s;
        }
      }
      absl::Status s = xen::RunTransaction(xs, destroy, options_.retry);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Toolstack::AwaitBackendClosed(xen::XenstoreClient& xs,
                                           const std::string& state_path) {
  // libxl watches the backend's state for LIBXL_DESTROY_TIMEOUT; a backend
  // that never closes is removed anyway once that has passed.
  const std::string token = "xlsim-backend-closed";
  if (auto s = xs.Watch(state_path, token); !s.ok()) return s;
  const absl::Time deadline = absl::Now() + kLibxlDestroyTimeout;
  absl::Status status = absl::OkStatus();
  while (absl::Now() < deadline) {
    auto state = xs.Read(state_path);
    if (!state.ok() || *state == "6") break;  // gone, or XenbusStateClosed
    auto event = xs.NextWatchEvent(deadline - absl::Now());
    if (!event.ok()) {
      status = event.status();
      break;
    }
  }
  xs.Unwatch(state_path, token).IgnoreError();
  return status;
}

absl::Status Toolstack::RemoveDomainKeys(Domid domid, const std::string& uuid) {
  const DomainPaths p = PathsOf(domid, uuid);
  return WithXenstore([&](xen::XenstoreClient& xs) {
    if (auto s = DestroyDevices(xs, p.libxl); !s.ok()) return s;
    for (const std::string& path :
         {p.vm, p.dom, p.libxl, p.dom + "/hvmloader"}) {
      if (auto s = IgnoreNotFound(xs.Remove(path)); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

absl::Status Toolstack::SoftResetDomain(Domid domid) {
  auto config = ReadConfig(domid);
  if (!config.ok()) return config.status();
  const auto& [spec, uuid] = *config;
  if (!spec.hvm) {
    return absl::InvalidArgumentError(absl::StrCat(
        "domain ", domid, " is PV: Xen soft-resets HVM domains only"));
  }
  // soft_reset_dm_suspended: XS_RELEASE (the backends disconnect), then
  // libxl__domain_destroy in its soft-reset form: the devices and keys go,
  // the domain stays; then the domctl.
  if (auto s = WithXenstore(
          [&](xen::XenstoreClient& xs) { return xs.ReleaseDomain(domid); });
      !s.ok()) {
    return s;
  }
  if (auto s = RemoveDomainKeys(domid, uuid); !s.ok()) return s;
  if (auto s = SoftResetDomctl(domid); !s.ok()) return s;
  // libxl__domain_make (soft_reset) and the rebuild: the same keys again.
  const LibxlKeys keys =
      LibxlCreationKeys(LibxlView(domid, uuid, spec.name, spec));
  if (auto s = WriteDomainKeys(keys); !s.ok()) return s;
  if (auto s = Introduce(domid); !s.ok()) return s;
  return AddDevices(keys);
}

absl::StatusOr<std::pair<DomainSpec, std::string>> Toolstack::ReadConfig(
    Domid domid) {
  auto info = state_->Info(domid);
  if (!info.ok()) return info.status();
  std::array<uint8_t, 16> handle;
  std::copy(std::begin(info->handle), std::end(info->handle), handle.begin());
  DomainSpec spec;
  spec.uuid = handle;
  spec.hvm = info->flags & XEN_DOMINF_hvm_guest;
  spec.vcpus =
      info->max_vcpu_id == XEN_INVALID_MAX_VCPU_ID ? 1 : info->max_vcpu_id + 1;
  spec.memory_mib = info->tot_pages * xen::kPageSize >> 20;
  state_->Read([&](DomainTable& table) {
    spec.load_permille = table.Domain(domid).load_permille;
  });
  const std::string dom = xen::DomainPath(domid);
  absl::Status status = WithXenstore([&](xen::XenstoreClient& xs) {
    auto name = xs.Read(dom + "/name");
    if (!name.ok()) return name.status();
    spec.name = *name;
    if (auto kib = xs.Read(dom + "/memory/static-max"); kib.ok()) {
      uint64_t v = 0;
      if (absl::SimpleAtoi(*kib, &v)) spec.memory_mib = v / 1024;
    }
    auto vif = xs.Read(dom + "/device/vif/0/backend");
    spec.nic = vif.ok();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return std::make_pair(spec, FormatUuid(handle));
}

absl::StatusOr<ShutdownReaction> Toolstack::ReactToShutdown(Domid domid) {
  auto info = state_->Info(domid);
  if (!info.ok()) return info.status();
  ShutdownReaction out;
  if (!(info->flags & XEN_DOMINF_shutdown) ||
      (info->flags & XEN_DOMINF_dying)) {
    return out;
  }
  const uint32_t code =
      info->flags >> XEN_DOMINF_shutdownshift & XEN_DOMINF_shutdownmask;
  switch (code) {
    case SHUTDOWN_suspend:
      return out;
    case SHUTDOWN_soft_reset:
      if (auto s = SoftResetDomain(domid); !s.ok()) return s;
      out.action = ShutdownReaction::kSoftReset;
      return out;
    case SHUTDOWN_reboot: {
      // reload_domain_config, destroy, then create again from it: the
      // same name and UUID, a new domid from Xen's allocator.
      auto config = ReadConfig(domid);
      if (!config.ok()) return config.status();
      if (auto s = DestroyDomain(domid); !s.ok()) return s;
      DomainSpec spec = config->first;
      spec.domid.reset();
      auto created = CreateDomain(spec);
      if (!created.ok()) return created.status();
      out.action = ShutdownReaction::kRestarted;
      out.restarted = *created;
      return out;
    }
    default:  // poweroff, crash, watchdog: xl's default is destroy
      if (auto s = DestroyDomain(domid); !s.ok()) return s;
      out.action = ShutdownReaction::kDestroyed;
      return out;
  }
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
