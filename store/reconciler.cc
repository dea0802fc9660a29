#include "store/reconciler.h"

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"

namespace xenlet::store {
namespace {

v1::ShutdownReason ReasonOf(const xen::DomainInfo& info) {
  if (!info.shutdown) return v1::SHUTDOWN_REASON_UNSPECIFIED;
  // Xen's SHUTDOWN_* codes 0..5 are the enum's values 1..6.
  if (info.shutdown_code > 5) return v1::SHUTDOWN_REASON_UNSPECIFIED;
  return static_cast<v1::ShutdownReason>(info.shutdown_code + 1);
}

v1::Transition TransitionOf(v1::DomainState from, v1::DomainState to) {
  if (to == from) return v1::TRANSITION_UPDATED;
  // Only a resume (or soft reset) leaves SHUTDOWN for a live state.
  if (from == v1::DOMAIN_STATE_SHUTDOWN && to != v1::DOMAIN_STATE_DYING) {
    return v1::TRANSITION_RESUMED;
  }
  switch (to) {
    case v1::DOMAIN_STATE_RUNNING:
      return from == v1::DOMAIN_STATE_CREATED ? v1::TRANSITION_STARTED
                                              : v1::TRANSITION_UNPAUSED;
    case v1::DOMAIN_STATE_PAUSED:
      return v1::TRANSITION_PAUSED;
    case v1::DOMAIN_STATE_SHUTDOWN:
      return v1::TRANSITION_SHUTDOWN;
    case v1::DOMAIN_STATE_DYING:
      return v1::TRANSITION_DYING;
    default:
      return v1::TRANSITION_UPDATED;
  }
}

// The shutdown code the model shows: only while the shutdown flag is set
// (a running guest may have set one for later: not shown until it counts).
int VisibleShutdownCode(const xen::DomainInfo& info) {
  return info.shutdown ? info.shutdown_code : -1;
}

// Every field of a domain that is neither volatile nor derived from the
// lifecycle state: a difference is an UPDATED event even when the state
// stays (a shut-down domain then paused keeps SHUTDOWN but its paused flag
// changed, and the model must show it).
bool StableFieldsDiffer(const xen::DomainInfo& a, const xen::DomainInfo& b) {
  return a.hvm != b.hvm || a.hap != b.hap || a.debugged != b.debugged ||
         a.xenstore_domain != b.xenstore_domain || a.paused != b.paused ||
         a.shutdown != b.shutdown || a.dying != b.dying ||
         a.max_pages != b.max_pages || a.max_vcpu_id != b.max_vcpu_id ||
         a.cpupool != b.cpupool || a.ssidref != b.ssidref ||
         VisibleShutdownCode(a) != VisibleShutdownCode(b);
}

}  // namespace

Reconciler::Reconciler(DomainStore* store, Initiators* initiators)
    : store_(store),
      initiators_(initiators),
      slots_(xen::kDomidFirstReserved) {}

v1::DomainState Reconciler::DeriveState(const xen::DomainInfo& info,
                                        bool has_run) {
  if (info.dying) return v1::DOMAIN_STATE_DYING;
  if (info.shutdown) return v1::DOMAIN_STATE_SHUTDOWN;
  if (info.paused) {
    return has_run ? v1::DOMAIN_STATE_PAUSED : v1::DOMAIN_STATE_CREATED;
  }
  return v1::DOMAIN_STATE_RUNNING;
}

std::unique_ptr<v1::Domain> Reconciler::Build(const xen::DomainInfo& info,
                                              const Tracked& t) const {
  auto d = std::make_unique<v1::Domain>();
  d->set_domid(info.domid);
  d->set_uuid(t.uuid);
  d->set_incarnation(t.incarnation);
  if (auto name = t.keys.find("name"); name != t.keys.end()) {
    d->set_name(name->second);
  }
  d->set_state(DeriveState(info, t.has_run));
  d->set_shutdown_reason(ReasonOf(info));
  v1::DomainFlags* flags = d->mutable_flags();
  flags->set_hvm(info.hvm);
  flags->set_dying(info.dying);
  flags->set_shutdown(info.shutdown);
  flags->set_paused(info.paused);
  flags->set_hap(info.hap);
  flags->set_debugged(info.debugged);
  flags->set_xenstore_domain(info.xenstore_domain);
  // No vCPU yet (before max_vcpus): 0 configured, not ~0u + 1.
  d->set_vcpus_max(
      info.max_vcpu_id == xen::kInvalidMaxVcpuId ? 0 : info.max_vcpu_id + 1);
  v1::DomainMemory* memory = d->mutable_memory();
  memory->set_max_bytes(info.max_pages * xen::kPageSize);
  if (auto target = t.keys.find("memory/target"); target != t.keys.end()) {
    uint64_t kib;
    if (absl::SimpleAtoi(target->second, &kib)) {
      memory->set_target_bytes(kib * 1024);
    }
  }
  d->set_cpupool(info.cpupool);
  d->set_ssidref(info.ssidref);
  for (const auto& [key, value] : t.keys) (*d->mutable_xenstore())[key] = value;
  FillVolatile(info, d.get());
  return d;
}

bool Reconciler::OnSweep(const SweepResult& sweep,
                         std::vector<xen::Domid>* reused) {
  absl::MutexLock lock(&mutex_);
  const bool timer = sweep.cause == SweepCause::kTimer && !first_sweep_;
  const absl::Time detected = sweep.started;
  std::vector<Change> changes;
  // Domains this sweep saw are stamped with its number: what is left with
  // an older stamp is gone.
  const uint64_t stamp = ++sweep_number_;
  size_t seen = 0;
  bool set_changed = false;

  auto change = [&](v1::EventType type, v1::Transition transition,
                    const xen::DomainInfo& info, const Tracked& t) {
    Change c;
    c.type = type;
    c.transition = transition;
    c.domid = info.domid;
    c.domain = Build(info, t);
    c.detected = detected;
    if (type == v1::EVENT_TYPE_DELETED) {
      c.domain->set_state(v1::DOMAIN_STATE_DESTROYED);
    }
    if (initiators_) {
      c.initiator =
          initiators_->Take(c.domid, c.domain->uuid(), transition, detected);
    }
    changes.push_back(std::move(c));
  };
  auto remove = [&](Slot& slot) {
    mutex_.AssertHeld();  // called below, under the lock
    auto it = domains_.find(slot.info.domid);
    change(v1::EVENT_TYPE_DELETED, v1::TRANSITION_DESTROYED, slot.info,
           it->second);
    if (timer) ++repairs_.removed;
    domains_.erase(it);
    slot.present = false;
    --present_;
    set_changed = true;
  };

  for (const xen::DomainInfo& info : *sweep.domains) {
    if (info.domid >= slots_.size()) continue;  // not a domain's domid
    Slot& slot = slots_[info.domid];
    // The common case, every domain on every sweep: the same domain with
    // nothing but volatile fields moved. No event and no copy: the view
    // of this sweep serves them (store/volatile_view.h). Identity is the
    // 16-byte handle; a UUID is formatted only for a new domain.
    if (slot.present && slot.info.handle == info.handle &&
        !StableFieldsDiffer(slot.info, info)) {
      slot.info = info;
      slot.seen_in_sweep = stamp;
      ++seen;
      continue;
    }
    if (slot.present && slot.info.handle != info.handle) {
      // The domid was reused by a new domain between two sweeps.
      remove(slot);
      if (reused) reused->push_back(info.domid);
    }
    if (!slot.present) {
      Tracked t;
      t.uuid = info.Uuid();
      t.incarnation = ++incarnations_[info.domid];
      if (first_sweep_) {
        // A paused domain found at start may well have run before.
        t.has_run = true;
        change(v1::EVENT_TYPE_ADDED, v1::TRANSITION_EXISTING, info, t);
      } else {
        // Xen creates every domain paused. One first seen later in its
        // life (the toolstack unpaused it between two sweeps) still gets
        // its CREATED event, then the transition to where it is now.
        change(v1::EVENT_TYPE_ADDED, v1::TRANSITION_CREATED, info, t);
        changes.back().domain->set_state(v1::DOMAIN_STATE_CREATED);
        t.has_run = !info.paused;
        const v1::DomainState now = DeriveState(info, t.has_run);
        if (now != v1::DOMAIN_STATE_CREATED) {
          change(v1::EVENT_TYPE_MODIFIED,
                 TransitionOf(v1::DOMAIN_STATE_CREATED, now), info, t);
        }
        if (timer) ++repairs_.added;
      }
      domains_.emplace(info.domid, std::move(t));
      slot = {info, stamp, true};
      ++present_;
      ++seen;
      set_changed = true;
      continue;
    }
    // The same domain, with a flag or its configuration changed.
    Tracked& t = domains_.find(info.domid)->second;
    const v1::DomainState before = DeriveState(slot.info, t.has_run);
    if (!info.paused && !info.shutdown && !info.dying) t.has_run = true;
    const v1::DomainState after = DeriveState(info, t.has_run);
    slot.info = info;
    slot.seen_in_sweep = stamp;
    ++seen;
    change(v1::EVENT_TYPE_MODIFIED, TransitionOf(before, after), info, t);
    if (timer && (after == v1::DOMAIN_STATE_SHUTDOWN ||
                  after == v1::DOMAIN_STATE_DYING)) {
      ++repairs_.lifecycle;
    }
  }
  // Domains the sweep did not report are gone: looked for only when some
  // are missing.
  if (seen < present_) {
    for (Slot& slot : slots_) {
      if (slot.present && slot.seen_in_sweep != stamp) remove(slot);
    }
  }
  first_sweep_ = false;
  // One snapshot with this sweep's changes (if any) and volatile fields.
  const VolatileView view(sweep.domains);
  store_->Commit(std::move(changes), &view);
  return set_changed;
}

void Reconciler::OnKeys(std::vector<DomainKeys> keys) {
  absl::MutexLock lock(&mutex_);
  std::vector<Change> changes;
  const absl::Time detected = absl::Now();
  for (DomainKeys& k : keys) {
    auto it = domains_.find(k.domid);
    if (it == domains_.end()) continue;  // not (or no longer) in the model
    Tracked& t = it->second;
    const xen::DomainInfo& info = slots_[k.domid].info;
    // A domain's directory goes when it is destroyed: keep the last keys
    // (its name) for its final events rather than blank them.
    if (!k.exists || t.keys == k.values) continue;
    // Keys of a newer domain that reused the domid, read before the sweep
    // that finds it: not this domain's (they are read again once the new
    // domain is in the model).
    if (!k.uuid.empty() && k.uuid != t.uuid) continue;
    t.keys = std::move(k.values);
    Change c;
    c.type = v1::EVENT_TYPE_MODIFIED;
    c.transition = v1::TRANSITION_UPDATED;
    c.domid = k.domid;
    c.domain = Build(info, t);
    c.detected = detected;
    changes.push_back(std::move(c));
  }
  if (!changes.empty()) store_->Commit(std::move(changes));
}

bool Reconciler::SweepWouldTell(xen::Domid domid) const {
  absl::MutexLock lock(&mutex_);
  if (domid >= slots_.size()) return false;
  if (!slots_[domid].present) return true;
  auto it = domains_.find(domid);
  return it != domains_.end() &&
         DeriveState(slots_[domid].info, it->second.has_run) ==
             v1::DOMAIN_STATE_CREATED;
}

std::vector<xen::Domid> Reconciler::Domids() const {
  absl::MutexLock lock(&mutex_);
  std::vector<xen::Domid> out;
  out.reserve(domains_.size());
  for (const auto& [domid, t] : domains_) out.push_back(domid);
  return out;
}

RepairStats Reconciler::repairs() const {
  absl::MutexLock lock(&mutex_);
  return repairs_;
}

}  // namespace xenlet::store
