#include "store/domain_model.h"

#include "common/log.h"

namespace xenlet::store {

DomainModel::DomainModel(xen::Hypervisor* hypervisor,
                         XenstoreWatcher::Connect connect, ModelOptions options)
    : hypervisor_(hypervisor),
      options_(options),
      store_(options.store),
      reconciler_(&store_, &initiators_),
      watcher_(
          std::move(connect), options.watcher,
          {
              .on_domain_change =
                  [this] { sweeper_.Trigger(SweepCause::kWatch); },
              .on_keys =
                  [this](std::vector<DomainKeys> keys) {
                    reconciler_.OnKeys(std::move(keys));
                  },
              // Keys written for a domain the model does not hold yet (the
              // toolstack's first transaction, right after createdomain)
              // or holds as never run (a guest writes keys once it runs):
              // a sweep tells CREATED or STARTED at once, not at the next
              // timer sweep or introduce.
              .on_domain_event =
                  [this](xen::Domid domid) {
                    if (reconciler_.SweepWouldTell(domid)) {
                      sweeper_.Trigger(SweepCause::kWatch);
                    }
                  },
              .on_resync = [this] { sweeper_.Trigger(SweepCause::kResync); },
              .on_state = nullptr,
          }),
      sweeper_(hypervisor, options.sweep_interval,
               [this](const SweepResult& sweep) { OnSweep(sweep); }) {}

DomainModel::~DomainModel() { Stop(); }

void DomainModel::OnSweep(const SweepResult& sweep) {
  if (options_.on_sweep) options_.on_sweep(sweep);
  std::vector<xen::Domid> reused;
  if (reconciler_.OnSweep(sweep, &reused)) {
    watcher_.SetDomains(reconciler_.Domids());
  }
  // SetDomains reads the keys of domids new to the watcher only. A reused
  // domid is not new to it, and keys it read for that domid before this
  // sweep were refused by the reconciler (they named the new domain while
  // the model still held the previous one): read them again for the new
  // one, or it keeps no name until one of its keys changes.
  for (xen::Domid domid : reused) watcher_.RequestKeys(domid);
  bool stale;
  {
    absl::MutexLock lock(&facts_mutex_);
    stale = sweep.started - facts_.physinfo_time >= options_.physinfo_interval;
  }
  if (stale) {
    if (auto s = RefreshPhysInfo(); !s.ok()) {
      LogWarning("physinfo_failed", {{"error", std::string(s.message())}});
    }
  }
}

absl::Status DomainModel::RefreshPhysInfo() {
  auto physinfo = hypervisor_->GetPhysInfo();
  if (!physinfo.ok()) return physinfo.status();
  absl::MutexLock lock(&facts_mutex_);
  facts_.physinfo = *physinfo;
  facts_.physinfo_time = absl::Now();
  return absl::OkStatus();
}

HostFacts DomainModel::host_facts() const {
  absl::MutexLock lock(&facts_mutex_);
  return facts_;
}

absl::Status DomainModel::Start() {
  auto version = hypervisor_->GetVersion();
  if (!version.ok()) return version.status();
  {
    absl::MutexLock lock(&facts_mutex_);
    facts_.version = *version;
  }
  if (auto s = sweeper_.SweepNow(SweepCause::kResync); !s.ok()) return s;
  if (auto s = watcher_.Start(); !s.ok()) {
    LogWarning("xenstore_unavailable",
               {{"error", std::string(s.message())},
                {"action", "retrying in the background"}});
  }
  sweeper_.Start();
  return absl::OkStatus();
}

void DomainModel::Stop() {
  sweeper_.Stop();
  watcher_.Stop();
}

}  // namespace xenlet::store
