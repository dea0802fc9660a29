// The fleet harness (docs/fleet.md 2.7; issue 13): K simulated hosts
// (FLEET_HOSTS, default 3), each with its xenstored, fake hypervisor,
// agent and publisher, the publishers each in a network namespace of its
// own, reaching a three-node JetStream cluster over the namespaces' links;
// the orchestrator's reader outside them (fleet_rig.h).
//
// Boot storms on every host at once (FLEET_DOMAINS per host, default 200,
// at FLEET_RATE per second, default 25: create, pause, unpause, then a
// third shut down and destroyed). Mid-storm: h1's agent restarted, the NATS
// node that leads the event stream killed and restarted, and h2's link cut
// and restored. Then:
//   1. the merged model (the reader's, and `xenletctl fleet list --json`)
//      equals every host's ground truth (its agent, every non-volatile
//      field; and the hypervisor's domids and UUIDs);
//   2. XENLET_EVENTS holds every change once: no message twice, and each
//      agent instance's revisions without a gap, up to the agent's last;
//   3. only h1's publisher resynced (its health and its metric);
//   4. the reader saw h2 go stale during its cut and come back.
//
// Run by fleet_harness_test.sh (root, the lock, and the network removed
// whatever happens); it skips without root or `ip netns`. Everything real
// but the hypervisor (the simulated host's, sim/README.md).
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "fleet/fleet_names.h"
#include "fleet/nats/jetstream.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/fleet/harness/event_audit.h"
#include "tests/fleet/harness/fleet_rig.h"
#include "tests/testing/subprocess.h"

namespace xenlet::fleet::harness {
namespace {

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

// host -> (domid -> uuid), from `xenletctl --json fleet list`.
std::map<std::string, std::map<uint32_t, std::string>> ParseFleetList(
    const std::string& json) {
  std::map<std::string, std::map<uint32_t, std::string>> out;
  google::protobuf::Struct doc;
  if (!google::protobuf::util::JsonStringToMessage(json, &doc).ok()) {
    return out;
  }
  for (const auto& entry : doc.fields().at("domains").list_value().values()) {
    const auto& f = entry.struct_value().fields();
    out[f.at("host").string_value()]
       [static_cast<uint32_t>(f.at("domid").number_value())] =
           f.at("uuid").string_value();
  }
  return out;
}

TEST(FleetHarness, StormsWithFaults) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
  if (std::system("ip netns list >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "needs `ip netns` (iproute2)";
  }
  const int domains = EnvInt("FLEET_DOMAINS", 200);
  const int rate = EnvInt("FLEET_RATE", 25);
  RigOptions options;
  options.hosts = EnvInt("FLEET_HOSTS", 3);
  ASSERT_GE(options.hosts, 2) << "h1 restarts, h2 is cut";
  if (const char* dir = std::getenv("FLEET_DIR")) options.dir = dir;
  auto binaries = RigBinaries::FromRunfiles("");
  ASSERT_TRUE(binaries.ok()) << binaries.status();
  options.binaries = *binaries;
  auto started = FleetRig::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  FleetRig& rig = **started;
  ASSERT_TRUE(rig.reader().WaitUntilSynced(absl::Seconds(30)));
  // Every publisher live at its agent's point before the storm.
  absl::Status ready = rig.WaitConverged(absl::Seconds(60));
  ASSERT_TRUE(ready.ok()) << ready;
  auto before = rig.host(0).Agent();
  ASSERT_TRUE(before.ok()) << before.status();
  const std::string h1_first = before->point.instance_id();

  StormOptions storm;
  storm.domains = domains;
  storm.rate = rate;
  storm.keep = domains - domains / 3;
  for (int i = 0; i < rig.hosts(); ++i) {
    absl::Status s = rig.host(i).StartStorm(storm);
    ASSERT_TRUE(s.ok()) << s;
  }
  // The faults, at fixed offsets into the storms: a schedule, not a
  // synchronisation. Each must land while every storm still runs.
  const absl::Time t0 = absl::Now();
  auto at = [&](double seconds, const char* fault) {
    absl::SleepFor(t0 + absl::Seconds(seconds) - absl::Now());
    for (int i = 0; i < rig.hosts(); ++i) {
      EXPECT_TRUE(rig.host(i).StormRunning())
          << fault << ": " << rig.host(i).id()
          << "'s storm had already ended (a smaller FLEET_RATE lengthens it)";
    }
  };
  at(3, "h1's agent restart");
  absl::Status restart = rig.host(0).StopAgent();
  ASSERT_TRUE(restart.ok()) << restart;
  restart = rig.host(0).StartAgent();
  ASSERT_TRUE(restart.ok()) << restart;
  at(6, "killing the event stream's leader");
  auto leader = rig.StreamLeader(std::string(kEventsStream));
  ASSERT_TRUE(leader.ok()) << leader.status();
  (*leader)->Kill();
  at(9, "cutting h2");
  absl::Status net = rig.CutHost(1);
  ASSERT_TRUE(net.ok()) << net;
  const absl::Time cut = absl::Now();
  at(13, "restarting the NATS node");
  ASSERT_TRUE((*leader)->Restart());
  at(19, "restoring h2");
  net = rig.RestoreHost(1);
  ASSERT_TRUE(net.ok()) << net;
  const absl::Time restored = absl::Now();
  for (int i = 0; i < rig.hosts(); ++i) {
    absl::Status s = rig.host(i).WaitStorm(absl::Minutes(5));
    ASSERT_TRUE(s.ok()) << s;
  }
  absl::Status converged = rig.WaitConverged(absl::Seconds(120));
  ASSERT_TRUE(converged.ok()) << converged;

  // 1. The merged model equals every host's ground truth.
  std::map<std::string, AgentView> agents;
  for (int i = 0; i < rig.hosts(); ++i) {
    RigHost& host = rig.host(i);
    auto agent = host.Agent();
    ASSERT_TRUE(agent.ok()) << agent.status();
    EXPECT_EQ(rig.CompareWithAgent(i, *agent), "");
    auto hypervisor = host.Hypervisor();
    ASSERT_TRUE(hypervisor.ok()) << hypervisor.status();
    std::map<uint32_t, std::string> listed;
    for (const auto& [domid, d] : agent->domains) listed[domid] = d.uuid();
    EXPECT_EQ(listed, *hypervisor) << host.id();
    // dom0 and the domains each storm kept.
    EXPECT_EQ(agent->domains.size(), 1u + storm.keep) << host.id();
    agents[host.id()] = std::move(*agent);
  }
  auto list = testing::RunProcess({options.binaries.xenletctl, "--json",
                                   "fleet", "list", "-s", rig.nats_urls()});
  ASSERT_EQ(list.code, 0) << list.out;
  const auto listed = ParseFleetList(list.out);
  ASSERT_EQ(listed.size(), agents.size()) << list.out.substr(0, 2000);
  for (const auto& [host, agent] : agents) {
    std::map<uint32_t, std::string> expected;
    for (const auto& [domid, d] : agent.domains) expected[domid] = d.uuid();
    EXPECT_EQ(listed.at(host), expected) << host;
  }

  // 2. Every change once.
  auto messages = nats::ReadAll(rig.connection(), std::string(kEventsStream),
                                EventsSubject(">"));
  ASSERT_TRUE(messages.ok()) << messages.status();
  const EventAudit audit = AuditEvents(*messages);
  EXPECT_TRUE(audit.problems.empty())
      << audit.problems.size()
      << " problems, the first: " << audit.problems.front();
  ASSERT_EQ(audit.hosts.size(), agents.size());
  for (const auto& [host, runs] : audit.hosts) {
    const AgentView& agent = agents.at(host);
    EXPECT_EQ(runs.size(), host == "h1" ? 2u : 1u) << host;
    for (const auto& [instance, run] : runs) {
      EXPECT_TRUE(run.gaps.empty())
          << host << " " << instance << ": " << absl::StrJoin(run.gaps, ", ");
    }
    auto current = runs.find(agent.point.instance_id());
    ASSERT_NE(current, runs.end()) << host;
    EXPECT_EQ(current->second.last, agent.point.revision()) << host;
    if (host == "h1") {
      // The new instance's whole history, from its first revision.
      EXPECT_NE(agent.point.instance_id(), h1_first);
      EXPECT_EQ(current->second.first, 1u);
      EXPECT_TRUE(runs.contains(h1_first));
    }
  }

  // 3. Only h1's publisher resynced.
  const FleetModel model = rig.reader().Snapshot();
  for (int i = 0; i < rig.hosts(); ++i) {
    const std::string& id = rig.host(i).id();
    const uint64_t expected = i == 0 ? 1 : 0;
    EXPECT_EQ(model.Hosts().at(id).health.resyncs_total(), expected) << id;
    auto resyncs = rig.host(i).PublisherMetric("xenlet_publish_resyncs_total");
    ASSERT_TRUE(resyncs.ok()) << resyncs.status();
    EXPECT_EQ(*resyncs, expected) << id;
  }
  // h2's publishes failed while it was cut off.
  auto failures =
      rig.host(1).PublisherMetric("xenlet_publish_nats_failures_total");
  ASSERT_TRUE(failures.ok()) << failures.status();
  EXPECT_GT(*failures, 0);

  // 4. The reader saw h2 go stale during its cut, and come back; no host
  // is stale now.
  bool went_stale = false, came_back = false;
  for (const StaleFlip& flip : rig.stale_flips()) {
    if (flip.host != "h2") continue;
    if (flip.stale && flip.at > cut && flip.at < restored) went_stale = true;
    if (!flip.stale && went_stale && flip.at > restored) came_back = true;
  }
  EXPECT_TRUE(went_stale);
  EXPECT_TRUE(came_back);
  for (const auto& [host, status] : model.Hosts()) {
    EXPECT_FALSE(status.stale) << host;
  }
  // What happened, for the log.
  std::printf("fleet harness: %d hosts x %d domains; %llu events stored\n",
              rig.hosts(), domains,
              static_cast<unsigned long long>(audit.messages));
  for (const auto& [host, runs] : audit.hosts) {
    for (const auto& [instance, run] : runs) {
      std::printf("  %s instance %s: revisions %llu..%llu, %llu events\n",
                  host.c_str(), instance.c_str(),
                  static_cast<unsigned long long>(run.first),
                  static_cast<unsigned long long>(run.last),
                  static_cast<unsigned long long>(run.events));
    }
  }
  for (const StaleFlip& flip : rig.stale_flips()) {
    std::printf("  %s %s at t0%+.1f s\n", flip.host.c_str(),
                flip.stale ? "stale" : "live",
                absl::ToDoubleSeconds(flip.at - t0));
  }
  std::printf(
      "  h2 cut at t0%+.1f s, restored at t0%+.1f s; h2's publish "
      "failures: %.0f\n",
      absl::ToDoubleSeconds(cut - t0), absl::ToDoubleSeconds(restored - t0),
      *failures);
}

}  // namespace
}  // namespace xenlet::fleet::harness
