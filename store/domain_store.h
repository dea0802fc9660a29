// The model: the current domains as immutable, revisioned snapshots, the
// event log, and the subscriptions of the watch streams. One writer (the
// reconciler) commits changes; any number of readers take snapshots
// without waiting for it.
#ifndef XENLET_STORE_DOMAIN_STORE_H_
#define XENLET_STORE_DOMAIN_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "store/domain_table.h"
#include "store/event.h"
#include "store/event_log.h"
#include "store/latest_changes.h"
#include "store/subscription.h"
#include "store/volatile_view.h"

namespace xenlet::store {

struct Snapshot {
  // The revision of the last event reflected here.
  uint64_t revision = 0;
  // Domain messages as of their last event: their volatile fields are
  // the view's (merge them in when answering, see store/volatile_view.h).
  DomainTable domains;
  VolatileView volatiles;
  absl::Time published;
};

// d with the volatile fields of the snapshot's sweep: what a query answers.
v1::Domain FreshDomain(const Snapshot& snapshot, const v1::Domain& d);

// A change the writer commits. domain is the new state (its revision
// fields are filled in by the store); for DELETED it is the last state.
struct Change {
  v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED;
  v1::Transition transition = v1::TRANSITION_UNSPECIFIED;
  uint32_t domid = 0;
  std::unique_ptr<v1::Domain> domain;
  absl::Time detected;
  std::string initiator;  // see store/initiators.h
};

struct WatchStart {
  bool initial_state = false;
  bool resume = false;
  std::string resume_instance;
  uint64_t resume_revision = 0;
};

struct WatchBegin {
  std::shared_ptr<Subscription> subscription;
  // The state to send first (ADDED each), when asked for or resyncing.
  std::shared_ptr<const Snapshot> initial;
  // Events to replay before live ones, when resuming.
  std::vector<EventPtr> replay;
  // Why the resume point could not be honoured (UNSPECIFIED: it was).
  v1::ResyncReason resync = v1::RESYNC_REASON_UNSPECIFIED;
  // The revision the initial state or the replay ends at.
  uint64_t synced_revision = 0;
};

struct StoreOptions {
  std::string instance_id;  // random if empty
  size_t event_log_capacity = 100000;
  // And at most about this many bytes (EventLog::EstimatedBytes).
  size_t event_log_max_bytes = 32 << 20;
};

class DomainStore {
 public:
  explicit DomainStore(StoreOptions options = {});

  const std::string& instance_id() const { return instance_id_; }

  // The newest snapshot; never blocks on the writer.
  std::shared_ptr<const Snapshot> snapshot() const;

  // Writer: applies changes in order, one revision each, publishes one
  // snapshot and hands the events to every subscription. Returns the new
  // revision. volatiles (from the sweep the changes come from) replaces
  // the current view; null keeps it.
  uint64_t Commit(std::vector<Change> changes,
                  const VolatileView* volatiles = nullptr);

  // Writer: publishes a snapshot with a new sweep's volatile fields, the
  // same domains and revision: no event (Commit of no change).
  void UpdateVolatile(VolatileView volatiles);

  // Starts a watch atomically with respect to commits: nothing is missed
  // or delivered twice between the initial state or replay and the live
  // events that follow.
  WatchBegin Watch(const WatchStart& start, SubscriptionOptions options);
  void Unwatch(const std::shared_ptr<Subscription>& subscription);

  // The domains of `snapshot` with this (canonical) UUID or name: a hash
  // lookup in the writer's live index when the snapshot is the index's
  // revision (the usual case), a scan of the snapshot when the model has
  // moved on since it was taken.
  std::vector<DomainPtr> FindByUuid(const Snapshot& snapshot,
                                    const std::string& uuid) const;
  std::vector<DomainPtr> FindByName(const Snapshot& snapshot,
                                    const std::string& name) const;

  // The store's revision if subscription has nothing queued: everything up
  // to it that concerns the subscriber has been handed out (for BOOKMARK).
  std::optional<uint64_t> QuiescentRevision(
      const Subscription& subscription) const;

  size_t subscription_count() const;
  uint64_t revision() const;
  size_t event_log_size() const;
  size_t event_log_bytes() const;  // estimated

 private:
  uint64_t CommitLocked(std::vector<Change> changes,
                        const VolatileView* volatiles,
                        std::vector<std::shared_ptr<Subscription>>* to_wake);
  void Publish(DomainTable table, uint64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_);

  const std::string instance_id_;
  // Serialises commits against each other and against Watch().
  mutable absl::Mutex write_mutex_;
  DomainTableBuilder builder_ ABSL_GUARDED_BY(write_mutex_);
  VolatileView volatiles_ ABSL_GUARDED_BY(write_mutex_);
  EventLog log_ ABSL_GUARDED_BY(write_mutex_);
  // Written under write_mutex_, read by catching-up subscriptions.
  LatestChanges latest_;
  std::vector<std::shared_ptr<Subscription>> subscriptions_
      ABSL_GUARDED_BY(write_mutex_);
  void UpdateIndex(const DomainPtr& previous, const DomainPtr& next,
                   uint32_t domid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(index_mutex_);

  // UUID and name -> domid for the newest state, kept by the writer.
  mutable absl::Mutex index_mutex_;
  uint64_t index_revision_ ABSL_GUARDED_BY(index_mutex_) = 0;
  absl::flat_hash_map<std::string, std::vector<uint32_t>> by_uuid_
      ABSL_GUARDED_BY(index_mutex_);
  absl::flat_hash_map<std::string, std::vector<uint32_t>> by_name_
      ABSL_GUARDED_BY(index_mutex_);
  // Held only to swap or copy the pointer.
  mutable absl::Mutex snapshot_mutex_;
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(snapshot_mutex_);
};

// 16 random hex digits.
std::string NewInstanceId();

// Domains of a snapshot by state (states with none are absent).
std::map<v1::DomainState, uint32_t> CountByState(const Snapshot& snapshot);

}  // namespace xenlet::store

#endif  // XENLET_STORE_DOMAIN_STORE_H_
