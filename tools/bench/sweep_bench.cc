// Hypervisor sweeps on the simulated host (fake hypervisor, no xenstored)
// at 1000 and 32000 domains: the full-range sweep (one
// XEN_SYSCTL_getdomaininfolist over 0..32751) through both DomainListPath
// values, against the chunked walks of DESIGN §7(b) (chunks of 2, the
// pre-2022 binding, and of 1024, libxl), with the hypercalls per sweep read
// from the fake hypervisor's counters. Then Reconciler::OnSweep at the same
// sizes, steady and with volatile-only changes.
//
//   bazel run -c opt //tools/bench:sweep_bench
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "sim/sim_host.h"
#include "store/domain_store.h"
#include "store/reconciler.h"
#include "tools/bench/bench_util.h"
#include "xen/xenctrl_hypervisor.h"

namespace xenlet::bench {
namespace {

using xen::DomainListPath;
using xen::HypercallKind;

// One simulated host at a time per process (the in-process fake follows
// $XENLET_SIM_STATE): the current one is replaced when the size changes.
sim::SimHost& HostWith(uint32_t n) {
  static std::unique_ptr<sim::SimHost> host;
  static uint32_t domains = 0;
  if (!host || domains != n) {
    host.reset();
    auto started = sim::SimHost::Start({.start_xenstored = false});
    if (!started.ok()) {
      std::fprintf(stderr, "SimHost: %s\n",
                   std::string(started.status().message()).c_str());
      std::abort();
    }
    host = std::move(*started);
    // Domids 1..n, as tests/sim/getinfolist_32000_test.cc does, each with
    // its own uuid.
    auto s = host->state().Mutate([n](sim::DomainTable& t) {
      for (xen::Domid d = 1; d <= n; ++d) {
        sim::DomainConfig config;
        for (int i = 0; i < 4; ++i) config.uuid[12 + i] = d >> (24 - 8 * i);
        config.uuid[0] = 0x5f;
        if (auto s = t.Add(d, config); !s.ok()) return s;
      }
      return absl::OkStatus();
    });
    if (!s.ok()) std::abort();
    domains = n;
  }
  return *host;
}

std::unique_ptr<xen::Hypervisor> Open(sim::SimHost& host, DomainListPath p) {
  auto hv = host.OpenHypervisor({.domain_list_path = p});
  if (!hv.ok()) {
    std::fprintf(stderr, "OpenHypervisor: %s\n",
                 std::string(hv.status().message()).c_str());
    std::abort();
  }
  return std::move(*hv);
}

const char* PathName(int64_t p) {
  return p == 0 ? "persistent_buffer" : "libxenctrl";
}

// A walk of chunks: GetDomainInfoList(first, chunk) until a short answer.
absl::Status ChunkedWalk(xen::Hypervisor& hv, uint32_t chunk,
                         std::vector<xen::DomainInfo>* part,
                         std::vector<xen::DomainInfo>* all) {
  all->clear();
  xen::Domid first = 0;
  while (true) {
    if (auto s = hv.GetDomainInfoList(first, chunk, part); !s.ok()) return s;
    all->insert(all->end(), part->begin(), part->end());
    if (part->size() < chunk) return absl::OkStatus();
    first = part->back().domid + 1;
    if (first >= xen::kDomidFirstReserved) return absl::OkStatus();
  }
}

// chunk 0: the full-range sweep (GetAllDomains).
void BM_Sweep(benchmark::State& state) {
  const uint32_t n = state.range(0);
  const auto path = static_cast<DomainListPath>(state.range(1));
  const uint32_t chunk = state.range(2);
  sim::SimHost& host = HostWith(n);
  auto hv = Open(host, path);
  std::vector<xen::DomainInfo> all, part;
  all.reserve(xen::kDomidFirstReserved);
  const uint64_t before =
      host.state().Counts().Get(HypercallKind::kGetDomainInfoList);
  for (auto _ : state) {
    absl::Status s = chunk == 0 ? hv->GetAllDomains(&all)
                                : ChunkedWalk(*hv, chunk, &part, &all);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
  }
  const uint64_t calls =
      host.state().Counts().Get(HypercallKind::kGetDomainInfoList) - before;
  state.counters["hypercalls_per_sweep"] =
      static_cast<double>(calls) / state.iterations();
  state.counters["domains_seen"] = all.size();
  state.SetLabel(PathName(state.range(1)));
}

// Every way at 1000, 8000 and 32000 domains; the full sweep alone at the
// sizes between, for the curve of sweep time against domain count.
void SweepArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"domains", "path", "chunk"});
  for (int64_t n : {1000, 2000, 4000, 8000, 16000, 32000}) {
    const bool every_way = n == 1000 || n == 8000 || n == 32000;
    for (int64_t path : {0, 1}) {
      for (int64_t chunk : {0, 2, 1024}) {
        if (every_way || (path == 0 && chunk == 0)) b->Args({n, path, chunk});
      }
    }
  }
  b->Unit(benchmark::kMicrosecond);
  b->MinTime(0.2);
}
BENCHMARK(BM_Sweep)->Apply(SweepArgs);

// ---- Reconciler::OnSweep ----

// range(1): percentage of domains whose volatile fields (cpu time) change
// between two sweeps; 0 is the steady state. Each sweep is a buffer of its
// own, as the sweeper hands them out (the snapshot keeps the last one).
void BM_ReconcileOnSweep(benchmark::State& state) {
  const uint32_t n = state.range(0);
  const int percent = state.range(1);
  sim::SimHost& host = HostWith(n);
  auto hv = Open(host, DomainListPath::kPersistentBuffer);
  auto a = std::make_shared<store::SweepBuffer>();
  if (!hv->GetAllDomains(a.get()).ok()) std::abort();
  auto b = std::make_shared<store::SweepBuffer>(*a);
  const size_t changed = a->size() * percent / 100;
  for (size_t i = 0; i < changed; ++i) {
    (*b)[i * a->size() / changed].cpu_time_ns++;
  }
  store::DomainStore store({"bench", 1000});
  store::Reconciler reconciler(&store);
  const absl::Time now = absl::Now();
  reconciler.OnSweep(
      {a, now, absl::ZeroDuration(), store::SweepCause::kResync});
  bool flip = false;
  for (auto _ : state) {
    flip = percent > 0 && !flip;
    reconciler.OnSweep(
        {flip ? b : a, now, absl::ZeroDuration(), store::SweepCause::kTimer});
  }
  state.counters["domains"] = store.snapshot()->domains.size();
  state.counters["volatile_changed"] = changed;
  state.counters["revision"] = store.revision();  // no events: stays at n+1
}
void ReconcileArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"domains", "volatile_pct"});
  for (int64_t n : {1000, 2000, 4000, 8000, 16000, 32000}) {
    b->Args({n, 0});
    if (n == 1000 || n == 32000) b->Args({n, 10});
    b->Args({n, 100});
  }
  b->Unit(benchmark::kMicrosecond);
  b->MinTime(0.2);
}
BENCHMARK(BM_ReconcileOnSweep)->Apply(ReconcileArgs);

// Two parts of OnSweep's per-domain work in the steady state, alone: the
// uuid formatted from the handle (DomainInfo::Uuid) and the `seen` map
// rebuilt on every sweep.
void BM_OnSweepParts(benchmark::State& state) {
  const uint32_t n = state.range(0);
  const int part = state.range(1);
  auto hv = Open(HostWith(n), DomainListPath::kPersistentBuffer);
  std::vector<xen::DomainInfo> infos;
  if (!hv->GetAllDomains(&infos).ok()) std::abort();
  for (auto _ : state) {
    if (part == 0) {
      size_t total = 0;
      for (const xen::DomainInfo& info : infos) total += info.Uuid().size();
      benchmark::DoNotOptimize(total);
    } else {
      absl::flat_hash_map<xen::Domid, bool> seen;
      for (const xen::DomainInfo& info : infos) seen[info.domid] = true;
      benchmark::DoNotOptimize(seen);
    }
  }
  state.SetLabel(part == 0 ? "DomainInfo::Uuid() for every domain"
                           : "seen map for every domain");
}
BENCHMARK(BM_OnSweepParts)
    ->ArgNames({"domains", "part"})
    ->Args({1000, 0})
    ->Args({1000, 1})
    ->Args({32000, 0})
    ->Args({32000, 1})
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(0.2);

std::vector<Ratio> Ratios() {
  std::vector<Ratio> r;
  for (std::string n : {"1000", "8000", "32000"}) {
    const std::string steady_name =
        "BM_ReconcileOnSweep/domains:" + n + "/volatile_pct:0/min_time:0.200";
    r.push_back({"Uuid() formatting share of steady OnSweep, " + n,
                 "BM_OnSweepParts/domains:" + n + "/part:0/min_time:0.200",
                 steady_name});
    r.push_back({"seen-map share of steady OnSweep, " + n,
                 "BM_OnSweepParts/domains:" + n + "/part:1/min_time:0.200",
                 steady_name});
    const std::string full =
        "BM_Sweep/domains:" + n + "/path:0/chunk:0/min_time:0.200";
    auto name = [&](int path, int chunk) {
      return "BM_Sweep/domains:" + n + "/path:" + std::to_string(path) +
             "/chunk:" + std::to_string(chunk) + "/min_time:0.200";
    };
    r.push_back({"full sweep, libxenctrl vs persistent buffer, " + n,
                 name(1, 0), full});
    for (int path : {0, 1}) {
      for (int chunk : {2, 1024}) {
        r.push_back({"chunks of " + std::to_string(chunk) + " (" +
                         PathName(path) + ") vs full sweep (persistent), " + n,
                     name(path, chunk), full});
      }
    }
    const std::string steady =
        "BM_ReconcileOnSweep/domains:" + n + "/volatile_pct:0/min_time:0.200";
    for (std::string pct : {"0", "100"}) {
      r.push_back(
          {"OnSweep, " + pct + "% volatile vs the sweep hypercall, " + n,
           "BM_ReconcileOnSweep/domains:" + n + "/volatile_pct:" + pct +
               "/min_time:0.200",
           full});
    }
    for (std::string pct : {"10", "100"}) {
      r.push_back({"OnSweep, " + pct + "% volatile vs steady, " + n,
                   "BM_ReconcileOnSweep/domains:" + n + "/volatile_pct:" + pct +
                       "/min_time:0.200",
                   steady});
    }
  }
  return r;
}

}  // namespace
}  // namespace xenlet::bench

int main(int argc, char** argv) {
  return xenlet::bench::RunBenchmarks(argc, argv, xenlet::bench::Ratios());
}
