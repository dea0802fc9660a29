// fleet_bench: the fleet view's cost in latency and throughput, against the
// direct WatchDomains stream measured in the same run (issue 13).
//
// The fleet harness's rig (tests/fleet/harness/fleet_rig.h): K simulated
// hosts (default 3), each publisher in a network namespace of its own, a
// three-node JetStream cluster (R3 stream and buckets), no faults. Every
// host boots D domains at once (default 1000; bootstorm: create and
// start, then shut down and destroy, as fast as each host's xenstored
// allows; no pause phase).
// This process receives every change twice:
//   - direct: one WatchDomains stream per host, on the agent's socket
//     (bootstorm's WatchRecorder);
//   - fleet: fleet::FleetReader on the domains bucket, through NATS (what
//     `xenletctl fleet watch` shows): toolstack -> agent -> xenlet-publish
//     -> JetStream (R3) -> the reader.
// Each receipt is matched with the toolstack step that caused it (the
// hosts' bootstorm --steps-csv, same clock): the latency is end to end. A
// bucket value carries the revision of its domain's last change; the event
// stream (read back at the end) says which transition that revision was.
// A storm's rate is the toolstack's (xenstored's), which both paths keep
// up with; so a second storm runs with the publishers stopped, and its
// backlog is read by each path at full speed: the direct streams resumed
// where the publishers stopped, then the publishers themselves.
//
// As root (network namespaces). Not a Google Benchmark: one storm is one
// measurement; run it on a quiet machine. See BENCHMARKS.md.
//
//   bazel run -c opt //tools/bench:fleet_bench -- --domains 1000
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "fleet/fleet_names.h"
#include "fleet/nats/jetstream.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/fleet/harness/fleet_rig.h"
#include "tools/bootstorm/latency_report.h"
#include "tools/bootstorm/watch_recorder.h"

namespace xenlet::fleet::harness {
namespace {

using bootstorm::StepLog;

struct Receipt {
  std::string host;
  uint32_t domid = 0;
  uint64_t revision = 0;  // of the value; 0 for a delete
  absl::Time at;
};

// host -> revision -> transition, from the events the stream holds.
using Transitions =
    std::map<std::string, std::map<uint64_t, xenlet::v1::Transition>>;

absl::StatusOr<Transitions> ReadTransitions(nats::Connection& conn) {
  auto messages = nats::ReadAll(conn, std::string(kEventsStream),
                                EventsSubject(">"), 1000000);
  if (!messages.ok()) return messages.status();
  Transitions out;
  for (const nats::StoredMessage& m : *messages) {
    auto id = ParseMessageId(m.msg_id);
    google::protobuf::Struct event;
    if (!id ||
        !google::protobuf::util::JsonStringToMessage(m.data, &event).ok()) {
      continue;
    }
    const auto& data = event.fields().at("data").struct_value().fields();
    auto t = data.find("transition");
    xenlet::v1::Transition transition = xenlet::v1::TRANSITION_UNSPECIFIED;
    if (t != data.end()) {
      // The enum's name, as in protobuf's JSON ("TRANSITION_STARTED").
      xenlet::v1::Transition_Parse(t->second.string_value(), &transition);
    }
    out[id->host][id->revision] = transition;
  }
  return out;
}

struct PathResult {
  std::map<xenlet::v1::Transition, std::vector<double>> latency_ms;
  std::vector<double> all_ms;
  uint64_t received = 0;
  uint64_t unmatched = 0;
  absl::Time last = absl::InfinitePast();
};

void Add(PathResult* r, const StepLog& steps, uint32_t domid,
         xenlet::v1::Transition transition, absl::Time received) {
  ++r->received;
  r->last = std::max(r->last, received);
  auto kind = bootstorm::CauseOf(transition);
  std::optional<absl::Time> action;
  if (kind) action = steps.Find(domid, *kind, received);
  if (!action) {
    ++r->unmatched;
    return;
  }
  const double ms = absl::ToDoubleMilliseconds(received - *action);
  r->latency_ms[transition].push_back(ms);
  r->all_ms.push_back(ms);
}

// Reads one host's WatchDomains stream from `from` until it has delivered
// every change up to `to`: how many events and how long.
struct Replay {
  uint64_t events = 0;
  absl::Duration took;
  std::string error;
};
Replay ReplayDirect(const std::string& socket,
                    const xenlet::v1::ResumePoint& from,
                    const xenlet::v1::ResumePoint& to) {
  Replay replay;
  auto stub = xenlet::v1::DomainService::NewStub(grpc::CreateChannel(
      "unix:" + socket, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(5)));
  xenlet::v1::WatchDomainsRequest request;
  *request.mutable_resume() = from;
  const absl::Time start = absl::Now();
  auto reader = stub->WatchDomains(&context, request);
  xenlet::v1::WatchDomainsResponse event;
  while (reader->Read(&event)) {
    if (event.type() == xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED) {
      replay.error = "RESYNC_REQUIRED";
      break;
    }
    if (event.type() == xenlet::v1::EVENT_TYPE_ADDED ||
        event.type() == xenlet::v1::EVENT_TYPE_MODIFIED ||
        event.type() == xenlet::v1::EVENT_TYPE_DELETED) {
      ++replay.events;
    }
    if (event.instance_id() == to.instance_id() &&
        event.revision() >= to.revision()) {
      break;
    }
  }
  replay.took = absl::Now() - start;
  context.TryCancel();
  (void)reader->Finish();
  return replay;
}

// Prints why the bench stops; its exit status.
int Fail(const absl::Status& status) {
  std::fprintf(stderr, "fleet_bench: %s\n", status.ToString().c_str());
  return 1;
}

// The same storm on every host at once (bootstorm: no pause phase, since
// without a client of its own it would not wait for a pause to be seen
// before the unpause, and the agent's sweep would miss most), until every
// one has ended. With `steps_dir`, each host's steps go to
// steps_dir/steps-<host>.csv.
absl::Status StormEveryHost(FleetRig& rig, int domains, double rate,
                            const std::string& steps_dir) {
  for (int i = 0; i < rig.hosts(); ++i) {
    StormOptions storm;
    storm.domains = domains;
    storm.rate = rate;
    storm.pause_phase = false;
    if (!steps_dir.empty()) {
      storm.steps_csv =
          absl::StrCat(steps_dir, "/steps-", rig.host(i).id(), ".csv");
    }
    if (absl::Status s = rig.host(i).StartStorm(storm); !s.ok()) return s;
  }
  for (int i = 0; i < rig.hosts(); ++i) {
    if (absl::Status s = rig.host(i).WaitStorm(absl::Minutes(30)); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

std::string Row(const char* label, const std::vector<double>& direct,
                const std::vector<double>& fleet) {
  using bootstorm::Percentile;
  const double d50 = Percentile(direct, 0.5), d99 = Percentile(direct, 0.99);
  const double f50 = Percentile(fleet, 0.5), f99 = Percentile(fleet, 0.99);
  return absl::StrFormat(
      "  %-10s %6zu %8.1f %8.1f | %6zu %8.1f %8.1f | %5.1fx %5.1fx\n", label,
      direct.size(), d50, d99, fleet.size(), f50, f99,
      f50 / std::max(d50, 1e-3), f99 / std::max(d99, 1e-3));
}

int Run(int argc, char** argv) {
  int hosts = 3, domains = 1000;
  double rate = 0;
  std::string out_dir = "/tmp/xenlet-fleet-bench";
  CLI::App app(
      "fleet_bench: boot storms on K simulated hosts publishing into a "
      "three-node JetStream cluster; the end-to-end latency and rate of "
      "the fleet view (toolstack -> agent -> xenlet-publish -> NATS -> "
      "reader) against each host's direct WatchDomains stream, in the same "
      "run. Needs root (network namespaces).",
      "fleet_bench");
  app.add_option("--hosts", hosts, "Simulated hosts")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  app.add_option("--domains", domains, "Domains each host boots")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--rate", rate,
                 "Domains per second per host and phase (0: as fast as "
                 "xenstored allows)")
      ->capture_default_str();
  app.add_option("--out", out_dir,
                 "Where the steps and the latency CSVs go (created)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (geteuid() != 0) {
    std::fprintf(stderr, "fleet_bench: needs root (network namespaces)\n");
    return 2;
  }
  std::filesystem::create_directories(out_dir);

  auto binaries = RigBinaries::FromRunfiles(argv[0]);
  if (!binaries.ok()) return Fail(binaries.status());
  RigOptions options;
  options.hosts = hosts;
  options.binaries = *binaries;
  options.stale_after = absl::Seconds(30);
  absl::Mutex mu;
  std::vector<Receipt> receipts;
  bool recording = false;
  auto rig = FleetRig::Start(options, [&](const DomainChange& change) {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu);
    if (recording) {
      receipts.push_back({change.ref.host, change.ref.domid,
                          change.kind == ChangeKind::kDeleted
                              ? 0
                              : change.domain.updated_revision(),
                          now});
    }
  });
  if (!rig.ok()) {
    return Fail(rig.status());
  }
  if (auto s = (*rig)->WaitConverged(absl::Seconds(60)); !s.ok()) {
    return Fail(s);
  }
  std::vector<std::unique_ptr<bootstorm::WatchRecorder>> direct;
  for (int i = 0; i < hosts; ++i) {
    direct.push_back(std::make_unique<bootstorm::WatchRecorder>(
        grpc::CreateChannel("unix:" + (*rig)->host(i).socket(),
                            grpc::InsecureChannelCredentials())));
    if (auto s = direct.back()->Start(absl::Seconds(10)); !s.ok()) {
      std::fprintf(stderr, "fleet_bench: watch: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  {
    absl::MutexLock lock(&mu);
    recording = true;
  }
  std::printf("fleet_bench: %d hosts x %d domains, 3 NATS nodes (R3)\n", hosts,
              domains);
  std::fflush(stdout);
  const absl::Time start = absl::Now();
  if (auto s = StormEveryHost(**rig, domains, rate, out_dir); !s.ok()) {
    return Fail(s);
  }
  const double storm_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (auto s = (*rig)->WaitConverged(absl::Minutes(5)); !s.ok()) {
    return Fail(s);
  }
  {
    absl::MutexLock lock(&mu);
    recording = false;
  }
  auto transitions = ReadTransitions((*rig)->connection());
  if (!transitions.ok()) {
    std::fprintf(stderr, "fleet_bench: reading the events: %s\n",
                 transitions.status().ToString().c_str());
    return 1;
  }

  PathResult direct_result, fleet_result;
  std::map<std::string, StepLog> steps;
  uint64_t stored_events = 0;
  for (const auto& [host, revisions] : *transitions) {
    stored_events += revisions.size();
  }
  for (int i = 0; i < hosts; ++i) {
    const std::string& id = (*rig)->host(i).id();
    std::ifstream in(absl::StrCat(out_dir, "/steps-", id, ".csv"));
    std::string csv((std::istreambuf_iterator<char>(in)), {});
    if (!steps[id].AddCsv(csv)) {
      std::fprintf(stderr, "fleet_bench: bad steps CSV of %s\n", id.c_str());
      return 1;
    }
    const bootstorm::WatchRecorder::Snapshot snapshot = direct[i]->Get();
    direct[i]->Stop();
    for (const auto& r : snapshot.received) {
      Add(&direct_result, steps[id], r.domid, r.transition, r.received);
    }
  }
  for (const Receipt& r : receipts) {
    auto host = transitions->find(r.host);
    // A key is deleted when its domain is destroyed.
    xenlet::v1::Transition transition =
        r.revision == 0 ? xenlet::v1::TRANSITION_DESTROYED
                        : xenlet::v1::TRANSITION_UNSPECIFIED;
    if (r.revision != 0 && host != transitions->end()) {
      auto t = host->second.find(r.revision);
      if (t != host->second.end()) transition = t->second;
    }
    Add(&fleet_result, steps[r.host], r.domid, transition, r.at);
  }

  const double direct_rate =
      direct_result.received /
      std::max(absl::ToDoubleSeconds(direct_result.last - start), 1e-9);
  const double fleet_rate =
      fleet_result.received /
      std::max(absl::ToDoubleSeconds(fleet_result.last - start), 1e-9);
  std::printf(
      "\nstorms: %.1f s; %llu events stored in %s\n"
      "\nend-to-end latency (ms), the toolstack's action to the receipt\n"
      "  %-10s %6s %8s %8s | %6s %8s %8s | %s\n",
      storm_seconds, static_cast<unsigned long long>(stored_events),
      std::string(kEventsStream).c_str(), "transition", "direct", "p50", "p99",
      "fleet", "p50", "p99", "fleet/direct");
  std::set<xenlet::v1::Transition> measured;
  for (const auto& [t, ms] : direct_result.latency_ms) measured.insert(t);
  for (const auto& [t, ms] : fleet_result.latency_ms) measured.insert(t);
  for (xenlet::v1::Transition transition : measured) {
    const std::string full = xenlet::v1::Transition_Name(transition);
    absl::string_view name = full;
    absl::ConsumePrefix(&name, "TRANSITION_");
    std::printf("%s", Row(std::string(name).c_str(),
                          direct_result.latency_ms[transition],
                          fleet_result.latency_ms[transition])
                          .c_str());
  }
  std::printf("%s",
              Row("all", direct_result.all_ms, fleet_result.all_ms).c_str());
  std::printf(
      "\nchanges received: direct %llu (%llu unmatched), %.0f/s; fleet "
      "%llu (%llu unmatched), %.0f/s (%.2fx)\n"
      "(rates: changes received / time from the storms' start to the last "
      "receipt; the fleet may receive fewer: a bucket key's superseded value "
      "is "
      "not delivered)\n",
      static_cast<unsigned long long>(direct_result.received),
      static_cast<unsigned long long>(direct_result.unmatched), direct_rate,
      static_cast<unsigned long long>(fleet_result.received),
      static_cast<unsigned long long>(fleet_result.unmatched), fleet_rate,
      fleet_rate / std::max(direct_rate, 1e-9));
  std::fflush(stdout);

  // Phase 2: the most each path carries. With the publishers stopped, the
  // same storm again; then each host's backlog is read directly (a
  // WatchDomains stream resumed where the publisher stopped), and then by
  // the publishers, started together, through NATS to the reader.
  std::vector<xenlet::v1::ResumePoint> from, to;
  for (int i = 0; i < hosts; ++i) {
    auto agent = (*rig)->host(i).Agent();
    if (!agent.ok()) {
      return Fail(agent.status());
    }
    from.push_back(agent->point);
    if (auto s = (*rig)->host(i).StopPublisher(); !s.ok()) {
      return Fail(s);
    }
  }
  std::printf("\nbacklog: the same storms with the publishers stopped\n");
  std::fflush(stdout);
  if (auto s = StormEveryHost(**rig, domains, rate, ""); !s.ok()) {
    return Fail(s);
  }
  for (int i = 0; i < hosts; ++i) {
    auto agent = (*rig)->host(i).Agent();
    if (!agent.ok()) {
      return Fail(agent.status());
    }
    to.push_back(agent->point);
  }
  std::vector<Replay> replays(hosts);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < hosts; ++i) {
      threads.emplace_back([&, i] {
        replays[i] = ReplayDirect((*rig)->host(i).socket(), from[i], to[i]);
      });
    }
    for (auto& t : threads) t.join();
  }
  uint64_t backlog = 0;
  absl::Duration direct_took;
  for (int i = 0; i < hosts; ++i) {
    if (!replays[i].error.empty()) {
      std::fprintf(stderr, "fleet_bench: direct replay: %s\n",
                   replays[i].error.c_str());
      return 1;
    }
    backlog += replays[i].events;
    direct_took = std::max(direct_took, replays[i].took);
  }
  const absl::Time publish_start = absl::Now();
  for (int i = 0; i < hosts; ++i) {
    if (auto s = (*rig)->host(i).StartPublisher((*rig)->nats_urls(), options);
        !s.ok()) {
      return Fail(s);
    }
  }
  if (auto s = (*rig)->WaitConverged(absl::Minutes(10)); !s.ok()) {
    return Fail(s);
  }
  const absl::Duration fleet_took = absl::Now() - publish_start;
  const double direct_backlog_rate =
      backlog / std::max(absl::ToDoubleSeconds(direct_took), 1e-9);
  const double fleet_backlog_rate =
      backlog / std::max(absl::ToDoubleSeconds(fleet_took), 1e-9);
  std::printf(
      "backlog of %llu events on %d hosts: direct streams %.2f s (%.0f "
      "events/s); publishers to the reader %.2f s (%.0f events/s, %.3fx)\n"
      "(the fleet's time includes starting the publishers and runs until "
      "every host's health is at its agent's revision and the reader's "
      "model equals every agent, checked at each change the reader sees)\n",
      static_cast<unsigned long long>(backlog), hosts,
      absl::ToDoubleSeconds(direct_took), direct_backlog_rate,
      absl::ToDoubleSeconds(fleet_took), fleet_backlog_rate,
      fleet_backlog_rate / std::max(direct_backlog_rate, 1e-9));
  return 0;
}

}  // namespace
}  // namespace xenlet::fleet::harness

int main(int argc, char** argv) {
  return xenlet::fleet::harness::Run(argc, argv);
}
