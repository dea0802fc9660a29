// The heart of xenlet-publish: follows the local agent's WatchDomains and
// puts the host into a FleetSink (NATS JetStream): every live event once in
// the event stream, every domain's current state in the domains bucket,
// and the host's health, with the resume point, in the hosts bucket.
//
// Per live event, in this order: store the event (de-duplicated by its id
// <instance>:<revision>), then put or delete the domain's key, then move
// the resume point. A crash or a failure between two steps is repaired by
// doing them again from the last resume point: the event store recognises
// the id (and events at or below the newest stored id of this host are not
// sent again at all), a put or delete is idempotent. The resume point is
// written into the host's health at most every checkpoint interval, so a
// restarted publisher redoes at most that much.
//
// When the sink fails (NATS unreachable), the publisher stops reading the
// agent's stream rather than let the agent coalesce events for it, and
// resumes from its resume point once the sink answers again: the agent's
// event log replays what it missed, event by event. A coalesced event (the
// publisher fell behind anyway) is not applied either: the stream is
// reopened from the resume point, and the log's replay is never coalesced.
// When the agent restarted (a new instance), the publisher resumes from
// the new instance's revision 0: its whole history is published, and at
// its SYNCED the keys of domains it never mentioned (destroyed while the
// agent was down) are deleted. Only when that history has left the log
// does the agent's current state (a snapshot, keys only) replace the
// host's keys.
#ifndef XENLET_FLEET_PUBLISHER_PUBLISHER_H_
#define XENLET_FLEET_PUBLISHER_PUBLISHER_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fleet/publisher/fleet_sink.h"
#include "xenlet/fleet/v1/fleet.pb.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::fleet {

struct PublisherOptions {
  // This host's id (fleet_names.h): the subject token and key prefix.
  std::string host;
  // Asked of the agent: an idle stream still says it is alive this often,
  // and the health's last_heard is at most this old.
  absl::Duration bookmark_interval = absl::Seconds(5);
  // The resume point is written into the health at most this often.
  absl::Duration checkpoint_interval = absl::Seconds(1);
  // Retries of the agent and of the sink: doubling from initial to max.
  absl::Duration backoff_initial = absl::Milliseconds(500);
  absl::Duration backoff_max = absl::Seconds(30);
  std::string version;
};

struct PublisherStats {
  fleet::v1::HostHealth::State state = fleet::v1::HostHealth::STATE_UNSPECIFIED;
  std::string instance_id;  // the resume point
  uint64_t revision = 0;
  uint64_t events_published = 0;
  // Events the sink already held (a retry, or a replay after a restart).
  uint64_t events_duplicate = 0;
  // Replayed events at or below the newest stored id: not sent again.
  uint64_t events_skipped = 0;
  uint64_t domains_put = 0;
  uint64_t domains_deleted = 0;
  uint64_t resyncs = 0;
  uint64_t sink_failures = 0;
  uint64_t agent_failures = 0;
  uint64_t sessions = 0;
  absl::Time last_heard = absl::InfinitePast();
  // The last published event: from the agent's detection to its storage.
  absl::Duration last_lag = absl::ZeroDuration();
};

class Publisher {
 public:
  Publisher(PublisherOptions options, std::shared_ptr<grpc::Channel> agent,
            FleetSink* sink);

  // Follows the agent until Stop(); then writes the health a last time.
  // OK then; ABORTED, at once, if the sink says another publisher writes
  // this host (two with one host id: neither should go on).
  absl::Status Run();
  // Any thread: ends Run() (the open stream is cancelled).
  void Stop();

  PublisherStats stats() const;

 private:
  enum class SessionEnd {
    kStopped,
    kAgentFailed,
    kSinkFailed,
    kReopen,
    kConflict,  // another publisher writes this host: conflict_
  };

  SessionEnd Session();
  // kConflict for the sink's ABORTED (another publisher), else kSinkFailed.
  SessionEnd SinkFailed(const absl::Status& status);
  // Loads what the sink knows of this host: the newest stored event, and
  // (the first time) the resume point and the domains held.
  absl::Status Recover();
  // One message of the agent's stream; an error is the sink's.
  absl::Status Handle(const xenlet::v1::WatchDomainsResponse& message);
  absl::Status ApplyLive(const xenlet::v1::WatchDomainsResponse& event);
  // The collected current state replaces the host's keys.
  absl::Status ApplyState(const std::string& instance_id, uint64_t revision);
  absl::Status PutDomain(const xenlet::v1::Domain& domain);
  // After an instance's history: the keys of domids it never mentioned.
  absl::Status DropUntouched();
  absl::Status WriteHealth(fleet::v1::HostHealth::State state);
  absl::Status MaybeCheckpoint();
  void SetState(fleet::v1::HostHealth::State state);
  // Waits (interruptibly by Stop) for the backoff; false if stopped.
  bool Backoff(absl::Duration* delay);

  const PublisherOptions options_;
  std::unique_ptr<xenlet::v1::DomainService::Stub> agent_;
  FleetSink* const sink_;
  const std::string subject_;

  // The session's state: only Run's thread touches it.
  bool recovered_ = false;
  absl::Status conflict_;  // why Run() gave up (kConflict)
  std::optional<xenlet::v1::ResumePoint> resume_;  // fully applied up to here
  std::optional<xenlet::v1::ResumePoint>
      stored_;                            // newest event the sink holds
  std::map<uint32_t, std::string> held_;  // domid -> key, as in the sink
  // Reopen the stream from resume_ (set while handling a message).
  bool reopen_ = false;
  // Replaying a restarted agent's history from revision 0 (perhaps over
  // several sessions): the domids it mentions, to find the keys it left
  // out at its SYNCED.
  bool replaying_history_ = false;
  std::set<uint32_t> touched_;
  // Between an initial state's (or a resync's) first ADDED and its SYNCED.
  bool collecting_ = false;
  std::map<uint32_t, xenlet::v1::Domain> pending_;
  absl::Time last_checkpoint_ = absl::InfinitePast();
  bool checkpoint_due_ = false;

  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  PublisherStats stats_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace xenlet::fleet

#endif  // XENLET_FLEET_PUBLISHER_PUBLISHER_H_
