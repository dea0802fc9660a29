// fleet list, fleet watch: the fleet view, every host's domains and
// publisher health as the NATS buckets hold them (fleet/reader), rather
// than one agent's.
#include <memory>

#include "absl/strings/str_cat.h"
#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/fleet_format.h"
#include "tools/xenletctl/fleet_session.h"
#include "tools/xenletctl/help_text.h"

namespace xenlet::ctl {
namespace {

// watch: the listing once the reader is synced, then one line per change,
// until --count lines. The reader calls these one at a time, so the
// members need no lock; RunFleetWatch reads none of them.
class ChangePrinter {
 public:
  ChangePrinter(const GlobalOptions& global, const FleetOptions& options,
                StopToken& stop, std::ostream& out)
      : global_(global), options_(options), stop_(stop), out_(out) {}

  fleet::ReaderCallbacks Callbacks() {
    fleet::ReaderCallbacks callbacks;
    callbacks.on_synced = [this](const fleet::FleetModel& model) {
      if (global_.json) {
        out_ << FleetJson(model) << '\n';
      } else {
        RenderFleetTables(model, options_.wide, global_.clock(), out_);
        out_ << '\n';
      }
      out_.flush();
      synced_ = true;
    };
    callbacks.on_domain = [this](const fleet::DomainChange& change) {
      // Before the listing, changes are part of it.
      if (!synced_) return;
      const absl::Time now = global_.clock();
      Print(global_.json ? DomainChangeJson(change, now)
                         : DomainChangeLine(change, global_.time_zone, now));
    };
    callbacks.on_host = [this](const fleet::HostChange& change) {
      if (!synced_ || !IsHostLineWorthy(change)) return;
      const absl::Time now = global_.clock();
      Print(global_.json ? HostChangeJson(change, now)
                         : HostChangeLine(change, global_.time_zone, now));
    };
    return callbacks;
  }

 private:
  void Print(const std::string& line) {
    if (done_) return;
    out_ << line << '\n';
    out_.flush();  // one line at a time through pipes
    if (options_.count > 0 && ++printed_ >= options_.count) {
      done_ = true;
      stop_.Stop();
    }
  }

  const GlobalOptions& global_;
  const FleetOptions& options_;
  StopToken& stop_;
  std::ostream& out_;
  bool synced_ = false;
  bool done_ = false;
  int64_t printed_ = 0;
};

// The flags both verbs have.
void AddFleetFlags(CLI::App& cmd, FleetOptions& options) {
  fleet::AddNatsFlags(cmd, &options.nats);
  cmd.add_option("--host", options.host,
                 "Only this host's domains and health (a host id, as "
                 "xenlet-publish --host-id)");
  cmd.add_flag("--wide", options.wide,
               "More columns: list --wide's for domains (UUID, CPUTIME, "
               "...), UPDATED (the health entry's age), EVENTS, RESYNCS and "
               "VERSION for hosts");
  cmd.add_option("--stale-after", options.stale_after_seconds,
                 "Seconds without a health update after which a host is "
                 "stale (also stale: a state other than live)")
      ->capture_default_str();
}

}  // namespace

int RunFleetList(const GlobalOptions& global, const FleetOptions& options,
                 std::ostream& out, std::ostream& err) {
  int exit_code = kExitOk;
  auto reader = StartFleetReader(options, {}, "fleet list", err, &exit_code);
  if (reader == nullptr) return exit_code;
  const fleet::FleetModel model = reader->Snapshot();
  reader->Stop();
  if (global.json) {
    out << FleetJson(model) << '\n';
  } else {
    RenderFleetTables(model, options.wide, global.clock(), out);
  }
  return kExitOk;
}

int RunFleetWatch(const GlobalOptions& global, const FleetOptions& options,
                  std::ostream& out, std::ostream& err) {
  StopToken local_stop;
  StopToken& stop = options.stop != nullptr ? *options.stop : local_stop;
  FleetOptions run = options;
  run.stop = &stop;
  ChangePrinter printer(global, run, stop, out);
  int exit_code = kExitOk;
  auto reader = StartFleetReader(run, printer.Callbacks(), "fleet watch", err,
                                 &exit_code);
  if (reader == nullptr) return exit_code;
  // NATS outages are the reader's business; only a stop ends the watch.
  stop.WaitFor(absl::InfiniteDuration());
  reader->Stop();
  return kExitOk;
}

std::vector<Command> AddFleetCommands(CLI::App& root,
                                      const GlobalOptions& global) {
  CLI::App* group = root.add_subcommand(
      "fleet",
      "The fleet view: every host's domains and publisher health, from the "
      "NATS JetStream buckets xenlet-publish writes (xenlet-domains, "
      "xenlet-hosts). Talks to NATS, not to an agent.");
  group->require_subcommand(1);

  auto list_options = std::make_shared<FleetOptions>();
  CLI::App* list = group->add_subcommand(
      "list",
      "Wait until both buckets are listed, then print the domains of every "
      "host (HOST and list's columns but CPUTIME) and a line per host: "
      "STATE, LAST-HEARD (the publisher last heard its agent), RESUME "
      "(INSTANCE:REVISION), STALE. With --json, one document.");
  AddFleetFlags(*list, *list_options);

  auto watch_options = std::make_shared<FleetOptions>();
  CLI::App* watch = group->add_subcommand(
      "watch",
      "Print what fleet list prints, then one line per change: time, host, "
      "ADDED/MODIFIED/DELETED, the new state (or updated/removed), domid, "
      "name; and HOST lines when a host comes, goes, turns stale or live "
      "again. Survives NATS failovers. Ends on SIGINT/SIGTERM or --count.");
  AddFleetFlags(*watch, *watch_options);
  watch->add_option("--count", watch_options->count,
                    "Exit after this many change lines (0: until "
                    "Ctrl-C/SIGTERM)");
  // After its verbs, which would inherit it (theirs are set in cli.cc).
  group->footer(VerbFooter("fleet"));

  return {
      {list,
       [&global, list_options](std::ostream& out, std::ostream& err) {
         return RunFleetList(global, *list_options, out, err);
       }},
      {watch,
       [&global, watch_options](std::ostream& out, std::ostream& err) {
         StopToken stop;
         // Before libnats starts its threads, so they never take the
         // signals.
         SignalStopper signals(stop);
         FleetOptions run = *watch_options;
         run.stop = &stop;
         return RunFleetWatch(global, run, out, err);
       }},
  };
}

}  // namespace xenlet::ctl
