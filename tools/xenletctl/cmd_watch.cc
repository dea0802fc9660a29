// watch: xenlet.v1.DomainService/WatchDomains as lines of text or JSON,
// resumed across broken streams (watch_session.h).
#include <memory>

#include "absl/strings/str_cat.h"
#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/domain_format.h"
#include "tools/xenletctl/errors.h"
#include "tools/xenletctl/watch_session.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::ctl {
namespace {

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
  s = CheckRetryPolicy(options.retry);
  if (!s.ok()) return s;
  return request;
}

bool IsDomainEvent(xenlet::v1::EventType type) {
  return type == xenlet::v1::EVENT_TYPE_ADDED ||
         type == xenlet::v1::EVENT_TYPE_MODIFIED ||
         type == xenlet::v1::EVENT_TYPE_DELETED ||
         type == xenlet::v1::EVENT_TYPE_STATS;
}

// Prints each event; done after --count domain events or --until-synced.
class EventPrinter : public WatchHandler {
 public:
  EventPrinter(const GlobalOptions& global, const WatchOptions& options,
               std::ostream& out)
      : global_(global), options_(options), out_(out) {}

  bool OnEvent(const WatchDomainsResponse& event) override {
    out_ << (global_.json
                 ? ToJson(event)
                 : EventLine(event, global_.time_zone, global_.clock()))
         << '\n';
    out_.flush();  // one line at a time through pipes
    if (IsDomainEvent(event.type())) ++domain_events_;
    return !((options_.count > 0 && domain_events_ >= options_.count) ||
             (options_.until_synced &&
              event.type() == xenlet::v1::EVENT_TYPE_SYNCED));
  }

 private:
  const GlobalOptions& global_;
  const WatchOptions& options_;
  std::ostream& out_;
  int64_t domain_events_ = 0;
};

}  // namespace

int RunWatch(const GlobalOptions& global, const WatchOptions& options,
             std::ostream& out, std::ostream& err) {
  auto base = BuildRequest(options);
  if (!base.ok()) return ReportUsageError(err, "watch", base.status());
  WatchSession session;
  session.request = *base;
  session.retry = options.retry;
  session.connection = global.connection;
  if (!options.resume.empty()) {
    auto point = ParseResumePoint(options.resume);
    if (!point.ok()) return ReportUsageError(err, "watch", point.status());
    session.resume = *point;
  }
  auto channel = MakeChannel(global.connection);
  if (!channel.ok()) return ReportUsageError(err, "watch", channel.status());
  auto stub = xenlet::v1::DomainService::NewStub(*channel);
  session.stub = stub.get();

  StopToken local_stop;
  StopToken& stop = options.stop != nullptr ? *options.stop : local_stop;
  EventPrinter printer(global, options, out);
  return RunWatchSession(session, printer, stop, err);
}

Command AddWatchCommand(CLI::App& root, const GlobalOptions& global) {
  auto options = std::make_shared<WatchOptions>();
  CLI::App* cmd = root.add_subcommand(
      "watch",
      "Stream domain events (DomainService/WatchDomains), one line each: "
      "local time, event, transition, domain, state and shutdown reason. "
      "Reconnects and resumes from the last revision when the stream "
      "breaks. Ends on SIGINT/SIGTERM, --count or --until-synced.");
  cmd->add_flag("--initial-state,!--no-initial-state", options->initial_state,
                "Start with an ADDED event per current domain, then SYNCED "
                "(default on)");
  cmd->add_option("--resume", options->resume,
                  "Resume from INSTANCE:REVISION (what a SYNCED or BOOKMARK "
                  "line shows, or the snapshot of list --json) instead of "
                  "starting with the initial state; if the agent cannot, it "
                  "sends RESYNC_REQUIRED and the current state");
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
  cmd->add_option("--max-reconnects", options->retry.max_reconnects,
                  "Give up after this many reconnects in a row without an "
                  "event (0: never)");
  cmd->add_option("--backoff-max", options->retry.backoff_max_seconds,
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
