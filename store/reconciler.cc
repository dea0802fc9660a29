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

bool VolatileDiffers(const xen::DomainInfo& a, const xen::DomainInfo& b) {
  return a.cpu_time_ns != b.cpu_time_ns || a.tot_pages != b.tot_pages ||
         a.nr_online_vcpus != b.nr_online_vcpus || a.running != b.running ||
         a.blocked != b.blocked || a.shr_pages != b.shr_pages ||
         a.outstanding_pages != b.outstanding_pages;
}

}  // namespace

Reconciler::Reconciler(DomainStore* store, Initiators* initiators)
    : store_(store), initiators_(initiators) {}

v1::DomainState Reconciler::DeriveState(const xen::DomainInfo& info,
                                        bool has_run) {
  if (info.dying) return v1::DOMAIN_STATE_DYING;
  if (info.shutdown) return v1::DOMAIN_STATE_SHUTDOWN;
  if (info.paused) {
    return has_run ? v1::DOMAIN_STATE_PAUSED : v1::DOMAIN_STATE_CREATED;
  }
  return v1::DOMAIN_STATE_RUNNING;
}

void Reconciler::FillVolatile(const xen::DomainInfo& info,
                              v1::Domain* out) const {
  out->mutable_flags()->set_running(info.running);
  out->mutable_flags()->set_blocked(info.blocked);
  out->set_vcpus_online(info.nr_online_vcpus);
  out->set_cpu_time_ns(info.cpu_time_ns);
  v1::DomainMemory* memory = out->mutable_memory();
  memory->set_current_bytes(info.tot_pages * xen::kPageSize);
  memory->set_shared_bytes(info.shr_pages * xen::kPageSize);
  memory->set_outstanding_bytes(info.outstanding_pages * xen::kPageSize);
}

std::unique_ptr<v1::Domain> Reconciler::Build(const Tracked& t) const {
  auto d = std::make_unique<v1::Domain>();
  const xen::DomainInfo& info = t.info;
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
  std::vector<std::shared_ptr<const v1::Domain>> refreshed;
  // Domains this sweep saw are stamped with its number: what is left with
  // an older stamp is gone.
  const uint64_t stamp = ++sweep_number_;
  bool set_changed = false;

  auto change = [&](v1::EventType type, v1::Transition transition,
                    const Tracked& t) {
    Change c;
    c.type = type;
    c.transition = transition;
    c.domid = t.info.domid;
    c.domain = Build(t);
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

  for (const xen::DomainInfo& info : *sweep.domains) {
    auto it = domains_.find(info.domid);
    // Identity is the 16-byte handle; the text form is made only for new
    // domains (formatting 32000 UUIDs per sweep was most of its cost).
    if (it != domains_.end() && it->second.info.handle != info.handle) {
      // The domid was reused by a new domain between two sweeps.
      change(v1::EVENT_TYPE_DELETED, v1::TRANSITION_DESTROYED, it->second);
      if (timer) ++repairs_.removed;
      domains_.erase(it);
      it = domains_.end();
      if (reused) reused->push_back(info.domid);
    }
    if (it == domains_.end()) {
      Tracked t;
      t.info = info;
      t.uuid = info.Uuid();
      t.seen_in_sweep = stamp;
      t.incarnation = ++incarnations_[info.domid];
      if (first_sweep_) {
        // A paused domain found at start may well have run before.
        t.has_run = true;
        change(v1::EVENT_TYPE_ADDED, v1::TRANSITION_EXISTING, t);
      } else {
        // Xen creates every domain paused. One first seen later in its
        // life (the toolstack unpaused it between two sweeps) still gets
        // its CREATED event, then the transition to where it is now.
        change(v1::EVENT_TYPE_ADDED, v1::TRANSITION_CREATED, t);
        changes.back().domain->set_state(v1::DOMAIN_STATE_CREATED);
        t.has_run = !info.paused;
        const v1::DomainState now = DeriveState(info, t.has_run);
        if (now != v1::DOMAIN_STATE_CREATED) {
          change(v1::EVENT_TYPE_MODIFIED,
                 TransitionOf(v1::DOMAIN_STATE_CREATED, now), t);
        }
        if (timer) ++repairs_.added;
      }
      domains_.emplace(info.domid, std::move(t));
      set_changed = true;
      continue;
    }
    Tracked& t = it->second;
    t.seen_in_sweep = stamp;
    const v1::DomainState before = DeriveState(t.info, t.has_run);
    if (!info.paused && !info.shutdown && !info.dying) t.has_run = true;
    const v1::DomainState after = DeriveState(info, t.has_run);
    const bool config = StableFieldsDiffer(t.info, info);
    const bool volatile_only =
        !config && before == after && VolatileDiffers(t.info, info);
    t.info = info;
    if (before != after || config) {
      change(v1::EVENT_TYPE_MODIFIED, TransitionOf(before, after), t);
      if (timer && (after == v1::DOMAIN_STATE_SHUTDOWN ||
                    after == v1::DOMAIN_STATE_DYING)) {
        ++repairs_.lifecycle;
      }
    } else if (volatile_only && t.published) {
      auto copy = std::make_shared<v1::Domain>(*t.published);
      FillVolatile(info, copy.get());
      t.published = copy;
      refreshed.push_back(std::move(copy));
    }
  }
  for (auto it = domains_.begin(); it != domains_.end();) {
    if (it->second.seen_in_sweep == stamp) {
      ++it;
      continue;
    }
    change(v1::EVENT_TYPE_DELETED, v1::TRANSITION_DESTROYED, it->second);
    if (timer) ++repairs_.removed;
    domains_.erase(it++);
    set_changed = true;
  }
  first_sweep_ = false;
  if (!changes.empty()) {
    std::vector<xen::Domid> touched;
    for (const Change& c : changes) touched.push_back(c.domid);
    store_->Commit(std::move(changes));
    auto snapshot = store_->snapshot();
    for (xen::Domid domid : touched) {
      if (auto t = domains_.find(domid); t != domains_.end()) {
        t->second.published = snapshot->domains.Get(domid);
      }
    }
  }
  if (!refreshed.empty()) store_->UpdateVolatile(std::move(refreshed));
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
    c.domain = Build(t);
    c.detected = detected;
    changes.push_back(std::move(c));
  }
  if (changes.empty()) return;
  std::vector<xen::Domid> touched;
  for (const Change& c : changes) touched.push_back(c.domid);
  store_->Commit(std::move(changes));
  auto snapshot = store_->snapshot();
  for (xen::Domid domid : touched) {
    domains_[domid].published = snapshot->domains.Get(domid);
  }
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
