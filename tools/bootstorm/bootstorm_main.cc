// bootstorm: boots N unikernel-like domains on a simulated host the way
// libxl does (sim::Toolstack::CreateDomain: the hypervisor domain, libxl's
// xenstore transactions, introduce, unpause), while watch clients follow
// the agent's event
// stream; then shuts them all down and destroys them. After each phase it
// checks that every client's model equals the hypervisor's ground truth,
// and at the end it reports rates and event latencies. Query clients
// (--query-clients) can list the domains meanwhile, for the load the
// agent serves besides its streams.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/process_cpu.h"
#include "sim/toolstack.h"
#include "tools/bootstorm/latency_report.h"
#include "tools/bootstorm/live_display.h"
#include "tools/bootstorm/query_load.h"
#include "tools/bootstorm/stalled_watcher.h"
#include "tools/bootstorm/watch_recorder.h"
#include "xen/types.h"

namespace xenlet::bootstorm {
namespace {

struct Options {
  std::string dir;
  std::string socket;
  int domains = 200;
  double rate = 0;
  int watchers = 1;
  std::string reason = "poweroff";
  bool teardown = true;
  bool pause_phase = true;
  std::string latency_csv;
  std::string steps_csv;
  int keep = 0;
  double converge_timeout = 60;
  int agent_pid = 0;
  std::string keys = "libxl";
  int stalled = 0;
  int query_clients = 0;
  double query_interval_ms = 0;
  std::string display = "lines";
  double display_interval = 0;  // 0: 0.5 s on a terminal, 10 s otherwise
  double sample_events = 1;
};

// A process's resident set (VmRSS) in MiB, or -1.
double ResidentMiB(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024;
  }
  return -1;
}

// CPU seconds two processes used over a phase (-1 where unknown).
struct CpuUse {
  double agent = -1;
  double xenstored = -1;
};

pid_t XenstoredPid(const std::string& dir) {
  std::ifstream in(dir + "/xenstored.pid");
  pid_t pid = 0;
  in >> pid;
  return pid;
}

class CpuMeter {
 public:
  CpuMeter(pid_t agent, pid_t xenstored)
      : agent_(agent),
        xenstored_(xenstored),
        agent0_(agent > 0 ? ProcessCpuSeconds(agent) : -1),
        xenstored0_(xenstored > 0 ? ProcessCpuSeconds(xenstored) : -1) {}
  CpuUse Used() const {
    CpuUse use;
    if (agent0_ >= 0) use.agent = ProcessCpuSeconds(agent_) - agent0_;
    if (xenstored0_ >= 0) {
      use.xenstored = ProcessCpuSeconds(xenstored_) - xenstored0_;
    }
    return use;
  }

 private:
  pid_t agent_, xenstored_;
  double agent0_, xenstored0_;
};

// "            CPU: xenlet 2.31 s, xenstored 90.12 s\n" (the summary's
// second line of a phase), or "" if neither is known.
std::string CpuLine(const CpuUse& use) {
  std::string out;
  if (use.agent >= 0) out += absl::StrFormat("xenlet %.2f s", use.agent);
  if (use.xenstored >= 0) {
    out += absl::StrFormat("%sxenstored %.2f s", out.empty() ? "" : ", ",
                           use.xenstored);
  }
  return out.empty() ? "" : absl::StrCat("            CPU: ", out, "\n");
}

struct Expected {
  std::string uuid;
  std::string name;
};

// Differences between a client's model and the hypervisor (plus the names
// the toolstack gave), or "" if none.
std::string Compare(const std::vector<xen::DomainInfo>& truth,
                    const std::map<uint32_t, Expected>& expected,
                    const WatchRecorder::Snapshot& model) {
  if (model.domains.size() != truth.size()) {
    return absl::StrCat("the client has ", model.domains.size(),
                        " domains, the hypervisor ", truth.size());
  }
  for (const xen::DomainInfo& info : truth) {
    auto it = model.domains.find(info.domid);
    if (it == model.domains.end()) {
      return absl::StrCat("domain ", info.domid, " missing");
    }
    const v1::Domain& d = it->second;
    if (d.uuid() != info.Uuid()) return absl::StrCat(info.domid, ": uuid");
    if (d.flags().paused() != info.paused ||
        d.flags().shutdown() != info.shutdown ||
        d.flags().dying() != info.dying) {
      return absl::StrCat(info.domid, ": state ",
                          v1::DomainState_Name(d.state()));
    }
    if (info.shutdown &&
        d.shutdown_reason() != static_cast<int>(info.shutdown_code) + 1) {
      return absl::StrCat(info.domid, ": shutdown reason");
    }
    if (auto e = expected.find(info.domid); e != expected.end() &&
                                            e->second.uuid == d.uuid() &&
                                            d.name() != e->second.name) {
      return absl::StrCat(info.domid, ": name \"", d.name(), "\"");
    }
  }
  return "";
}

class Storm {
 public:
  Storm(const Options& options, sim::Toolstack* toolstack,
        std::vector<std::unique_ptr<WatchRecorder>>* watchers,
        LiveDisplay* display)
      : options_(options),
        toolstack_(toolstack),
        watchers_(watchers),
        display_(display) {}

  // A line of progress (or of failure): above the live panel, where it
  // cannot tear it, or on stdout.
  void Say(const std::string& line) {
    if (display_ != nullptr) {
      display_->Print(line);
    } else {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    }
  }

  // Waits (bounded) until every client agrees with the hypervisor.
  bool Converge(const char* phase) {
    const absl::Time start = absl::Now();
    const absl::Time deadline =
        start + absl::Seconds(options_.converge_timeout);
    if (display_ != nullptr) display_->SetConverging();
    std::string why;
    while (true) {
      std::vector<xen::DomainInfo> truth;
      if (auto s = toolstack_->hypervisor().GetAllDomains(&truth); !s.ok()) {
        Say(absl::StrCat("bootstorm: sweep failed: ", s.message()));
        return false;
      }
      why.clear();
      for (size_t i = 0; i < watchers_->size() && why.empty(); ++i) {
        why = (*watchers_)[i]->With([&](const WatchRecorder::Snapshot& s) {
          return Compare(truth, expected_, s);
        });
        if (!why.empty()) why = absl::StrCat("client ", i, ": ", why);
      }
      if (why.empty()) {
        Say(absl::StrFormat(
            "  %s: every client matches the hypervisor (%zu domain%s), "
            "%.0f ms",
            phase, truth.size(), truth.size() == 1 ? "" : "s",
            absl::ToDoubleMilliseconds(absl::Now() - start)));
        return true;
      }
      if (absl::Now() > deadline) break;
      absl::SleepFor(absl::Milliseconds(20));  // polling a remote model
    }
    Say(absl::StrFormat("  %s: NOT converged after %.0f s: %s", phase,
                        options_.converge_timeout, why));
    return false;
  }

  // Runs op for each domain, paced by --rate, with progress lines.
  // `label` names the phase in the live panel.
  template <typename Op>
  bool Phase(const char* verb, const char* label,
             const std::vector<xen::Domid>& domids, Op op) {
    const absl::Time start = absl::Now();
    if (display_ != nullptr) display_->SetPhase(label, domids.size());
    size_t done = 0;
    const size_t step = std::max<size_t>(1, domids.size() / 10);
    for (xen::Domid domid : domids) {
      if (options_.rate > 0) {
        absl::Time due = start + absl::Seconds(done / options_.rate);
        if (due > absl::Now()) absl::SleepFor(due - absl::Now());
      }
      if (absl::Status s = op(domid); !s.ok()) {
        Say(absl::StrCat("bootstorm: ", verb, " ", domid, ": ", s.message()));
        return false;
      }
      ++done;
      if (display_ != nullptr) {
        display_->SetDone(done);
        continue;
      }
      if (done % step == 0 || done == domids.size()) {
        double secs = absl::ToDoubleSeconds(absl::Now() - start);
        std::string rss;
        if (options_.agent_pid > 0) {
          rss = absl::StrFormat(", agent RSS %.1f MiB",
                                ResidentMiB(options_.agent_pid));
        }
        std::printf("  %s %zu/%zu (%.1f/s%s)\n", verb, done, domids.size(),
                    done / std::max(secs, 1e-9), rss.c_str());
        std::fflush(stdout);
      }
    }
    return true;
  }

  std::map<uint32_t, Expected>& expected() { return expected_; }

 private:
  const Options& options_;
  sim::Toolstack* toolstack_;
  std::vector<std::unique_ptr<WatchRecorder>>* watchers_;
  std::map<uint32_t, Expected> expected_;
  LiveDisplay* display_;
};

int Run(int argc, char** argv) {
  Options o;
  CLI::App app(
      "bootstorm: boot N domains on a simulated Xen host as a toolstack "
      "does, with watch clients following xenlet's event stream; then shut "
      "them down and destroy them. Checks every client's model against the "
      "hypervisor after each phase and reports rates and event latencies.",
      "bootstorm");
  app.add_option("--dir", o.dir,
                 "The simulated host's directory (see `xensim up`)")
      ->required()
      ->envname("XENLET_SIM_DIR");
  app.add_option("--socket", o.socket,
                 "xenlet's unix socket (default: DIR/xenlet.sock)");
  app.add_option("--domains", o.domains, "Domains to boot")
      ->capture_default_str()
      ->check(CLI::Range(1, 32000));
  app.add_option("--rate", o.rate,
                 "Domains per second to create (0: as fast as xenstored "
                 "allows)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100000.0));
  app.add_option("--watchers", o.watchers,
                 "Concurrent WatchDomains clients to follow the storm (0: "
                 "none, and no agent needed: the toolstack's own rate, as a "
                 "baseline)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  app.add_option("--reason", o.reason,
                 "Shutdown reason: poweroff, reboot, suspend, crash, "
                 "watchdog, soft_reset")
      ->capture_default_str();
  app.add_flag("!--no-teardown", o.teardown,
               "Leave the domains running at the end");
  app.add_option("--keep", o.keep,
                 "Of the domains booted, leave this many (the last ones) "
                 "running at the end: the teardown shuts down and destroys "
                 "only the others")
      ->capture_default_str()
      ->check(CLI::Range(0, 32000));
  app.add_flag("!--no-pause-phase", o.pause_phase,
               "Skip the phase that pauses and unpauses every domain after "
               "the boot (changes only the hypervisor sees: the agent finds "
               "them by sweeping)");
  app.add_option("--latency-csv", o.latency_csv,
                 "Write every event's latencies (action->detection, "
                 "detection->receipt, action->receipt) to this CSV file");
  app.add_option("--steps-csv", o.steps_csv,
                 "Write the toolstack's every step (domid, kind, when: "
                 "\"domid,kind,unix_ns\") to this CSV file, for clients "
                 "other than bootstorm's to measure their latency from");
  app.add_option("--agent-pid", o.agent_pid,
                 "xenlet's process id, to report the CPU time it used during "
                 "each phase (xenstored's is read from DIR/xenstored.pid)");
  app.add_option("--keys", o.keys,
                 "Each domain's xenstore keys: libxl (libxl's ~50, its "
                 "transactions, the introduce and the devices) or few (its "
                 "name and domid only, no introduce: for the whole domid "
                 "space, which xenstored cannot take with libxl's keys)")
      ->capture_default_str()
      ->check(CLI::IsMember({"libxl", "few"}));
  app.add_option("--stalled", o.stalled,
                 "Of the --watchers, how many open their stream and never "
                 "read it (each on a connection of its own); they are not "
                 "checked, the others must converge as usual")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  app.add_option("--query-clients", o.query_clients,
                 "Clients listing every domain (ListDomains, all pages) as "
                 "fast as they can from the boot's start to the end, each on "
                 "a connection of its own; their query latency is reported")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  app.add_option("--query-interval-ms", o.query_interval_ms,
                 "Each query client lists once every this many ms, its "
                 "latency counted from when the query was due (0: as fast as "
                 "it can)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 60000.0));
  app.add_option("--display", o.display,
                 "lines: a progress line per tenth of each phase (for logs "
                 "and scripts); live: a progress bar and a summary panel "
                 "(domains by state, events/s, latency, the agent's I/O and "
                 "CPU) redrawn in place on a terminal, printed every "
                 "--display-interval otherwise, with a sample of the first "
                 "client's events above it")
      ->capture_default_str()
      ->check(CLI::IsMember({"lines", "live"}));
  app.add_option("--display-interval", o.display_interval,
                 "Seconds between two panels of --display live (0: 0.5 on "
                 "a terminal, 10 otherwise)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--sample-events", o.sample_events,
                 "With --display live, at most this many of the first "
                 "client's events printed per second (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0));
  app.add_option("--converge-timeout", o.converge_timeout,
                 "Seconds the clients get to match the hypervisor after each "
                 "phase")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  const std::map<std::string, xen::ShutdownReason> reasons = {
      {"poweroff", xen::ShutdownReason::kPoweroff},
      {"reboot", xen::ShutdownReason::kReboot},
      {"suspend", xen::ShutdownReason::kSuspend},
      {"crash", xen::ShutdownReason::kCrash},
      {"watchdog", xen::ShutdownReason::kWatchdog},
      {"soft_reset", xen::ShutdownReason::kSoftReset}};
  auto reason = reasons.find(o.reason);
  if (reason == reasons.end()) {
    std::fprintf(stderr, "bootstorm: --reason: unknown reason \"%s\"\n",
                 o.reason.c_str());
    return 2;
  }
  if (o.socket.empty()) o.socket = o.dir + "/xenlet.sock";
  if (o.display == "live" && o.watchers - o.stalled < 1) {
    std::fprintf(stderr,
                 "bootstorm: --display live needs a watch client that reads "
                 "(--watchers more than --stalled)\n");
    return 2;
  }
  if (o.stalled > o.watchers) {
    std::fprintf(stderr, "bootstorm: --stalled %d is more than --watchers %d\n",
                 o.stalled, o.watchers);
    return 2;
  }

  StepLog steps;
  sim::ToolstackOptions ts_options;
  ts_options.on_step = [&steps](const sim::ToolstackStep& step) {
    steps.Record(step);
  };
  ts_options.state_path = o.dir + "/state";
  ts_options.xenstore_socket = o.dir + "/socket";
  // A host made by `xensim up` has simulated guests (its guests daemon):
  // they answer the shutdown requests, as on a real host.
  {
    std::ifstream pidfile(o.dir + "/guests.pid");
    pid_t pid = -1;
    ts_options.guests_answer = (pidfile >> pid) && pid > 0 && kill(pid, 0) == 0;
  }
  auto toolstack = sim::Toolstack::Open(ts_options);
  if (!toolstack.ok()) {
    std::fprintf(stderr, "bootstorm: %s (is the host up? xensim --dir %s up)\n",
                 std::string(toolstack.status().message()).c_str(),
                 o.dir.c_str());
    return 1;
  }
  auto channel = grpc::CreateChannel("unix:" + o.socket,
                                     grpc::InsecureChannelCredentials());
  // The stalled ones first, so that every live watcher's initial state and
  // live events are served with them already open.
  std::vector<std::unique_ptr<StalledWatcher>> stalled;
  for (int i = 0; i < o.stalled; ++i) {
    auto w = StalledWatcher::Open("unix:" + o.socket, i, absl::Seconds(10));
    if (!w.ok()) {
      std::fprintf(stderr, "bootstorm: %s (is xenlet serving on %s?)\n",
                   std::string(w.status().message()).c_str(), o.socket.c_str());
      return 1;
    }
    stalled.push_back(std::move(*w));
  }
  // The display outlives the watchers: the first one calls it.
  std::unique_ptr<LiveDisplay> display;
  std::vector<std::unique_ptr<WatchRecorder>> watchers;
  for (int i = 0; i < o.watchers - o.stalled; ++i) {
    watchers.push_back(std::make_unique<WatchRecorder>(channel));
  }
  const pid_t xenstored_pid = XenstoredPid(o.dir);
  if (o.display == "live") {
    LiveDisplayOptions d;
    d.terminal = isatty(STDOUT_FILENO) == 1;
    d.interval = absl::Seconds(o.display_interval > 0 ? o.display_interval
                               : d.terminal           ? 0.5
                                                      : 10);
    d.samples_per_second = o.sample_events;
    d.agent_pid = o.agent_pid;
    d.xenstored_pid = xenstored_pid;
    display =
        std::make_unique<LiveDisplay>(d, watchers[0].get(), &steps, channel);
    watchers[0]->SetObserver([&display](const v1::WatchDomainsResponse& event) {
      display->OfferEvent(event);
    });
  }
  for (size_t i = 0; i < watchers.size(); ++i) {
    if (auto s = watchers[i]->Start(absl::Seconds(10)); !s.ok()) {
      std::fprintf(stderr,
                   "bootstorm: watch %d: %s (is xenlet serving on %s?)\n", i,
                   std::string(s.message()).c_str(), o.socket.c_str());
      return 1;
    }
  }
  Storm storm(o, toolstack->get(), &watchers, display.get());
  bool ok = true;
  std::unique_ptr<QueryLoad> queries;
  if (o.query_clients > 0) {
    queries =
        std::make_unique<QueryLoad>("unix:" + o.socket, o.query_clients,
                                    absl::Milliseconds(o.query_interval_ms));
  }

  std::printf("bootstorm: booting %d domains (%s keys), %d watch client(s)%s\n",
              o.domains, o.keys.c_str(), o.watchers,
              o.stalled
                  ? absl::StrCat(", ", o.stalled, " of them stalled").c_str()
                  : "");
  std::fflush(stdout);
  if (display) display->Start();
  std::vector<xen::Domid> booted;
  const CpuMeter boot_cpu(o.agent_pid, xenstored_pid);
  const absl::Time boot_start = absl::Now();
  std::vector<int> indexes(o.domains);
  for (int i = 0; i < o.domains; ++i) indexes[i] = i;
  std::vector<xen::Domid> placeholders(indexes.begin(), indexes.end());
  ok = storm.Phase(
      "created", "booting", placeholders, [&](xen::Domid i) -> absl::Status {
        sim::DomainSpec spec;
        spec.name = absl::StrCat("storm-", i);
        spec.memory_mib = 64;
        spec.few_keys = o.keys == "few";
        auto created = (*toolstack)->CreateDomain(spec);
        if (!created.ok()) return created.status();
        booted.push_back(created->domid);
        storm.expected()[created->domid] = {created->uuid, created->name};
        return absl::OkStatus();
      });
  const double boot_seconds = absl::ToDoubleSeconds(absl::Now() - boot_start);
  ok = ok && storm.Converge("booted");
  const CpuUse boot_use = boot_cpu.Used();

  if (ok && o.pause_phase) {
    ok = storm.Phase("paused", "pausing", booted, [&](xen::Domid d) {
      return (*toolstack)->PauseDomain(d);
    });
    ok = ok && storm.Converge("paused");
    ok = ok && storm.Phase("unpaused", "unpausing", booted, [&](xen::Domid d) {
      return (*toolstack)->UnpauseDomain(d);
    });
    ok = ok && storm.Converge("unpaused");
  }

  double down_seconds = 0;
  CpuUse down_use;
  if (ok && o.teardown) {
    const CpuMeter down_cpu(o.agent_pid, xenstored_pid);
    const absl::Time down_start = absl::Now();
    // --keep: the last ones stay.
    const std::vector<xen::Domid> kept(
        booted.end() - std::min<size_t>(o.keep, booted.size()), booted.end());
    booted.resize(booted.size() - kept.size());
    ok = storm.Phase("shut down", "shutdown", booted, [&](xen::Domid d) {
      return (*toolstack)->ShutdownDomain(d, reason->second);
    });
    ok = ok && storm.Converge("shut down");
    ok =
        ok && storm.Phase("destroyed", "destroying", booted, [&](xen::Domid d) {
          return (*toolstack)->DestroyDomain(d);
        });
    ok = ok && storm.Converge("destroyed");
    down_seconds = absl::ToDoubleSeconds(absl::Now() - down_start);
    down_use = down_cpu.Used();
    booted.insert(booted.end(), kept.begin(), kept.end());
  }

  if (display) display->Stop();
  QueryLoadReport query_report;
  if (queries) {
    queries->Stop();
    query_report = queries->Report();
  }

  std::printf("\nbootstorm summary\n");
  std::printf("  boot:     %zu domains in %.2f s (%.1f domains/s)\n%s",
              booted.size(), boot_seconds, booted.size() / boot_seconds,
              CpuLine(boot_use).c_str());
  if (o.teardown) {
    std::printf("  teardown: shutdown + destroy in %.2f s\n%s", down_seconds,
                CpuLine(down_use).c_str());
  }
  if (queries) {
    const LatencyHistogram& h = query_report.latency;
    std::printf(
        "  queries:  %llu full listings by %d clients (%.0f/s)\n"
        "            p50 %.2f ms, p99 %.2f ms, max %.2f ms, %llu failed%s%s\n",
        static_cast<unsigned long long>(query_report.queries), o.query_clients,
        query_report.queries /
            std::max(absl::ToDoubleSeconds(query_report.elapsed), 1e-9),
        absl::ToDoubleMilliseconds(h.Quantile(0.5)),
        absl::ToDoubleMilliseconds(h.Quantile(0.99)),
        absl::ToDoubleMilliseconds(h.max()),
        static_cast<unsigned long long>(query_report.errors),
        query_report.errors ? ": " : "", query_report.first_error.c_str());
    ok = ok && query_report.errors == 0 && query_report.queries > 0;
  }
  std::vector<WatchRecorder::Snapshot> received;
  for (size_t i = 0; i < watchers.size(); ++i) {
    WatchRecorder::Snapshot s = watchers[i]->Get();
    if (i < 10 || !s.error.empty() || s.duplicates > 0) {
      std::printf(
          "  client %zu: %llu events (%llu coalesced, %llu duplicated), "
          "revision %llu%s%s\n",
          i, static_cast<unsigned long long>(s.events),
          static_cast<unsigned long long>(s.coalesced),
          static_cast<unsigned long long>(s.duplicates),
          static_cast<unsigned long long>(s.revision),
          s.error.empty() ? "" : "\n            stream error: ",
          s.error.c_str());
    }
    ok = ok && s.error.empty() && s.duplicates == 0;
    received.push_back(std::move(s));
  }
  if (watchers.size() > 10) {
    std::printf("  (clients 10..%zu: as above unless listed)\n",
                watchers.size() - 1);
  }
  uint64_t unmatched = 0;
  const std::vector<LatencySample> samples =
      MatchSamples(steps, received, &unmatched);
  std::printf(
      "\n  end-to-end latency, the toolstack's action to each client's "
      "receipt\n  (%zu events of %zu clients; %llu without a step to "
      "measure from)\n%s",
      samples.size(), received.size(),
      static_cast<unsigned long long>(unmatched),
      FormatLatencyTable(samples).c_str());
  if (!o.latency_csv.empty()) {
    std::ofstream csv(o.latency_csv);
    csv << LatencyCsv(samples);
    if (!csv) {
      std::fprintf(stderr, "bootstorm: --latency-csv: cannot write %s\n",
                   o.latency_csv.c_str());
      ok = false;
    }
  }
  if (!o.steps_csv.empty()) {
    std::ofstream csv(o.steps_csv);
    csv << steps.Csv();
    if (!csv) {
      std::fprintf(stderr, "bootstorm: --steps-csv: cannot write %s\n",
                   o.steps_csv.c_str());
      ok = false;
    }
  }
  std::printf("  result:   %s\n", ok ? "every client converged" : "FAILED");
  for (auto& w : watchers) w->Stop();
  stalled.clear();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace xenlet::bootstorm

int main(int argc, char** argv) { return xenlet::bootstorm::Run(argc, argv); }
