// What acting through ControlService costs on a simulated host, against the
// hypercalls a toolstack makes for the same action (the baseline, same
// run): one domain paused and unpaused, and a batch of 100 domains paused
// and unpaused in one call each. ControlService adds the RPC, the batch's
// resolution on a snapshot, a getdomaininfo per domain (what is already so
// is Xen's word), the audit lines and a sweep request.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <vector>

#include "agent/server.h"
#include "benchmark/benchmark.h"
#include "sim/sim_host.h"
#include "store/domain_model.h"
#include "tools/bench/bench_util.h"
#include "xenlet/v1/control_service.grpc.pb.h"

namespace xenlet::bench {
namespace {

constexpr int kBatch = 100;

struct Env {
  TempDir dir;
  std::unique_ptr<sim::SimHost> host;
  std::vector<xen::Domid> domids;
  std::unique_ptr<xen::Hypervisor> model_hv, control_hv, toolstack_hv;
  std::unique_ptr<store::DomainModel> model;
  std::unique_ptr<agent::AgentServer> server;
  std::unique_ptr<v1::ControlService::Stub> stub;
};

Env* g_env = nullptr;

Env& TheEnv() {
  if (!g_env)
    g_env = [] {
      auto* e = new Env;
      auto host = sim::SimHost::Start();
      if (!host.ok()) Die("SimHost", host.status());
      e->host = std::move(*host);
      auto ts = e->host->NewToolstack();
      if (!ts.ok()) Die("Toolstack", ts.status());
      for (int i = 0; i < kBatch; ++i) {
        auto d = (*ts)->CreateDomain({});
        if (!d.ok()) Die("CreateDomain", d.status());
        e->domids.push_back(d->domid);
      }
      for (auto* hv : {&e->model_hv, &e->control_hv, &e->toolstack_hv}) {
        auto opened = e->host->OpenHypervisor();
        if (!opened.ok()) Die("OpenHypervisor", opened.status());
        *hv = std::move(*opened);
      }
      sim::SimHost* h = e->host.get();
      e->model = std::make_unique<store::DomainModel>(
          e->model_hv.get(), [h] { return h->ConnectXenstore(); },
          store::ModelOptions{});
      if (auto s = e->model->Start(); !s.ok()) Die("DomainModel", s);
      if (auto s = e->model->sweeper().SweepNow(store::SweepCause::kResync);
          !s.ok()) {
        Die("sweep", s);
      }
      agent::ServerOptions options;
      options.listeners.unix_socket = e->dir.path() + "/xenlet.sock";
      options.control.enabled = true;
      agent::Backends backends;
      backends.store = &e->model->store();
      backends.model = e->model.get();
      backends.xenstore = [h] { return h->ConnectXenstore(); };
      backends.control_hypervisor = e->control_hv.get();
      auto server = agent::AgentServer::Start(options, backends);
      if (!server.ok()) Die("AgentServer", server.status());
      e->server = std::move(*server);
      e->stub = v1::ControlService::NewStub(
          grpc::CreateChannel("unix:" + e->server->unix_socket(),
                              grpc::InsecureChannelCredentials()));
      return e;
    }();
  return *g_env;
}

template <typename Request>
void Fill(Request* request, int n) {
  for (int i = 0; i < n; ++i) {
    request->add_selectors()->set_domid(TheEnv().domids[i]);
  }
}

// Baseline: the toolstack's own pause and unpause hypercalls.
void BM_HypercallPauseUnpause(benchmark::State& state) {
  Env& e = TheEnv();
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) {
      if (auto s = e.toolstack_hv->PauseDomain(e.domids[i]); !s.ok()) {
        state.SkipWithError(s.ToString().c_str());
      }
    }
    for (int i = 0; i < n; ++i) {
      if (auto s = e.toolstack_hv->UnpauseDomain(e.domids[i]); !s.ok()) {
        state.SkipWithError(s.ToString().c_str());
      }
    }
  }
  state.counters["domains"] = n;
}

void BM_ControlPauseUnpause(benchmark::State& state) {
  Env& e = TheEnv();
  const int n = static_cast<int>(state.range(0));
  v1::PauseDomainsRequest pause;
  v1::UnpauseDomainsRequest unpause;
  Fill(&pause, n);
  Fill(&unpause, n);
  int done = 0;
  for (auto _ : state) {
    for (int call = 0; call < 2; ++call) {
      grpc::ClientContext context;
      v1::ControlResponse response;
      grpc::Status s =
          call == 0 ? e.stub->PauseDomains(&context, pause, &response)
                    : e.stub->UnpauseDomains(&context, unpause, &response);
      if (!s.ok()) state.SkipWithError(s.error_message().c_str());
      for (const auto& r : response.results()) {
        done += r.outcome() == v1::CONTROL_OUTCOME_DONE;
      }
    }
  }
  // Every item acted: none was taken for ALREADY.
  state.counters["done_per_iteration"] =
      benchmark::Counter(done, benchmark::Counter::kAvgIterations);
  state.counters["domains"] = n;
}

BENCHMARK(BM_HypercallPauseUnpause)
    ->Arg(1)
    ->Arg(kBatch)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_ControlPauseUnpause)
    ->Arg(1)
    ->Arg(kBatch)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

std::vector<Ratio> Ratios() {
  return {
      {"control vs hypercalls, 1 domain", "BM_ControlPauseUnpause/1/real_time",
       "BM_HypercallPauseUnpause/1/real_time"},
      {"control vs hypercalls, batch of 100",
       "BM_ControlPauseUnpause/100/real_time",
       "BM_HypercallPauseUnpause/100/real_time"},
      {"control: batch of 100 vs 1 domain",
       "BM_ControlPauseUnpause/100/real_time",
       "BM_ControlPauseUnpause/1/real_time"},
  };
}

}  // namespace

// The agent first, then the host (which stops xenstored and removes its
// directory).
void TearDownEnv() {
  if (!g_env) return;
  g_env->server->Shutdown(absl::ZeroDuration());
  g_env->server.reset();
  g_env->model->Stop();
  g_env->model.reset();
  g_env->model_hv.reset();
  g_env->control_hv.reset();
  g_env->toolstack_hv.reset();
  g_env->host.reset();
  delete g_env;
  g_env = nullptr;
}

}  // namespace xenlet::bench

int main(int argc, char** argv) {
  const int rc =
      xenlet::bench::RunBenchmarks(argc, argv, xenlet::bench::Ratios());
  xenlet::bench::TearDownEnv();
  return rc;
}
