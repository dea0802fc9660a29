// The orchestrator's side of the fleet view (docs/fleet.md 2.6): watches the
// domains and hosts buckets in NATS and keeps a FleetModel of them.
//
//   ReaderCallbacks callbacks;
//   callbacks.on_domain = [](const DomainChange& c) { ... };
//   auto reader = FleetReader::Start(connection_options, {}, callbacks);
//   (*reader)->WaitUntilSynced(absl::Seconds(10));
//   FleetModel now = (*reader)->Snapshot();
//
// One thread per bucket waits on its watcher (never with IgnoreDeletes: it
// would hide live deletes too). The model is synced once both watchers
// delivered their initial values; on_synced says so, once.
//
// After a reconnect the threads recreate their watchers, and the new
// initial values replace the model (mark and sweep: keys not re-delivered
// are reported DELETED). libnats would recover a watcher by itself, but
// only after 15-23 s of silence, and never when the server came back
// without its store (docs/fleet.md 1.4; fleet/nats/key_value.h).
//
// A bucket that does not exist (no publisher has run yet) counts as empty;
// the reader looks for it again every missing_bucket_interval. The reader
// never creates a bucket: that is the publishers' job, with their
// replicas.
#ifndef XENLET_FLEET_READER_FLEET_READER_H_
#define XENLET_FLEET_READER_FLEET_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fleet/fleet_names.h"
#include "fleet/nats/connection.h"
#include "fleet/nats/key_value.h"
#include "fleet/reader/fleet_model.h"

namespace xenlet::fleet {

struct ReaderOptions {
  // Only this host's domains and health (keys "H.>" and "H"); "" for all.
  std::string host_filter;
  absl::Duration stale_after = absl::Seconds(30);
  std::string domains_bucket = std::string(kDomainsBucket);
  std::string hosts_bucket = std::string(kHostsBucket);
  // How long a thread waits on its watcher before it looks at the
  // connection (a reconnect means recreating the watcher) and at the hosts'
  // staleness: the delay of both.
  absl::Duration poll_interval = absl::Milliseconds(250);
  // After a failure to open a watcher: the first retry's delay, doubling
  // up to the maximum.
  absl::Duration retry_max = absl::Seconds(2);
  absl::Duration missing_bucket_interval = absl::Seconds(2);
  // For staleness; null: absl::Now.
  FleetModel::Clock clock;
};

// Called on the reader's threads, one call at a time, in the order the
// model changed. They may call Snapshot() and stats(), not Stop().
struct ReaderCallbacks {
  // Once, when both buckets' initial values are in: the model then.
  std::function<void(const FleetModel&)> on_synced;
  // Every change, those of the initial values (before on_synced) included.
  std::function<void(const DomainChange&)> on_domain;
  std::function<void(const HostChange&)> on_host;
};

struct ReaderStats {
  // Entries the watchers delivered.
  uint64_t entries = 0;
  // Watchers recreated (after a reconnect or a watcher error).
  uint64_t resyncs = 0;
  // Failures to open or read a watcher.
  uint64_t errors = 0;
  uint64_t bad_keys = 0;
  uint64_t bad_values = 0;
  bool domains_bucket_missing = false;
  bool hosts_bucket_missing = false;
};

class FleetReader {
 public:
  // Opens the connection (with `nats` as given: with
  // retry_on_failed_connect it may not be connected yet) and starts the
  // threads. Fails only when the connection cannot be made at all.
  static absl::StatusOr<std::unique_ptr<FleetReader>> Start(
      const nats::ConnectionOptions& nats, const ReaderOptions& options,
      ReaderCallbacks callbacks);

  // Stop().
  ~FleetReader();
  FleetReader(const FleetReader&) = delete;
  FleetReader& operator=(const FleetReader&) = delete;

  // Stops the watchers and joins the threads; no callback runs after it.
  // Idempotent. Not from a callback.
  void Stop();

  FleetModel Snapshot() const;
  // Both buckets were listed, and on_synced (if any) has returned.
  bool synced() const;
  // True once synced(); false when `timeout` passed first.
  bool WaitUntilSynced(absl::Duration timeout) const;
  ReaderStats stats() const;
  // The last failure to open or read a watcher (OK once one works again).
  absl::Status last_error() const;
  const nats::Connection& connection() const { return *conn_; }

 private:
  FleetReader(std::unique_ptr<nats::Connection> conn,
              const ReaderOptions& options, ReaderCallbacks callbacks);

  // One bucket's watcher, recreated as needed, until Stop.
  void Run(FleetBucket bucket);
  // A watcher of the bucket; NOT_FOUND if the bucket does not exist.
  absl::StatusOr<std::unique_ptr<nats::KvWatcher>> OpenWatcher(
      FleetBucket bucket, std::unique_ptr<nats::KeyValue>* kv);
  // Makes `watcher` the one Stop() interrupts (null: none); false if
  // stopping.
  bool SetActive(FleetBucket bucket, nats::KvWatcher* watcher)
      ABSL_LOCKS_EXCLUDED(control_mu_);
  bool stopping() const ABSL_LOCKS_EXCLUDED(control_mu_);
  // Waits up to `timeout`; true if stopping.
  bool WaitForStop(absl::Duration timeout) const
      ABSL_LOCKS_EXCLUDED(control_mu_);

  // Hands an old watcher (and its bucket) to the reaper thread.
  void Retire(std::unique_ptr<nats::KvWatcher> watcher,
              std::unique_ptr<nats::KeyValue> kv) ABSL_LOCKS_EXCLUDED(reap_mu_);
  // The reaper thread: destroys retired watchers until Stop.
  void Reap() ABSL_LOCKS_EXCLUDED(reap_mu_);

  // Each changes the model and reports what changed.
  void BeginResync(FleetBucket bucket) ABSL_LOCKS_EXCLUDED(dispatch_mu_, mu_);
  void EndResync(FleetBucket bucket) ABSL_LOCKS_EXCLUDED(dispatch_mu_, mu_);
  // A missing bucket: the model's part of it is emptied.
  void Empty(FleetBucket bucket) ABSL_LOCKS_EXCLUDED(dispatch_mu_, mu_);
  void Apply(FleetBucket bucket, const nats::KvEntry& entry)
      ABSL_LOCKS_EXCLUDED(dispatch_mu_, mu_);
  void UpdateStaleness() ABSL_LOCKS_EXCLUDED(dispatch_mu_, mu_);
  // A failure to open or read a watcher; OK once one works again.
  void RecordError(const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_);
  void SetMissing(FleetBucket bucket, bool missing) ABSL_LOCKS_EXCLUDED(mu_);

  // Call the callbacks: on_domain or on_host, and on_synced if the model
  // just became synced.
  void Deliver(const FleetChange& change)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(dispatch_mu_);
  void DeliverSynced(const std::optional<FleetModel>& synced_model)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(dispatch_mu_);
  // A copy of the model if it just became synced (once).
  std::optional<FleetModel> TakeSynced() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::unique_ptr<nats::Connection> conn_;
  const ReaderOptions options_;
  const ReaderCallbacks callbacks_;

  // Held from a model change until its callbacks returned, so that the
  // callbacks see the changes in the model's order, one at a time.
  absl::Mutex dispatch_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  FleetModel model_ ABSL_GUARDED_BY(mu_);
  bool synced_reported_ ABSL_GUARDED_BY(mu_) = false;
  // on_synced has returned (synced() and WaitUntilSynced say this).
  bool synced_delivered_ ABSL_GUARDED_BY(mu_) = false;
  ReaderStats stats_ ABSL_GUARDED_BY(mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);

  mutable absl::Mutex control_mu_;
  bool stopping_ ABSL_GUARDED_BY(control_mu_) = false;
  // The watchers the threads wait on, for Stop() to interrupt.
  nats::KvWatcher* active_[2] ABSL_GUARDED_BY(control_mu_) = {nullptr, nullptr};

  // Destroying a watcher deletes its consumer on the server and waits for
  // the answer: up to the JetStream timeout (5 s) when its node is gone,
  // which is when watchers are replaced. So they are destroyed aside.
  struct Retired {
    std::unique_ptr<nats::KeyValue> kv;
    std::unique_ptr<nats::KvWatcher> watcher;  // destroyed first
  };
  absl::Mutex reap_mu_;
  std::vector<Retired> retired_ ABSL_GUARDED_BY(reap_mu_);
  bool reaper_done_ ABSL_GUARDED_BY(reap_mu_) = false;

  std::thread domains_thread_;
  std::thread hosts_thread_;
  std::thread reaper_thread_;
};

}  // namespace xenlet::fleet

#endif  // XENLET_FLEET_READER_FLEET_READER_H_
