// One WatchDomains stream: a callback-API writer that sends the initial
// state or the replay, SYNCED, then live events from its subscription,
// with BOOKMARKs when idle and opt-in STATS. It writes one message at a
// time and never blocks a thread while it waits for events or for the
// client, so hundreds of streams need no thread each. It writes bytes (the
// method is registered raw): an event's are encoded once and shared by
// every stream that sends it in the same form (store/encoded_forms.h).
#ifndef XENLET_AGENT_WATCH_STREAM_H_
#define XENLET_AGENT_WATCH_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "store/domain_store.h"
#include "xenlet/v1/domain_service.pb.h"

namespace xenlet::agent {

// Shared by every stream of a service: how many events were sent, and how
// many of them had to be encoded (the rest reused another stream's bytes).
struct WatchCounters {
  std::atomic<uint64_t> events_sent{0};
  std::atomic<uint64_t> events_encoded{0};
};

struct WatchSettings {
  absl::Duration default_bookmark_interval = absl::Seconds(30);
  size_t queue_capacity = 1024;
  // Told, for every live event sent, how long after its detection.
  std::function<void(absl::Duration)> on_event_sent;
};

class WatchStream : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // on_done runs once the stream is over, before the object is deleted.
  WatchStream(store::DomainStore* store, const v1::WatchDomainsRequest& request,
              const WatchSettings& settings, WatchCounters* counters,
              std::function<void(WatchStream*)> on_done);

  // Starts writing; call once, after registering the stream.
  void Start();
  // Periodic: sends a BOOKMARK or STATS when due.
  void Tick(absl::Time now);
  // Ends the stream with status once the write in flight (if any) is done.
  void End(const grpc::Status& status);

  size_t queued() const { return begin_.subscription->queued(); }
  uint64_t coalesced_total() const {
    return begin_.subscription->coalesced_total();
  }
  v1::ResyncReason resync() const { return begin_.resync; }

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  enum class Phase { kResync, kInitial, kReplay, kSynced, kLive, kEnding };

  // Writes the next message if none is in flight.
  void Pump();
  // Fills message_ with the next message; false if there is none now.
  bool Next() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool NextInitial() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool NextReplay() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool NextLive() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool NextStats() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // volatiles: the snapshot's sweep, for a state from a snapshot.
  void FillDomain(const v1::Domain& domain,
                  const store::VolatileView* volatiles)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // coalesced: sent while catching up; merged: it stands for several
  // changes (no initiator then).
  void FillEvent(const store::Event& event, v1::EventType type, bool coalesced,
                 bool merged) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Marker(v1::EventType type, uint64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  store::DomainStore* const store_;
  const v1::WatchDomainsRequest request_;
  WatchCounters* const counters_;
  const std::string mask_key_;  // the read mask, as part of a form's name
  const std::function<void(WatchStream*)> on_done_;
  const std::function<void(absl::Duration)> on_event_sent_;
  const absl::Duration bookmark_interval_;
  const absl::Duration stats_interval_;  // zero: no stats
  const store::DomainFilter filter_;
  store::WatchBegin begin_;

  absl::Mutex mutex_;
  Phase phase_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status end_status_ ABSL_GUARDED_BY(mutex_);
  v1::WatchDomainsResponse message_ ABSL_GUARDED_BY(mutex_);
  // Set by Next() for an event: its shared bytes (message_ is then unused).
  store::Encoded encoded_ ABSL_GUARDED_BY(mutex_);
  grpc::ByteBuffer out_;  // the write in flight; only Pump and gRPC touch it
  uint32_t cursor_ ABSL_GUARDED_BY(mutex_) = 0;  // initial-state domid
  size_t replay_index_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::Time last_write_ ABSL_GUARDED_BY(mutex_);
  absl::Time next_stats_ ABSL_GUARDED_BY(mutex_);
  bool bookmark_due_ ABSL_GUARDED_BY(mutex_) = false;
  std::shared_ptr<const store::Snapshot> stats_snapshot_
      ABSL_GUARDED_BY(mutex_);
  uint32_t stats_cursor_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_WATCH_STREAM_H_
