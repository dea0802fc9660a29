// watch: xenlet.v1.DomainService/WatchDomains, resumed across broken streams.
#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/domain_format.h"
#include "tools/xenletctl/errors.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::ctl {
namespace {

using xenlet::v1::ResumePoint;
using xenlet::v1::WatchDomainsRequest;
using xenlet::v1::WatchDomainsResponse;

// The API's bound on both intervals: 1 s..1 h, 0 meaning the default/none.
constexpr int kMaxIntervalSeconds = 3600;

absl::Status CheckInterval(int seconds, const std::string& flag) {
  if (seconds < 0 || seconds > kMaxIntervalSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", seconds, " is not in 0..", kMaxIntervalSeconds,
                     " seconds"));
  }
  return absl::OkStatus();
}

absl::StatusOr<WatchDomainsRequest> BuildRequest(const WatchOptions& options) {
  WatchDomainsRequest request;
  request.set_initial_state(options.initial_state);
  auto filter = BuildFilter(options.filter);
  if (!filter.ok()) return filter.status();
  *request.mutable_filter() = *filter;
  for (const std::string& text : options.event_types) {
    auto type = ParseEventType(text);
    if (!type.ok()) return type.status();
    request.add_event_types(*type);
  }
  auto mask = ParseFieldMask(options.fields);
  if (!mask.ok()) return mask.status();
  // Unset means every field; an empty mask would mean the same.
  if (mask->paths_size() > 0) *request.mutable_read_mask() = *mask;
  absl::Status s =
      CheckInterval(options.bookmark_interval_seconds, "--bookmark-interval");
  if (!s.ok()) return s;
  s = CheckInterval(options.stats_interval_seconds, "--stats-interval");
  if (!s.ok()) return s;
  if (options.bookmark_interval_seconds > 0) {
    request.mutable_bookmark_interval()->set_seconds(
        options.bookmark_interval_seconds);
  }
  if (options.stats_interval_seconds > 0) {
    request.mutable_stats_interval()->set_seconds(
        options.stats_interval_seconds);
  }
  if (options.count < 0) {
    return absl::InvalidArgumentError("--count: must be >= 0");
  }
  if (options.max_reconnects < 0) {
    return absl::InvalidArgumentError("--max-reconnects: must be >= 0");
  }
  if (!(options.backoff_max_seconds > 0) ||
      options.backoff_initial_seconds > options.backoff_max_seconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--backoff-max: must be > 0 and at least the initial backoff (",
        options.backoff_initial_seconds, "s)"));
  }
  return request;
}

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

bool IsDomainEvent(xenlet::v1::EventType type) {
  return type == xenlet::v1::EVENT_TYPE_ADDED ||
         type == xenlet::v1::EVENT_TYPE_MODIFIED ||
         type == xenlet::v1::EVENT_TYPE_DELETED ||
         type == xenlet::v1::EVENT_TYPE_STATS;
}

}  // namespace

int RunWatch(const GlobalOptions& global, const WatchOptions& options,
             std::ostream& out, std::ostream& err) {
  auto base = BuildRequest(options);
  if (!base.ok()) return ReportUsageError(err, base.status());
  ResumeTracker resume;
  if (!options.resume.empty()) {
    auto point = ParseResumePoint(options.resume);
    if (!point.ok()) return ReportUsageError(err, point.status());
    resume.Set(*point);
  }
  auto channel = MakeChannel(global.connection);
  if (!channel.ok()) return ReportUsageError(err, channel.status());
  auto stub = xenlet::v1::DomainService::NewStub(*channel);

  StopToken local_stop;
  StopToken& stop = options.stop != nullptr ? *options.stop : local_stop;
  int64_t domain_events = 0;
  double backoff = options.backoff_initial_seconds;
  int failures = 0;
  bool ever_received = false;

  while (true) {
    WatchDomainsRequest request = *base;
    if (resume.has()) {
      *request.mutable_resume() = resume.point();
      // A resume the agent cannot honour continues with the current state
      // in the same stream instead of ending it.
      request.set_resync_inline(true);
    } else if (request.initial_state() || resume.needs_state()) {
      request.set_initial_state(true);
      resume.BeginSnapshot();
    }

    // No deadline: a watch runs until stopped.
    grpc::ClientContext context;
    if (!stop.Attach(&context)) return kExitOk;
    auto reader = stub->WatchDomains(&context, request);
    bool received = false;
    bool done = false;
    WatchDomainsResponse event;
    while (!done && reader->Read(&event)) {
      received = ever_received = true;
      out << (global.json ? ToJson(event) : EventLine(event)) << '\n';
      out.flush();  // one line at a time through pipes
      resume.Observe(event);
      if (event.type() == xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED) {
        err << "xenletctl: WatchDomains: RESYNC_REQUIRED ("
            << ResyncReasonName(event.resync_reason()) << "): resume from "
            << request.resume().instance_id() << " revision "
            << request.resume().revision()
            << " not possible; continuing with the current state sent "
               "inline\n";
      }
      if (IsDomainEvent(event.type())) ++domain_events;
      done = (options.count > 0 && domain_events >= options.count) ||
             (options.until_synced &&
              event.type() == xenlet::v1::EVENT_TYPE_SYNCED);
    }
    if (done) context.TryCancel();
    grpc::Status status = reader->Finish();
    stop.Detach();
    resume.StreamEnded();
    if (done || stop.stopped()) return kExitOk;

    // A first call that fails outright is a setup problem (wrong socket, no
    // agent): say so rather than retrying forever.
    if (!ever_received || !Retryable(status.error_code())) {
      return ReportRpcError(err, "WatchDomains", status);
    }
    if (received) {
      failures = 0;
      backoff = options.backoff_initial_seconds;
    }
    if (options.max_reconnects > 0 && ++failures > options.max_reconnects) {
      err << "xenletctl: WatchDomains: giving up after "
          << options.max_reconnects << " reconnects\n";
      return ReportRpcError(err, "WatchDomains", status);
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
    backoff = std::min(backoff * 2, options.backoff_max_seconds);
  }
}

Command AddWatchCommand(CLI::App& root, const GlobalOptions& global) {
  auto options = std::make_shared<WatchOptions>();
  CLI::App* cmd = root.add_subcommand(
      "watch",
      "Stream domain events (DomainService/WatchDomains), one line each; "
      "reconnects and resumes from the last revision when the stream "
      "breaks. Ends on SIGINT/SIGTERM, --count or --until-synced.");
  cmd->add_flag("--initial-state,!--no-initial-state", options->initial_state,
                "Start with an ADDED event per current domain, then SYNCED "
                "(default on)");
  cmd->add_option("--resume", options->resume,
                  "Resume from INSTANCE:REVISION (e.g. the snapshot of list "
                  "--json) instead of starting with the initial state; if "
                  "the agent cannot, it sends RESYNC_REQUIRED and the current "
                  "state");
  AddFilterFlags(*cmd, options->filter);
  cmd->add_option("--event-type", options->event_types,
                  "Only these kinds: added, modified, deleted, stats; "
                  "repeatable (SYNCED, BOOKMARK and RESYNC_REQUIRED always "
                  "come)");
  cmd->add_option("--bookmark-interval", options->bookmark_interval_seconds,
                  "Seconds between BOOKMARK events on an idle stream, "
                  "1..3600 (0: the agent's default, 30)");
  cmd->add_option("--stats-interval", options->stats_interval_seconds,
                  "Opt in to STATS events (cpu time, memory, vCPUs) every "
                  "this many seconds, 1..3600 (0: none)");
  cmd->add_option("--fields", options->fields,
                  "Only these Domain fields in events (comma list of proto "
                  "paths)")
      ->delimiter(',');
  cmd->add_option("--count", options->count,
                  "Exit after this many domain events (ADDED, MODIFIED, "
                  "DELETED, STATS); 0: no limit");
  cmd->add_flag("--until-synced", options->until_synced,
                "Exit after the first SYNCED event");
  cmd->add_option("--max-reconnects", options->max_reconnects,
                  "Give up after this many reconnects in a row without an "
                  "event (0: never)");
  cmd->add_option("--backoff-max", options->backoff_max_seconds,
                  "Longest wait between reconnects, in seconds")
      ->capture_default_str();
  return {cmd, [&global, options](std::ostream& out, std::ostream& err) {
            StopToken stop;
            // Before the channel exists, so gRPC's threads never take the
            // signals.
            SignalStopper signals(stop);
            WatchOptions run = *options;
            run.stop = &stop;
            return RunWatch(global, run, out, err);
          }};
}

}  // namespace xenlet::ctl
