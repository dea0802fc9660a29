// Queries served by xenlet against the classic ways of answering them from
// xenstore (DESIGN §7(a)), on one simulated host with the real xenstored and
// 100 domains created by sim::Toolstack (libxl's keys, ~50 each):
//   (a) ListDomains over gRPC from the agent's model (no xenstore request);
//   (b) xend's first way: one transaction per key, for every domain;
//   (c) the patched xend: one transaction per query reading every key.
// Each is reported as queries/s, with xenstored's CPU and the xenstore
// requests per query.
//
//   bazel run -c opt //tools/bench:query_baseline_bench
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "agent/server.h"
#include "sim/sim_host.h"
#include "store/domain_model.h"
#include "tools/bench/bench_util.h"
#include "xen/call_observer.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::bench {
namespace {

constexpr int kDomains = 100;

class CountingObserver : public xen::CallObserver {
 public:
  void OnXenstoreRequest(xen::XenstoreOp, int) override { ++requests; }
  std::atomic<uint64_t> requests{0};
};

struct Domain {
  xen::Domid domid;
  std::vector<std::string> keys;  // absolute paths
};

// The host, its domains, the agent (model + server) and the clients.
struct Env {
  TempDir dir;
  std::unique_ptr<sim::SimHost> host;
  std::vector<Domain> domains;
  std::unique_ptr<xen::Hypervisor> hypervisor;
  CountingObserver agent_xs;  // the agent's own xenstore requests
  std::unique_ptr<store::DomainModel> model;
  std::unique_ptr<agent::AgentServer> server;
  std::unique_ptr<v1::DomainService::Stub> stub;
  CountingObserver client_xs;  // the baselines' requests
  std::unique_ptr<xen::XenstoreClient> xs;
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
      for (int i = 0; i < kDomains; ++i) {
        sim::DomainSpec spec;
        auto d = (*ts)->CreateDomain(spec);
        if (!d.ok()) Die("CreateDomain", d.status());
        Domain domain{d->domid, {}};
        for (const auto& [path, value] :
             sim::Toolstack::DomainKeys(d->domid, d->uuid, d->name, spec)) {
          domain.keys.push_back(path);
        }
        e->domains.push_back(std::move(domain));
      }
      auto hv = e->host->OpenHypervisor();
      if (!hv.ok()) Die("OpenHypervisor", hv.status());
      e->hypervisor = std::move(*hv);
      sim::SimHost* h = e->host.get();
      CountingObserver* observer = &e->agent_xs;
      e->model = std::make_unique<store::DomainModel>(
          e->hypervisor.get(),
          [h, observer] { return h->ConnectXenstore(observer); },
          store::ModelOptions{});
      if (auto s = e->model->Start(); !s.ok()) Die("DomainModel", s);
      // Until the model holds every domain with its name.
      for (int i = 0; i < 3000; ++i) {
        auto snap = e->model->store().snapshot();
        int named = 0;
        snap->domains.ForEach([&](const store::DomainPtr& d) {
          if (d->domid() != 0 && !d->name().empty()) ++named;
        });
        if (named == kDomains) break;
        absl::SleepFor(absl::Milliseconds(10));
      }
      agent::ServerOptions options;
      options.listeners.unix_socket = e->dir.path() + "/xenlet.sock";
      auto server = agent::AgentServer::Start(options, {&e->model->store()});
      if (!server.ok()) Die("AgentServer", server.status());
      e->server = std::move(*server);
      e->stub = v1::DomainService::NewStub(
          grpc::CreateChannel("unix:" + e->server->unix_socket(),
                              grpc::InsecureChannelCredentials()));
      auto xs = e->host->ConnectXenstore(&e->client_xs);
      if (!xs.ok()) Die("ConnectXenstore", xs.status());
      e->xs = std::move(*xs);
      return e;
    }();
  return *g_env;
}

// The agent first, then the host (which stops xenstored).
void TearDown() {
  if (!g_env) return;
  g_env->server->Shutdown(absl::ZeroDuration());
  g_env->server.reset();
  g_env->model->Stop();
  g_env->model.reset();
  g_env->xs.reset();
  g_env->hypervisor.reset();
  g_env->host.reset();
  delete g_env;
  g_env = nullptr;
}

// Runs one query per iteration; reports queries/s, xenstored CPU and
// xenstore requests per query, and how many domains a query returned.
template <typename Query>
void RunQueries(benchmark::State& state, Query query) {
  Env& env = TheEnv();
  const pid_t xenstored = env.host->xenstored()->pid();
  const double cpu0 = ProcessCpuSeconds(xenstored);
  const uint64_t client0 = env.client_xs.requests;
  const uint64_t agent0 = env.agent_xs.requests;
  size_t domains = 0;
  for (auto _ : state) {
    auto n = query(env);
    if (!n.ok()) {
      state.SkipWithError(std::string(n.status().message()).c_str());
      return;
    }
    domains = *n;
  }
  const double it = state.iterations();
  state.counters["queries_per_s"] =
      benchmark::Counter(it, benchmark::Counter::kIsRate);
  state.counters["domains"] = domains;
  state.counters["xenstored_cpu_ms_per_query"] =
      (ProcessCpuSeconds(xenstored) - cpu0) * 1e3 / it;
  state.counters["xs_requests_per_query"] =
      (env.client_xs.requests - client0) / it;
  // The agent's own xenstore traffic meanwhile (its watcher; queries make
  // none).
  state.counters["agent_xs_requests"] = env.agent_xs.requests - agent0;
}

// (a) xenlet: one ListDomains call, every domain with its fields.
void BM_XenletListDomains(benchmark::State& state) {
  RunQueries(state, [](Env& env) -> absl::StatusOr<size_t> {
    v1::ListDomainsRequest request;
    request.set_page_size(1000);
    v1::ListDomainsResponse response;
    grpc::ClientContext context;
    grpc::Status s = env.stub->ListDomains(&context, request, &response);
    if (!s.ok()) return absl::InternalError(s.error_message());
    return response.domains_size();
  });
}

// (b) xend: the domain list, then every key in a transaction of its own.
void BM_XendTransactionPerKey(benchmark::State& state) {
  RunQueries(state, [](Env& env) -> absl::StatusOr<size_t> {
    auto list = env.xs->Directory("/local/domain");
    if (!list.ok()) return list.status();
    size_t read = 0;
    for (const Domain& d : env.domains) {
      for (const std::string& key : d.keys) {
        absl::Status s =
            xen::RunTransaction(*env.xs, [&](xen::XenstoreTransaction& t) {
              auto v = t.Read(key);
              return v.ok() || absl::IsNotFound(v.status()) ? absl::OkStatus()
                                                            : v.status();
            });
        if (!s.ok()) return s;
      }
      ++read;
    }
    return read;
  });
}

// (c) patched xend: one transaction per query, every key read inside it.
void BM_XendTransactionPerQuery(benchmark::State& state) {
  RunQueries(state, [](Env& env) -> absl::StatusOr<size_t> {
    size_t read = 0;
    absl::Status s =
        xen::RunTransaction(*env.xs, [&](xen::XenstoreTransaction& t) {
          read = 0;
          auto list = t.Directory("/local/domain");
          if (!list.ok()) return list.status();
          for (const Domain& d : env.domains) {
            for (const std::string& key : d.keys) {
              auto v = t.Read(key);
              if (!v.ok() && !absl::IsNotFound(v.status())) return v.status();
            }
            ++read;
          }
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    return read;
  });
}

BENCHMARK(BM_XenletListDomains)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_XendTransactionPerKey)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK(BM_XendTransactionPerQuery)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

std::vector<Ratio> Ratios() {
  return {
      {"xend txn-per-key vs xenlet (time per query)",
       "BM_XendTransactionPerKey/min_time:2.000/real_time",
       "BM_XenletListDomains/real_time"},
      {"patched xend txn-per-query vs xenlet",
       "BM_XendTransactionPerQuery/min_time:1.000/real_time",
       "BM_XenletListDomains/real_time"},
      {"xend txn-per-key vs patched xend",
       "BM_XendTransactionPerKey/min_time:2.000/real_time",
       "BM_XendTransactionPerQuery/min_time:1.000/real_time"},
  };
}

}  // namespace

void TearDownEnv() { TearDown(); }
}  // namespace xenlet::bench

int main(int argc, char** argv) {
  const int rc =
      xenlet::bench::RunBenchmarks(argc, argv, xenlet::bench::Ratios());
  xenlet::bench::TearDownEnv();
  return rc;
}
