// The subcommands of xenletctl and the options they share. Each subcommand
// lives in its own cmd_<verb>.cc: a Run<Verb> function that tests call
// directly, and an Add<Verb>Command that registers its flags with CLI11.
// Adding a verb is one new file plus one line in cli.cc (the four control
// verbs share cmd_control.cc; the fleet group's list and watch share
// cmd_fleet.cc).
#ifndef XENLET_TOOLS_XENLETCTL_COMMANDS_H_
#define XENLET_TOOLS_XENLETCTL_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "fleet/nats_flags.h"
#include "tools/xenletctl/connection.h"
#include "tools/xenletctl/exit_codes.h"
#include "tools/xenletctl/selectors.h"
#include "tools/xenletctl/stop_token.h"
#include "tools/xenletctl/watch_session.h"

namespace xenlet::ctl {

// Flags of the tool itself, before or after the verb.
struct GlobalOptions {
  ConnectionOptions connection;
  bool json = false;
  // Per-call deadline in seconds; 0 means none. Not applied to streams
  // (watch, list --watch).
  double timeout_seconds = 10;
  // Times in human output (watch lines, list --watch headers), and the
  // clock for the events that carry no time of their own.
  absl::TimeZone time_zone = absl::LocalTimeZone();
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

struct ListOptions {
  FilterFlags filter;
  std::vector<std::string> fields;
  int page_size = 0;
  std::string page_token;
  bool all = false;
  // More columns (domain_table.h).
  bool wide = false;
  // Keep the table up to date from a WatchDomains stream: redraw when it
  // changed, at most once per interval.
  bool watch = false;
  double interval_seconds = 2;
  // Exit after this many tables drawn; 0 is unbounded.
  int64_t count = 0;
  // stdout is a terminal: clear it before each table, fit the table to it.
  bool terminal = false;
  RetryPolicy retry;
  // Ends --watch from another thread (signals, tests). May be null.
  StopToken* stop = nullptr;
};

struct GetOptions {
  std::vector<std::string> selectors;
  std::vector<std::string> fields;
  bool wide = false;
};

struct WatchOptions {
  bool initial_state = true;
  // "INSTANCE:REVISION" (e.g. a list's snapshot) to resume from instead of
  // starting with the initial state.
  std::string resume;
  FilterFlags filter;
  std::vector<std::string> event_types;
  int bookmark_interval_seconds = 0;
  int stats_interval_seconds = 0;
  std::vector<std::string> fields;
  // Exit after this many domain events (ADDED/MODIFIED/DELETED/STATS); 0 is
  // unbounded.
  int64_t count = 0;
  // Exit after the first SYNCED.
  bool until_synced = false;
  RetryPolicy retry;
  // Ends the watch from another thread (signals, tests). May be null.
  StopToken* stop = nullptr;
};

struct HealthOptions {
  std::string service;
};

// pause, unpause, shutdown, destroy.
struct ControlOptions {
  std::string verb;
  std::vector<std::string> selectors;
  std::string request_id;
  // shutdown
  std::string mode = "poweroff";
  double timeout_seconds = 30;
  bool force = false;
  // destroy: no confirmation prompt
  bool yes = false;
};

// fleet list, fleet watch: the fleet view in NATS (docs/fleet.md 2.6).
struct FleetOptions {
  // -s/--server and the rest, as xenlet-publish takes them.
  fleet::NatsFlags nats;
  // Only this host's domains and health.
  std::string host;
  bool wide = false;
  double stale_after_seconds = 30;
  // watch: exit after this many change lines; 0 is unbounded.
  int64_t count = 0;
  // Ends watch from another thread (signals, tests). May be null.
  StopToken* stop = nullptr;
};

int RunHealth(const GlobalOptions& global, const HealthOptions& options,
              std::ostream& out, std::ostream& err);
int RunList(const GlobalOptions& global, const ListOptions& options,
            std::ostream& out, std::ostream& err);
// list --watch (list_watch.cc); RunList calls it.
int RunListWatch(const GlobalOptions& global, const ListOptions& options,
                 std::ostream& out, std::ostream& err);
int RunGet(const GlobalOptions& global, const GetOptions& options,
           std::ostream& out, std::ostream& err);
int RunWatch(const GlobalOptions& global, const WatchOptions& options,
             std::ostream& out, std::ostream& err);
int RunHost(const GlobalOptions& global, std::ostream& out, std::ostream& err);
// `in` answers destroy's confirmation prompt.
int RunControl(const GlobalOptions& global, const ControlOptions& options,
               std::istream& in, std::ostream& out, std::ostream& err);

int RunFleetList(const GlobalOptions& global, const FleetOptions& options,
                 std::ostream& out, std::ostream& err);
int RunFleetWatch(const GlobalOptions& global, const FleetOptions& options,
                  std::ostream& out, std::ostream& err);

// What main runs once the command line is parsed.
using Runner = std::function<int(std::ostream& out, std::ostream& err)>;

// A registered subcommand and what to run when the command line chose it.
struct Command {
  CLI::App* app;
  Runner run;
};

// Each registers one subcommand on `root`; the options it fills live as long
// as the returned Runner. `global` is filled by the root app.
Command AddHealthCommand(CLI::App& root, const GlobalOptions& global);
Command AddListCommand(CLI::App& root, const GlobalOptions& global);
Command AddGetCommand(CLI::App& root, const GlobalOptions& global);
Command AddWatchCommand(CLI::App& root, const GlobalOptions& global);
Command AddHostCommand(CLI::App& root, const GlobalOptions& global);
// pause, unpause, shutdown and destroy.
std::vector<Command> AddControlCommands(CLI::App& root,
                                        const GlobalOptions& global);

// The `fleet` group and its verbs, list and watch (cmd_fleet.cc).
std::vector<Command> AddFleetCommands(CLI::App& root,
                                      const GlobalOptions& global);

// Registers the filter flags shared by list and watch.
void AddFilterFlags(CLI::App& command, FilterFlags& filter);

// Parses argv and runs the chosen subcommand; returns the exit code.
int RunCli(int argc, const char* const* argv, std::ostream& out,
           std::ostream& err);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_COMMANDS_H_
