// GetHost on a simulated host: the hypervisor's physinfo and version, the
// agent's sweep and xenstore statistics and its domains by state, all from
// memory (the call makes no hypercall).
#include <grpcpp/grpcpp.h>

#include "agent/server.h"
#include "gtest/gtest.h"
#include "metrics/xen_call_metrics.h"
#include "prometheus/registry.h"
#include "sim/sim_host.h"
#include "store/domain_model.h"
#include "tests/testing/store_events.h"
#include "xen/libxenstore_client.h"
#include "xenlet/v1/host_service.grpc.pb.h"

namespace xenlet {
namespace {

TEST(HostServiceTest, DescribesTheHostFromMemory) {
  auto host = sim::SimHost::Start();
  ASSERT_TRUE(host.ok()) << host.status();
  prometheus::Registry registry;
  metrics::XenCallMetrics calls(registry);
  auto hypervisor = (*host)->OpenHypervisor({.observer = &calls});
  ASSERT_TRUE(hypervisor.ok()) << hypervisor.status();
  store::ModelOptions options;
  options.sweep_interval = absl::Milliseconds(50);
  const xen::XenstoreOptions xs_options{(*host)->socket_path(), &calls};
  store::DomainModel model(
      hypervisor->get(),
      [xs_options] { return xen::OpenLibxenstoreClient(xs_options); }, options);
  testing::StoreEvents events(&model.store());
  ASSERT_TRUE(model.Start().ok());
  auto toolstack = (*host)->NewToolstack();
  ASSERT_TRUE(toolstack.ok());
  auto running = (*toolstack)->CreateDomain({});
  sim::DomainSpec paused_spec;
  paused_spec.start = false;
  auto paused = (*toolstack)->CreateDomain(paused_spec);
  ASSERT_TRUE(running.ok() && paused.ok());
  ASSERT_TRUE(events.WaitUntil([&](const auto& all) {
    return testing::HasTransition(all, running->domid,
                                  v1::TRANSITION_STARTED) &&
           testing::HasTransition(all, paused->domid, v1::TRANSITION_CREATED);
  }));

  agent::ServerOptions server_options;
  server_options.listeners.unix_socket = (*host)->dir() + "/xenlet.sock";
  auto server = agent::AgentServer::Start(
      server_options, {&model.store(), &model, &calls, nullptr});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::HostService::NewStub(grpc::CreateChannel(
      "unix:" + (*server)->unix_socket(), grpc::InsecureChannelCredentials()));

  model.Stop();  // freeze the counters: the answer must not move them
  const uint64_t hypercalls = calls.hypercalls_total();
  const auto fake_before = (*host)->state().Counts();
  grpc::ClientContext context;
  v1::Host answer;
  ASSERT_TRUE(stub->GetHost(&context, {}, &answer).ok());
  EXPECT_EQ(calls.hypercalls_total(), hypercalls);
  EXPECT_EQ((*host)->state().Counts().by_kind, fake_before.by_kind);

  const xen::PhysInfo physinfo = *(*hypervisor)->GetPhysInfo();
  EXPECT_EQ(answer.physinfo().nr_cpus(), physinfo.nr_cpus);
  EXPECT_EQ(answer.physinfo().total_memory_bytes(), physinfo.total_bytes);
  EXPECT_GT(answer.physinfo().total_memory_bytes(), 0u);
  EXPECT_EQ(answer.xen_version().major(), 4u);
  EXPECT_EQ(answer.xen_version().minor(), 17u);
  EXPECT_EQ(answer.agent().instance_id(), model.store().instance_id());
  EXPECT_EQ(answer.agent().revision(), model.store().snapshot()->revision);
  EXPECT_EQ(answer.domains_total(), 3u);
  std::map<int, uint32_t> by_state;
  for (const auto& entry : answer.domains_by_state()) {
    by_state[entry.state()] = entry.count();
  }
  EXPECT_EQ(by_state[v1::DOMAIN_STATE_RUNNING], 2u);  // dom0 and one guest
  EXPECT_EQ(by_state[v1::DOMAIN_STATE_CREATED], 1u);
  EXPECT_GT(answer.sweep().sweeps_total(), 0u);
  EXPECT_EQ(answer.sweep().hypercalls_total(), hypercalls);
  EXPECT_EQ(answer.xenstore().state(), v1::XENSTORE_CONNECTION_STATE_CONNECTED);
  EXPECT_EQ(answer.xenstore().requests_total(),
            calls.xenstore_requests_total());
  EXPECT_GT(answer.xenstore().watch_events_total(), 0u);
}

}  // namespace
}  // namespace xenlet
