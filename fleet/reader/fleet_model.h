// The orchestrator's merged view of the fleet (docs/fleet.md 2.6), built
// from the entries of the two key-value buckets the publishers write:
//
//   xenlet-domains  <host>.<uuid>.<domid> -> xenlet.v1.Domain (JSON)
//   xenlet-hosts    <host>                -> xenlet.fleet.v1.HostHealth (JSON)
//
// A pure state machine: no NATS, no threads, the time from a clock it is
// given. FleetReader feeds it from the watchers; tests feed it directly.
//
// Each entry applied says what it changed: a domain ADDED, MODIFIED or
// DELETED, or a host's health. A put inserts or replaces, a delete or a
// purge removes. A key that does not parse, or a value that does not, is
// counted and skipped.
//
// Mark and sweep: between BeginResync(bucket) and EndResync(bucket) the
// entries applied to that bucket are the watcher's initial values, i.e.
// the whole bucket. EndResync removes (and reports as DELETED) what they
// did not mention. A re-delivered entry the model already has (same
// revision, same value) changes nothing, so a resync reports only what
// really changed while the reader was not listening. The first listing is
// a resync of an empty model; the model is synced once both buckets
// completed one.
//
// Staleness: a host is stale when its health entry is older than
// stale_after, or its state is not LIVE. An initial value's age counts
// from the server's time of the entry (all the model has), a live entry's
// from its arrival. UpdateStaleness() re-evaluates every host against the
// clock: call it periodically, since time alone makes hosts stale.
#ifndef XENLET_FLEET_READER_FLEET_MODEL_H_
#define XENLET_FLEET_READER_FLEET_MODEL_H_

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "xenlet/fleet/v1/fleet.pb.h"
#include "xenlet/v1/domain.pb.h"

namespace xenlet::fleet {

enum class FleetBucket { kDomains, kHosts };
const char* FleetBucketName(FleetBucket bucket);

// One bucket entry as a watcher delivers it (the model's own copy of the
// NATS layer's KvEntry, so that it needs no NATS).
struct BucketEntry {
  enum class Operation { kPut, kDelete, kPurge };
  std::string key;
  std::string value;  // empty for a delete or purge
  Operation operation = Operation::kPut;
  uint64_t revision = 0;
  absl::Time created;  // the server's time of this revision
};

// A domain's place in the fleet: its key's parts.
struct DomainRef {
  std::string host;
  std::string uuid;
  uint32_t domid = 0;
  auto operator<=>(const DomainRef&) const = default;
};

struct DomainRecord {
  xenlet::v1::Domain domain;
  uint64_t revision = 0;  // of its entry in the bucket
};

struct HostStatus {
  fleet::v1::HostHealth health;
  uint64_t revision = 0;
  // When its entry was written (initial values: the server's time) or
  // arrived (live entries).
  absl::Time heard;
  bool stale = false;
};

enum class ChangeKind { kAdded, kModified, kDeleted };
const char* ChangeKindName(ChangeKind kind);

struct DomainChange {
  ChangeKind kind = ChangeKind::kAdded;
  DomainRef ref;
  // The new value; for DELETED the last one the model had.
  xenlet::v1::Domain domain;
  // MODIFIED: the value it replaced (what a watcher compares, e.g. states).
  xenlet::v1::Domain previous;
};

struct HostChange {
  // ADDED or MODIFIED: a new health entry; DELETED: the key went away;
  // MODIFIED with no new entry: only `stale` flipped (UpdateStaleness).
  ChangeKind kind = ChangeKind::kAdded;
  std::string host;
  HostStatus status;  // for DELETED, the last one
  // stale before this change (false for ADDED).
  bool was_stale = false;
};

using FleetChange = std::variant<DomainChange, HostChange>;

// A plain, comparable copy of the model for tests and diffs: key -> the
// value's text (protobuf text format, map fields sorted); hosts' values
// start with "stale " when stale.
struct ModelExport {
  std::map<std::string, std::string> domains;
  std::map<std::string, std::string> hosts;
  bool operator==(const ModelExport&) const = default;
};
// The text ModelExport shows for a value.
std::string ExportText(const google::protobuf::Message& message);

class FleetModel {
 public:
  using Clock = std::function<absl::Time()>;

  // `clock` null: absl::Now.
  explicit FleetModel(absl::Duration stale_after = absl::Seconds(30),
                      Clock clock = nullptr);

  // Applies one entry of `bucket`; what it changed, or nullopt (nothing
  // did, or the key or value was bad and is counted).
  std::optional<FleetChange> Apply(FleetBucket bucket,
                                   const BucketEntry& entry);

  // Mark and sweep of one bucket (see the top of this file). Beginning a
  // resync that is already under way starts it over.
  void BeginResync(FleetBucket bucket);
  // Ends it: removes what was not applied since BeginResync and returns
  // those removals (DELETED), in key order. No-op outside a resync.
  std::vector<FleetChange> EndResync(FleetBucket bucket);
  bool resyncing(FleetBucket bucket) const;
  // Both buckets completed a resync once.
  bool synced() const;

  // Re-evaluates each host's staleness at the clock's time; the hosts whose
  // staleness flipped (kind MODIFIED).
  std::vector<HostChange> UpdateStaleness();

  const std::map<DomainRef, DomainRecord>& Domains() const { return domains_; }
  const std::map<std::string, HostStatus>& Hosts() const { return hosts_; }
  absl::Duration stale_after() const { return stale_after_; }
  // Entries skipped: keys of neither shape, values that are not the JSON
  // of their message.
  uint64_t bad_keys() const { return bad_keys_; }
  uint64_t bad_values() const { return bad_values_; }

  ModelExport Export() const;

 private:
  struct BucketState {
    bool resyncing = false;
    bool synced_once = false;
  };

  std::optional<FleetChange> ApplyDomain(const BucketEntry& entry,
                                         bool initial);
  std::optional<FleetChange> ApplyHost(const BucketEntry& entry, bool initial);
  bool IsStale(const HostStatus& status, absl::Time now) const;
  BucketState& state(FleetBucket bucket);
  const BucketState& state(FleetBucket bucket) const;

  absl::Duration stale_after_;
  Clock clock_;
  std::map<DomainRef, DomainRecord> domains_;
  std::map<std::string, HostStatus> hosts_;
  BucketState domains_state_;
  BucketState hosts_state_;
  // What each bucket's resync under way has applied so far.
  std::set<DomainRef> marked_domains_;
  std::set<std::string> marked_hosts_;
  uint64_t bad_keys_ = 0;
  uint64_t bad_values_ = 0;
};

}  // namespace xenlet::fleet

#endif  // XENLET_FLEET_READER_FLEET_MODEL_H_
