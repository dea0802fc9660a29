// A WatchDomains client that keeps its own model of the host, as a remote
// orchestrator would: a thread reads the stream, applies ADDED/MODIFIED as
// upserts and DELETED as erasures, tracks its resume point (the revision of
// SYNCED, BOOKMARK and live events; never of the ADDED events of an initial
// state, which all carry the snapshot's revision) and, after a disconnect,
// resumes from it. Every breach of the stream's contract it can see on its
// own (a revision repeated or going backwards, a revision skipped without
// coalescing, a live MODIFIED for a domain it does not hold, a transition
// that does not follow from the state it holds, ...) is recorded as a
// violation for the test to report. Its streams are unfiltered.
//
// Tests wait on it with WaitUntil (a condition on its state, with a bound):
// no sleeps.
#ifndef XENLET_TESTS_TESTING_WATCH_CLIENT_H_
#define XENLET_TESTS_TESTING_WATCH_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::testing {

struct WatchClientOptions {
  std::string name;    // for messages
  std::string target;  // gRPC target, e.g. "unix:/tmp/xlt.abc/xenlet.sock"
  // When a resume point cannot be honoured, ask for the current state in
  // the same stream; otherwise start over with initial_state.
  bool resync_inline = true;
  // A slow reader: after the first SYNCED, read nothing more until
  // ReleaseReads(). With a small window (below) gRPC's flow control then
  // backs the server up, so that its queue for this stream overflows.
  bool hold_reads = false;
  // The HTTP/2 stream window this client offers, in bytes, with BDP probing
  // off so that it stays that small; 0: gRPC's defaults.
  int window_bytes = 0;
  // Bound on every stream (a safety net for a hung test).
  absl::Duration stream_deadline = absl::Seconds(120);
};

struct WatchClientState {
  std::map<uint32_t, v1::Domain> domains;
  // The last revision received, and the resume point: the last SYNCED,
  // BOOKMARK or live event not marked coalesced (a coalesced one may have
  // overtaken an older change of another domain).
  bool has_point = false;
  std::string instance_id;
  uint64_t revision = 0;
  uint64_t resume_revision = 0;
  // A stream is open and past its SYNCED.
  bool live = false;

  int streams = 0;      // streams opened
  int resumes = 0;      // of which from a resume point
  int stream_ends = 0;  // streams over, whatever ended them
  grpc::StatusCode last_end_code = grpc::StatusCode::OK;
  std::string last_end_message;
  uint64_t events = 0;     // ADDED/MODIFIED/DELETED received
  uint64_t coalesced = 0;  // of which marked coalesced
  uint64_t replayed = 0;   // received between a resume and its SYNCED
  uint64_t synced = 0;
  uint64_t bookmarks = 0;
  // Revisions skipped on a stream that had no coalesced event: every event
  // of an unfiltered stream reaches it, one revision each, unless merged
  // by coalescing. Counted for the open stream too.
  uint64_t unexplained_gaps = 0;
  std::vector<v1::ResyncReason> resyncs;  // RESYNC_REQUIRED received
  // Every non-empty name each domain (by uuid) was seen with, in any event.
  std::map<std::string, std::set<std::string>> names_by_uuid;
  // DELETED events received, by the uuid they carried.
  std::map<std::string, int> deletions_by_uuid;
  std::vector<std::string> violations;
};

class WatchClient {
 public:
  explicit WatchClient(WatchClientOptions options);
  ~WatchClient();
  WatchClient(const WatchClient&) = delete;
  WatchClient& operator=(const WatchClient&) = delete;

  // Starts the reading thread: the first stream asks for the initial state.
  void Start();
  // Cancels the open stream (if any); no new stream until Reconnect().
  void Disconnect();
  // No new stream after the current one ends (the server may end it), until
  // Reconnect(); the current one is left alone.
  void HoldReconnect();
  // Opens a stream again, from the resume point if there is one.
  void Reconnect();
  // For hold_reads: reads again, and keeps reading.
  void ReleaseReads();
  // Cancels the stream and joins the thread. Idempotent.
  void Stop();

  const std::string& name() const { return options_.name; }
  WatchClientState state() const;
  // True once pred holds for the state (checked on every change); false
  // after timeout.
  bool WaitUntil(const std::function<bool(const WatchClientState&)>& pred,
                 absl::Duration timeout = absl::Seconds(20));
  // Past a SYNCED of instance_id, at revision or later.
  bool WaitForRevision(const std::string& instance_id, uint64_t revision,
                       absl::Duration timeout = absl::Seconds(20));

 private:
  void Loop();
  void Apply(const v1::WatchDomainsResponse& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Violation(std::string what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const WatchClientOptions options_;
  mutable absl::Mutex mutex_;
  WatchClientState state_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool allowed_ ABSL_GUARDED_BY(mutex_) = true;
  bool holding_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  // The current stream: its kind and where its initial state stands.
  bool resumed_stream_ ABSL_GUARDED_BY(mutex_) = false;
  bool in_initial_ ABSL_GUARDED_BY(mutex_) = false;
  // Revisions skipped on the current stream, and whether it had a coalesced
  // event (which explains them).
  uint64_t stream_gaps_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stream_coalesced_ ABSL_GUARDED_BY(mutex_) = false;
  std::optional<uint64_t> initial_revision_ ABSL_GUARDED_BY(mutex_);
  std::thread thread_;
};

// A Domain without its volatile fields (cpu time, running/blocked, vCPUs
// online, current/shared/outstanding memory), which change without events:
// what a watcher's model and the agent's snapshot must agree on.
v1::Domain StableFields(const v1::Domain& domain);

// Differences between two models (domid -> Domain, compared on their
// stable fields), one line each; empty if they agree.
std::vector<std::string> DiffModels(
    const std::map<uint32_t, v1::Domain>& expected,
    const std::map<uint32_t, v1::Domain>& actual);

}  // namespace xenlet::testing

#endif  // XENLET_TESTS_TESTING_WATCH_CLIENT_H_
