#include "store/domain_store.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "google/protobuf/util/time_util.h"

namespace xenlet::store {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

}  // namespace

std::map<v1::DomainState, uint32_t> CountByState(const Snapshot& snapshot) {
  std::map<v1::DomainState, uint32_t> counts;
  snapshot.domains.ForEach([&](const DomainPtr& d) { ++counts[d->state()]; });
  return counts;
}

v1::Domain FreshDomain(const Snapshot& snapshot, const v1::Domain& d) {
  v1::Domain fresh = d;
  snapshot.volatiles.Merge(&fresh);
  return fresh;
}

std::string NewInstanceId() {
  std::random_device device;
  std::uniform_int_distribution<uint64_t> dist;
  uint64_t value =
      (static_cast<uint64_t>(device()) << 32) ^ device() ^ dist(device);
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(value));
  return buf;
}

DomainStore::DomainStore(StoreOptions options)
    : instance_id_(options.instance_id.empty() ? NewInstanceId()
                                               : options.instance_id),
      builder_(DomainTable()),
      log_(options.event_log_capacity, options.event_log_max_bytes),
      snapshot_(std::make_shared<const Snapshot>()) {}

std::shared_ptr<const Snapshot> DomainStore::snapshot() const {
  absl::MutexLock lock(&snapshot_mutex_);
  return snapshot_;
}

void DomainStore::Publish(DomainTable table, uint64_t revision) {
  auto next = std::make_shared<Snapshot>();
  next->revision = revision;
  next->domains = std::move(table);
  next->volatiles = volatiles_;
  next->published = absl::Now();
  std::shared_ptr<const Snapshot> old;
  {
    absl::MutexLock lock(&snapshot_mutex_);
    old = std::exchange(snapshot_, std::move(next));
  }
  // The old snapshot, if this was its last reference, is freed here,
  // outside the lock readers take.
}

uint64_t DomainStore::Commit(std::vector<Change> changes,
                             const VolatileView* volatiles) {
  std::vector<std::shared_ptr<Subscription>> to_wake;
  const uint64_t revision =
      CommitLocked(std::move(changes), volatiles, &to_wake);
  // Readers are woken outside the commit lock: their callbacks may take
  // it (bookmarks) and must not slow the writer down.
  for (const auto& subscription : to_wake) subscription->FlushNotify();
  return revision;
}

uint64_t DomainStore::CommitLocked(
    std::vector<Change> changes, const VolatileView* volatiles,
    std::vector<std::shared_ptr<Subscription>>* to_wake) {
  absl::MutexLock lock(&write_mutex_);
  if (volatiles) volatiles_ = *volatiles;
  if (changes.empty()) {
    if (volatiles) Publish(builder_.Build(), log_.last_revision());
    return log_.last_revision();
  }
  std::vector<EventPtr> events;
  events.reserve(changes.size());
  const absl::Time now = absl::Now();
  for (Change& change : changes) {
    auto event = std::make_shared<Event>();
    event->revision = log_.last_revision() + 1;
    event->type = change.type;
    event->transition = change.transition;
    event->domid = change.domid;
    event->detected = change.detected;
    event->initiator = std::move(change.initiator);
    event->previous = builder_.Get(change.domid);
    v1::Domain& domain = *change.domain;
    domain.set_updated_revision(event->revision);
    *domain.mutable_updated_time() = ToProto(now);
    if (change.type == v1::EVENT_TYPE_ADDED || !event->previous) {
      domain.set_created_revision(event->revision);
      *domain.mutable_created_time() = ToProto(now);
    } else {
      domain.set_created_revision(event->previous->created_revision());
      *domain.mutable_created_time() = event->previous->created_time();
    }
    event->domain = DomainPtr(std::move(change.domain));
    {
      absl::MutexLock index_lock(&index_mutex_);
      UpdateIndex(
          event->previous,
          change.type == v1::EVENT_TYPE_DELETED ? nullptr : event->domain,
          change.domid);
      index_revision_ = event->revision;
    }
    if (change.type == v1::EVENT_TYPE_DELETED) {
      builder_.Erase(change.domid);
    } else {
      builder_.Set(change.domid, event->domain);
    }
    log_.Append(event);
    latest_.Record(*event);
    events.push_back(std::move(event));
  }
  const uint64_t revision = log_.last_revision();
  Publish(builder_.Build(), revision);
  for (const auto& subscription : subscriptions_) {
    for (const EventPtr& event : events) subscription->Enqueue(event);
  }
  *to_wake = subscriptions_;
  return revision;
}

void DomainStore::UpdateVolatile(VolatileView volatiles) {
  Commit({}, &volatiles);
}

WatchBegin DomainStore::Watch(const WatchStart& start,
                              SubscriptionOptions options) {
  WatchBegin begin;
  begin.subscription =
      std::make_shared<Subscription>(std::move(options), &latest_);
  absl::MutexLock lock(&write_mutex_);
  const uint64_t current = log_.last_revision();
  begin.synced_revision = current;
  bool send_state = start.initial_state;
  if (start.resume) {
    if (start.resume_instance != instance_id_) {
      begin.resync = v1::RESYNC_REASON_INSTANCE_CHANGED;
    } else if (start.resume_revision > current) {
      begin.resync = v1::RESYNC_REASON_REVISION_IN_FUTURE;
    } else if (!log_.CanReplayAfter(start.resume_revision)) {
      begin.resync = v1::RESYNC_REASON_REVISION_COMPACTED;
    } else {
      log_.ReplayAfter(start.resume_revision, &begin.replay);
    }
    send_state = begin.resync != v1::RESYNC_REASON_UNSPECIFIED;
  }
  if (send_state) begin.initial = snapshot();
  subscriptions_.push_back(begin.subscription);
  return begin;
}

void DomainStore::Unwatch(const std::shared_ptr<Subscription>& subscription) {
  subscription->Close();
  absl::MutexLock lock(&write_mutex_);
  subscriptions_.erase(
      std::remove(subscriptions_.begin(), subscriptions_.end(), subscription),
      subscriptions_.end());
}

void DomainStore::UpdateIndex(const DomainPtr& previous, const DomainPtr& next,
                              uint32_t domid) {
  if (previous) {
    if (auto it = by_uuid_.find(previous->uuid()); it != by_uuid_.end()) {
      std::erase(it->second, domid);
      if (it->second.empty()) by_uuid_.erase(it);
    }
    if (auto it = by_name_.find(previous->name()); it != by_name_.end()) {
      std::erase(it->second, domid);
      if (it->second.empty()) by_name_.erase(it);
    }
  }
  if (next) {
    // Several domids may share a UUID for a while: xl re-creates a
    // rebooted domain under a new domid with the same UUID while the old
    // one may still be dying.
    by_uuid_[next->uuid()].push_back(domid);
    if (!next->name().empty()) by_name_[next->name()].push_back(domid);
  }
}

namespace {

template <typename Match>
std::vector<DomainPtr> Scan(const Snapshot& snapshot, Match match) {
  std::vector<DomainPtr> found;
  snapshot.domains.ForEach([&](const DomainPtr& d) {
    if (match(*d)) found.push_back(d);
  });
  return found;
}

}  // namespace

std::vector<DomainPtr> DomainStore::FindByUuid(const Snapshot& snapshot,
                                               const std::string& uuid) const {
  {
    absl::ReaderMutexLock lock(&index_mutex_);
    if (snapshot.revision == index_revision_) {
      std::vector<DomainPtr> found;
      auto it = by_uuid_.find(uuid);
      if (it == by_uuid_.end()) return found;
      for (uint32_t domid : it->second) {
        if (const DomainPtr& d = snapshot.domains.Get(domid)) {
          found.push_back(d);
        }
      }
      return found;
    }
  }
  return Scan(snapshot, [&](const v1::Domain& d) { return d.uuid() == uuid; });
}

std::vector<DomainPtr> DomainStore::FindByName(const Snapshot& snapshot,
                                               const std::string& name) const {
  {
    absl::ReaderMutexLock lock(&index_mutex_);
    if (snapshot.revision == index_revision_) {
      std::vector<DomainPtr> found;
      auto it = by_name_.find(name);
      if (it == by_name_.end()) return found;
      for (uint32_t domid : it->second) {
        if (const DomainPtr& d = snapshot.domains.Get(domid))
          found.push_back(d);
      }
      return found;
    }
  }
  return Scan(snapshot, [&](const v1::Domain& d) { return d.name() == name; });
}

std::optional<uint64_t> DomainStore::QuiescentRevision(
    const Subscription& subscription) const {
  // Under the commit lock: no event can be between the log and the queue.
  absl::MutexLock lock(&write_mutex_);
  if (subscription.queued() > 0) return std::nullopt;
  return log_.last_revision();
}

size_t DomainStore::subscription_count() const {
  absl::MutexLock lock(&write_mutex_);
  return subscriptions_.size();
}

uint64_t DomainStore::revision() const {
  absl::MutexLock lock(&write_mutex_);
  return log_.last_revision();
}

size_t DomainStore::event_log_size() const {
  absl::MutexLock lock(&write_mutex_);
  return log_.size();
}

size_t DomainStore::event_log_bytes() const {
  absl::MutexLock lock(&write_mutex_);
  return log_.bytes();
}

}  // namespace xenlet::store
