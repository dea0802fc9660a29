// list --watch: the list table kept up to date from a WatchDomains stream
// (with STATS at the refresh interval for the volatile columns). The
// session's thread applies events; a drawing thread redraws when the table
// changed, at most once per interval, so a burst of events is one redraw
// and an idle host prints nothing new.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/domain_format.h"
#include "tools/xenletctl/domain_table.h"
#include "tools/xenletctl/errors.h"
#include "tools/xenletctl/live_domains.h"
#include "tools/xenletctl/screen.h"
#include "tools/xenletctl/table.h"
#include "tools/xenletctl/watch_session.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::ctl {
namespace {

using xenlet::v1::Domain;
using xenlet::v1::WatchDomainsResponse;

// The API's bound on stats_interval.
constexpr double kMaxIntervalSeconds = 3600;

// One table to draw.
struct Frame {
  std::vector<Domain> domains;
  uint64_t revision = 0;
  std::string instance_id;
};

// What the stream has told so far, handed from the session's thread to the
// drawing thread.
class Board : public WatchHandler {
 public:
  void StreamStarting(bool snapshot) override {
    if (!snapshot) return;
    absl::MutexLock lock(&mu_);
    live_.BeginSnapshot();
    Update();
  }

  bool OnEvent(const WatchDomainsResponse& event) override {
    absl::MutexLock lock(&mu_);
    if (live_.Apply(event)) dirty_ = true;
    Update();
    return true;
  }

  // Waits for a change to draw, then for `not_before`; nullopt once
  // finished.
  std::optional<Frame> Next(absl::Time not_before) {
    absl::MutexLock lock(&mu_);
    while (true) {
      mu_.Await(absl::Condition(&wake_));
      if (finished_) return std::nullopt;
      if (absl::Now() >= not_before) break;
      mu_.AwaitWithDeadline(absl::Condition(&finished_), not_before);
      // Then check again: a resync may have begun meanwhile.
    }
    dirty_ = false;
    Update();
    Frame frame;
    for (const auto& [domid, domain] : live_.domains()) {
      frame.domains.push_back(domain);
    }
    frame.revision = live_.revision();
    frame.instance_id = live_.instance_id();
    return frame;
  }

  // The stream is over: Next returns nullopt from now on.
  void Finish() {
    absl::MutexLock lock(&mu_);
    finished_ = true;
    Update();
  }

 private:
  void Update() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // Nothing is drawn from an incomplete snapshot.
    wake_ = finished_ || (dirty_ && live_.synced());
  }

  absl::Mutex mu_;
  LiveDomains live_ ABSL_GUARDED_BY(mu_);
  // Changed since the last Next.
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // What Next waits for: finished, or a change to a complete state.
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
};

// Draws frames from `board` until it is finished or --count frames are out
// (then stops the session).
class Drawer {
 public:
  Drawer(const GlobalOptions& global, const ListOptions& options,
         const google::protobuf::FieldMask& mask, std::ostream& out)
      : global_(global), options_(options), mask_(mask), out_(out) {}

  void Run(Board& board, StopToken& stop) {
    const absl::Duration interval = absl::Seconds(options_.interval_seconds);
    absl::Time not_before = absl::InfinitePast();
    int64_t frames = 0;
    std::string last;
    while (std::optional<Frame> frame = board.Next(not_before)) {
      not_before = absl::Now() + interval;
      // Only what changed is drawn: STATS of idle domains change nothing.
      std::string body = Body(*frame);
      if (body == last) continue;
      last = body;
      out_ << Compose(*frame, body);
      out_.flush();
      if (options_.count > 0 && ++frames >= options_.count) {
        stop.Stop();
        return;
      }
    }
  }

 private:
  DomainLayout layout() const {
    return options_.wide ? DomainLayout::kWide : DomainLayout::kNarrow;
  }

  std::string Body(const Frame& frame) const {
    if (global_.json) {
      xenlet::v1::ListDomainsResponse response;
      for (const Domain& d : frame.domains) *response.add_domains() = d;
      return ToJson(response);
    }
    Table table(DomainHeader(layout()));
    AlignDomainColumns(table, 0, layout());
    for (const Domain& d : frame.domains) {
      table.AddRow(DomainRow(d, mask_, layout()));
    }
    std::ostringstream text;
    table.Render(text);
    return text.str();
  }

  std::string Compose(const Frame& frame, const std::string& body) const {
    if (global_.json) {
      // A list --json page, with the revision the table is as of.
      xenlet::v1::ListDomainsResponse response;
      for (const Domain& d : frame.domains) *response.add_domains() = d;
      response.mutable_snapshot()->set_instance_id(frame.instance_id);
      response.mutable_snapshot()->set_revision(frame.revision);
      response.set_total_size(frame.domains.size());
      return ToJson(response) + "\n";
    }
    std::string text =
        absl::StrCat("# ",
                     absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", global_.clock(),
                                      global_.time_zone),
                     "  ", frame.domains.size(),
                     frame.domains.size() == 1 ? " domain" : " domains",
                     "  revision ", frame.revision, "\n", body);
    if (!options_.terminal) return text;
    std::optional<ScreenSize> size = TerminalSize(STDOUT_FILENO);
    return absl::StrCat(kClearScreen,
                        size.has_value() ? FitToScreen(text, *size) : text);
  }

  const GlobalOptions& global_;
  const ListOptions& options_;
  const google::protobuf::FieldMask& mask_;
  std::ostream& out_;
};

}  // namespace

int RunListWatch(const GlobalOptions& global, const ListOptions& options,
                 std::ostream& out, std::ostream& err) {
  auto usage = [&](const std::string& message) {
    return ReportUsageError(err, "list", absl::InvalidArgumentError(message));
  };
  if (!(options.interval_seconds >= 0) ||
      options.interval_seconds > kMaxIntervalSeconds) {
    return usage(absl::StrCat("--interval: ", options.interval_seconds,
                              " is not in 0..", kMaxIntervalSeconds,
                              " seconds"));
  }
  if (options.count < 0) return usage("--count: must be >= 0");
  if (options.page_size != 0 || !options.page_token.empty()) {
    return usage(
        "--page-size/--page-token: not with --watch (it shows every domain)");
  }
  absl::Status retry = CheckRetryPolicy(options.retry);
  if (!retry.ok()) return ReportUsageError(err, "list", retry);

  WatchSession session;
  auto filter = BuildFilter(options.filter);
  if (!filter.ok()) return ReportUsageError(err, "list", filter.status());
  *session.request.mutable_filter() = *filter;
  auto mask = ParseFieldMask(options.fields);
  if (!mask.ok()) return ReportUsageError(err, "list", mask.status());
  if (mask->paths_size() > 0) {
    *session.request.mutable_read_mask() = *mask;
    // Events are applied by domid: the stream must carry it even when the
    // table does not show it.
    if (std::find(mask->paths().begin(), mask->paths().end(), "domid") ==
        mask->paths().end()) {
      session.request.mutable_read_mask()->add_paths("domid");
    }
  }
  session.request.set_initial_state(true);
  // STATS refresh the volatile columns (CPU time, memory) at the interval;
  // the API counts it in whole seconds, at least 1.
  session.request.mutable_stats_interval()->set_seconds(
      static_cast<int64_t>(std::max(1.0, std::ceil(options.interval_seconds))));
  session.retry = options.retry;
  session.connection = global.connection;

  auto channel = MakeChannel(global.connection);
  if (!channel.ok()) return ReportUsageError(err, "list", channel.status());
  auto stub = xenlet::v1::DomainService::NewStub(*channel);
  session.stub = stub.get();

  StopToken local_stop;
  StopToken& stop = options.stop != nullptr ? *options.stop : local_stop;
  Board board;
  Drawer drawer(global, options, *mask, out);
  std::thread drawing([&] { drawer.Run(board, stop); });
  const int code = RunWatchSession(session, board, stop, err);
  board.Finish();
  drawing.join();
  return code;
}

}  // namespace xenlet::ctl
