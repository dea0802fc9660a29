// A WatchDomains stream that survives breaks: reconnects with exponential
// backoff and resumes from the last revision fully applied (inline resync
// when the agent cannot honour it). Shared by watch, which prints events,
// and list --watch, which keeps a table up to date from them.
#ifndef XENLET_TOOLS_XENLETCTL_WATCH_SESSION_H_
#define XENLET_TOOLS_XENLETCTL_WATCH_SESSION_H_

#include <optional>
#include <ostream>

#include "absl/status/status.h"
#include "tools/xenletctl/connection.h"
#include "tools/xenletctl/stop_token.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::ctl {

// When and how often to reconnect.
struct RetryPolicy {
  // Doubles from initial up to max after each failed attempt, back to
  // initial once a stream delivers an event.
  double backoff_initial_seconds = 0.5;
  double backoff_max_seconds = 30;
  // Give up after this many reconnects in a row without an event; 0 is
  // unbounded.
  int max_reconnects = 0;
};

// Errors name the flags (--backoff-max, --max-reconnects).
absl::Status CheckRetryPolicy(const RetryPolicy& retry);

// What a session does with its streams. Called on the session's thread.
class WatchHandler {
 public:
  virtual ~WatchHandler() = default;
  // A stream is about to start; `snapshot`: it begins with the current
  // state (ADDED ... SYNCED), so what an earlier stream sent is replaced.
  virtual void StreamStarting(bool snapshot) {}
  // Returns false when the handler is done: the session ends with kExitOk.
  virtual bool OnEvent(const xenlet::v1::WatchDomainsResponse& event) = 0;
};

struct WatchSession {
  xenlet::v1::DomainService::StubInterface* stub = nullptr;
  // Filter, event types, mask, intervals; initial_state for the first
  // stream unless `resume` is given.
  xenlet::v1::WatchDomainsRequest request;
  std::optional<xenlet::v1::ResumePoint> resume;
  RetryPolicy retry;
  // For error messages (where the agent was looked for).
  ConnectionOptions connection;
};

// Runs streams until the handler is done or `stop` is stopped (kExitOk), or
// a call fails in a way a retry would not fix, the first call fails (no
// agent there), or max_reconnects is used up (kExitRpcError, reported on
// `err`). Reconnects and resyncs are reported on `err`.
int RunWatchSession(const WatchSession& session, WatchHandler& handler,
                    StopToken& stop, std::ostream& err);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_WATCH_SESSION_H_
