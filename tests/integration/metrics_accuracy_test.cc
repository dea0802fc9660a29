// The agent's counters of hypercalls and xenstore requests equal what
// happened, checked from outside the agent: hypercalls against the fake
// hypervisor's own counters, xenstore requests against xenstored's trace
// of the agent's connection (xenstored -T), over a scripted sequence of
// domain operations and queries.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "gtest/gtest.h"
#include "metrics/xen_call_metrics.h"
#include "prometheus/registry.h"
#include "sim/sim_host.h"
#include "store/domain_model.h"
#include "tests/testing/status_macros.h"
#include "tests/testing/store_events.h"
#include "xen/libxenstore_client.h"

namespace xenlet {
namespace {

// xenstored's name of each request type, as its trace writes it.
const std::map<std::string, xen::XenstoreOp> kTraceOps = {
    {"READ", xen::XenstoreOp::kRead},
    {"DIRECTORY", xen::XenstoreOp::kDirectory},
    {"WRITE", xen::XenstoreOp::kWrite},
    {"MKDIR", xen::XenstoreOp::kMkdir},
    {"RM", xen::XenstoreOp::kRemove},
    {"SET_PERMS", xen::XenstoreOp::kSetPermissions},
    {"WATCH", xen::XenstoreOp::kWatch},
    {"UNWATCH", xen::XenstoreOp::kUnwatch},
    {"TRANSACTION_START", xen::XenstoreOp::kTransactionStart},
    {"TRANSACTION_END", xen::XenstoreOp::kTransactionEnd},
    {"INTRODUCE", xen::XenstoreOp::kIntroduceDomain},
    {"RELEASE", xen::XenstoreOp::kReleaseDomain},
    {"IS_DOMAIN_INTRODUCED", xen::XenstoreOp::kIsDomainIntroduced},
    {"GET_DOMAIN_PATH", xen::XenstoreOp::kGetDomainPath},
    {"GET_PERMS", xen::XenstoreOp::kGetPermissions},
    {"RESUME", xen::XenstoreOp::kResumeDomain},
};

// Requests by type of every connection that registered the agent's watch
// (token "xenlet" on @introduceDomain). A connection address can be reused
// after DESTROY, so each CREATE starts a new connection.
std::map<std::string, int64_t> AgentRequests(const std::string& trace_path,
                                             std::set<std::string>* unknown) {
  std::ifstream in(trace_path);
  std::map<std::string, int> generation;  // address -> connection number
  std::map<std::string, std::map<std::string, int64_t>> by_connection;
  std::set<std::string> agent;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first, address;
    words >> first >> address;
    if (first == "CREATE" && address == "connection") {
      std::string id;
      words >> id;
      ++generation[id];
      continue;
    }
    if (first != "IN") continue;
    std::string date, time, op;
    words >> date >> time >> op;
    const std::string key = address + "#" + std::to_string(generation[address]);
    ++by_connection[key][op];
    if (op == "WATCH" &&
        line.find("(@introduceDomain xenlet ") != std::string::npos) {
      agent.insert(key);
    }
  }
  std::map<std::string, int64_t> total;
  for (const std::string& key : agent) {
    for (const auto& [op, count] : by_connection[key]) {
      if (!kTraceOps.contains(op)) unknown->insert(op);
      total[op] += count;
    }
  }
  return total;
}

TEST(MetricsAccuracyTest, CountersEqualWhatXenAndXenstoredSaw) {
  sim::SimHostOptions host_options;
  host_options.trace = true;
  auto host = sim::SimHost::Start(host_options);
  ASSERT_TRUE(host.ok()) << host.status();
  prometheus::Registry registry;
  metrics::XenCallMetrics calls(registry);
  xen::HypervisorOptions hv_options;
  hv_options.observer = &calls;
  auto hypervisor = (*host)->OpenHypervisor(hv_options);
  ASSERT_TRUE(hypervisor.ok()) << hypervisor.status();
  auto toolstack = (*host)->NewToolstack();
  ASSERT_TRUE(toolstack.ok()) << toolstack.status();

  store::ModelOptions options;
  options.sweep_interval = absl::Milliseconds(50);
  const xen::XenstoreOptions xs_options{(*host)->socket_path(), &calls};
  auto model = std::make_unique<store::DomainModel>(
      hypervisor->get(),
      [xs_options] { return xen::OpenLibxenstoreClient(xs_options); }, options);
  auto events = std::make_unique<testing::StoreEvents>(&model->store());
  ASSERT_OK(model->Start());

  // The scripted sequence: boots, a pause and unpause, a crash, a destroy.
  std::vector<uint32_t> domids;
  for (int i = 0; i < 3; ++i) {
    auto created = (*toolstack)->CreateDomain({});
    ASSERT_TRUE(created.ok()) << created.status();
    domids.push_back(created->domid);
  }
  // Pauses are seen by sweeps only: let each one be seen.
  auto seen = [&](uint32_t domid, v1::Transition transition) {
    return events->WaitUntil([&](const auto& all) {
      return testing::HasTransition(all, domid, transition);
    });
  };
  ASSERT_TRUE(seen(domids[0], v1::TRANSITION_STARTED));
  ASSERT_OK((*toolstack)->PauseDomain(domids[0]));
  ASSERT_TRUE(seen(domids[0], v1::TRANSITION_PAUSED));
  ASSERT_OK((*toolstack)->UnpauseDomain(domids[0]));
  ASSERT_OK(
      (*toolstack)->ShutdownDomain(domids[1], xen::ShutdownReason::kCrash));
  ASSERT_OK((*toolstack)->DestroyDomain(domids[2]));
  ASSERT_TRUE(events->WaitUntil([&](const auto& seen) {
    return testing::HasTransition(seen, domids[0], v1::TRANSITION_UNPAUSED) &&
           testing::HasTransition(seen, domids[1], v1::TRANSITION_SHUTDOWN) &&
           testing::HasTransition(seen, domids[2], v1::TRANSITION_DESTROYED);
  }));

  // From here only the agent calls the hypervisor: compare its counts with
  // the fake's over a window of at least ten sweeps.
  std::array<uint64_t, static_cast<size_t>(xen::HypercallKind::kCount)> base;
  for (size_t k = 0; k < base.size(); ++k) {
    base[k] = calls.hypercalls(static_cast<xen::HypercallKind>(k));
  }
  (*host)->state().ResetCounts();
  const uint64_t sweeps = model->sweeper().stats().sweeps;
  ASSERT_TRUE(events->WaitUntil([&](const auto&) {
    return model->sweeper().stats().sweeps >= sweeps + 10;
  }));
  model->Stop();
  sim::HypercallCounts fake = (*host)->state().Counts();
  uint64_t window_total = 0;
  for (size_t k = 0; k < base.size(); ++k) {
    auto kind = static_cast<xen::HypercallKind>(k);
    const uint64_t counted = calls.hypercalls(kind) - base[k];
    if (kind == xen::HypercallKind::kGetDomainInfo) {
      // The fake counts every process on the host, and xenstored itself
      // calls getdomaininfo (check_domains, when the domain table changes:
      // the last destroy may still be settling). The agent never does.
      EXPECT_EQ(counted, 0u);
    } else {
      EXPECT_EQ(counted, fake.Get(kind)) << xen::HypercallKindName(kind);
    }
    window_total += counted;
  }
  EXPECT_GE(fake.Get(xen::HypercallKind::kGetDomainInfoList), 10u);
  EXPECT_EQ(fake.other, 0u);
  EXPECT_GT(window_total, 0u);

  // xenstore: every request of the agent's connection, over the whole run.
  events.reset();
  model.reset();  // closes the agent's connection
  std::set<std::string> unknown;
  std::map<std::string, int64_t> traced =
      AgentRequests((*host)->trace_path(), &unknown);
  EXPECT_TRUE(unknown.empty())
      << "request types the agent does not count: " << *unknown.begin();
  int64_t traced_total = 0;
  for (const auto& [name, op] : kTraceOps) {
    const int64_t in_trace = traced.contains(name) ? traced[name] : 0;
    EXPECT_EQ(static_cast<int64_t>(calls.xenstore_requests(op)), in_trace)
        << name;
    traced_total += in_trace;
  }
  EXPECT_EQ(static_cast<int64_t>(calls.xenstore_requests_total()),
            traced_total);
  // The agent read keys (names of the booted domains) and registered its
  // watches, so the comparison is not vacuous.
  EXPECT_GT(traced["READ"], 0);
  EXPECT_GE(traced["WATCH"], 3);
}

}  // namespace
}  // namespace xenlet
