#include "tools/xenletctl/watch_session.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tools/xenletctl/domain_format.h"
#include "tools/xenletctl/errors.h"
#include "tools/xenletctl/exit_codes.h"

namespace xenlet::ctl {
namespace {

using xenlet::v1::ResumePoint;
using xenlet::v1::WatchDomainsRequest;
using xenlet::v1::WatchDomainsResponse;

// Codes after which the same request may succeed later: the agent restarted,
// the connection broke, or the agent shed load. Anything else (bad argument,
// UNIMPLEMENTED, PERMISSION_DENIED, ...) would fail again.
bool Retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:  // the agent ended the stream (shutting down)
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
      return true;
    default:
      return false;
  }
}

// The last point the client has fully applied, for the next resume.
class ResumeTracker {
 public:
  bool has() const { return has_; }
  const ResumePoint& point() const { return point_; }

  // A snapshot (initial state or inline resync) is in progress until SYNCED:
  // its ADDED events all carry the snapshot's revision, so resuming from one
  // of them would skip the rest of the snapshot.
  void BeginSnapshot() { in_snapshot_ = true; }

  void Set(const ResumePoint& point) {
    point_ = point;
    has_ = true;
  }

  // Whether the next stream must start with the current state: set when a
  // stream ended between RESYNC_REQUIRED and its SYNCED. The old point would
  // only be refused again (forever, by an agent that ignores resync_inline),
  // so it is dropped.
  bool needs_state() const { return needs_state_; }

  void StreamEnded() {
    if (!resync_pending_) return;
    resync_pending_ = false;
    has_ = false;
    needs_state_ = true;
  }

  void Observe(const WatchDomainsResponse& event) {
    switch (event.type()) {
      case xenlet::v1::EVENT_TYPE_SYNCED:
        in_snapshot_ = false;
        resync_pending_ = false;
        needs_state_ = false;
        SetFrom(event);
        break;
      case xenlet::v1::EVENT_TYPE_BOOKMARK:
        // By definition complete up to its revision.
        SetFrom(event);
        break;
      case xenlet::v1::EVENT_TYPE_ADDED:
      case xenlet::v1::EVENT_TYPE_MODIFIED:
      case xenlet::v1::EVENT_TYPE_DELETED:
        // A coalesced event may have overtaken an older change of another
        // domain: the BOOKMARK that ends the catch-up is the point.
        if (!in_snapshot_ && !event.coalesced()) SetFrom(event);
        break;
      case xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED:
        // The current state follows inline; only its SYNCED is resumable.
        in_snapshot_ = true;
        resync_pending_ = true;
        break;
      default:
        // STATS are not log events: their revision is the model's current
        // one, possibly ahead of events still queued for this stream.
        break;
    }
  }

 private:
  void SetFrom(const WatchDomainsResponse& event) {
    if (event.instance_id().empty()) return;
    point_.set_instance_id(event.instance_id());
    point_.set_revision(event.revision());
    has_ = true;
  }

  bool has_ = false;
  bool in_snapshot_ = false;
  bool resync_pending_ = false;
  bool needs_state_ = false;
  ResumePoint point_;
};

}  // namespace

absl::Status CheckRetryPolicy(const RetryPolicy& retry) {
  if (retry.max_reconnects < 0) {
    return absl::InvalidArgumentError("--max-reconnects: must be >= 0");
  }
  if (!(retry.backoff_max_seconds > 0) ||
      retry.backoff_initial_seconds > retry.backoff_max_seconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--backoff-max: must be > 0 and at least the initial backoff (",
        retry.backoff_initial_seconds, "s)"));
  }
  return absl::OkStatus();
}

int RunWatchSession(const WatchSession& session, WatchHandler& handler,
                    StopToken& stop, std::ostream& err) {
  ResumeTracker resume;
  if (session.resume.has_value()) resume.Set(*session.resume);
  const RetryPolicy& retry = session.retry;
  double backoff = retry.backoff_initial_seconds;
  int failures = 0;
  bool ever_received = false;

  while (true) {
    WatchDomainsRequest request = session.request;
    bool snapshot = false;
    if (resume.has()) {
      *request.mutable_resume() = resume.point();
      // A resume the agent cannot honour continues with the current state
      // in the same stream instead of ending it.
      request.set_resync_inline(true);
    } else if (request.initial_state() || resume.needs_state()) {
      request.set_initial_state(true);
      resume.BeginSnapshot();
      snapshot = true;
    }

    // No deadline: a watch runs until stopped.
    grpc::ClientContext context;
    if (!stop.Attach(&context)) return kExitOk;
    handler.StreamStarting(snapshot);
    auto reader = session.stub->WatchDomains(&context, request);
    bool received = false;
    bool done = false;
    WatchDomainsResponse event;
    while (!done && reader->Read(&event)) {
      received = ever_received = true;
      resume.Observe(event);
      if (event.type() == xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED) {
        err << "xenletctl: WatchDomains: RESYNC_REQUIRED ("
            << ResyncReasonName(event.resync_reason()) << "): resume from "
            << request.resume().instance_id() << " revision "
            << request.resume().revision()
            << " not possible; continuing with the current state sent "
               "inline\n";
      }
      done = !handler.OnEvent(event);
    }
    if (done) context.TryCancel();
    grpc::Status status = reader->Finish();
    stop.Detach();
    resume.StreamEnded();
    if (done || stop.stopped()) return kExitOk;

    // A first call that fails outright is a setup problem (wrong socket, no
    // agent): say so rather than retrying forever.
    // A stream the agent ended without an error (it is shutting down, or
    // it asked for a resync) is not a failure: it is opened again.
    if (!status.ok() && (!ever_received || !Retryable(status.error_code()))) {
      return ReportRpcError(err, "WatchDomains", status, session.connection);
    }
    if (received) {
      failures = 0;
      backoff = retry.backoff_initial_seconds;
    }
    if (retry.max_reconnects > 0 && ++failures > retry.max_reconnects) {
      err << "xenletctl: WatchDomains: giving up after " << retry.max_reconnects
          << " reconnects\n";
      return ReportRpcError(err, "WatchDomains", status, session.connection);
    }
    err << "xenletctl: WatchDomains: "
        << (status.ok() ? std::string("stream ended by the agent")
                        : absl::StrCat(StatusCodeName(status.error_code()),
                                       ": ", status.error_message()))
        << "; reconnecting in " << backoff << "s";
    if (resume.has()) {
      err << " to resume from " << resume.point().instance_id() << " revision "
          << resume.point().revision();
    }
    err << '\n';
    if (stop.WaitFor(absl::Seconds(backoff))) return kExitOk;
    backoff = std::min(backoff * 2, retry.backoff_max_seconds);
  }
}

}  // namespace xenlet::ctl
