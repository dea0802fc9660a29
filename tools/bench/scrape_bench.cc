// What a Prometheus scrape costs, and that it does not hold up the model's
// writer: the scrape reads one snapshot (counting domains by state) and
// the counters, then serialises the exposition.
//
//   bazel run -c opt //tools/bench:scrape_bench
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "agent/agent_state.h"
#include "benchmark/benchmark.h"
#include "metrics/grpc_metrics.h"
#include "metrics/latency_metrics.h"
#include "metrics/state_collector.h"
#include "metrics/xen_call_metrics.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "tools/bench/bench_util.h"

namespace xenlet::bench {
namespace {

// The agent's metrics over a store of n domains, as main() assembles them.
struct Scrapeable {
  explicit Scrapeable(uint32_t n)
      : registry(std::make_shared<prometheus::Registry>()),
        calls(*registry),
        grpc(*registry),
        latency(*registry) {
    Populate(store, 1, n);
    for (int i = 0; i < 1000; ++i) {
      calls.OnHypercall(xen::HypercallKind::kGetDomainInfoList, 0, 20000);
      calls.OnXenstoreRequest(xen::XenstoreOp::kRead, 0);
      latency.ObserveSweep(1e-4);
      latency.ObserveEventSent(2e-3);
    }
    grpc.Record("/xenlet.v1.DomainService/ListDomains", grpc::StatusCode::OK,
                0.001);
    state = std::make_shared<metrics::StateCollector>([this] {
      metrics::AgentState s;
      agent::ReadStoreState(store, &s);
      s.version = "bench";
      return s;
    });
  }

  // One scrape: collect every family and serialise it, as the exposer does.
  size_t Scrape() const {
    std::vector<prometheus::MetricFamily> families = registry->Collect();
    std::vector<prometheus::MetricFamily> more = state->Collect();
    families.insert(families.end(), more.begin(), more.end());
    return prometheus::TextSerializer().Serialize(families).size();
  }

  store::DomainStore store;
  std::shared_ptr<prometheus::Registry> registry;
  metrics::XenCallMetrics calls;
  metrics::GrpcMetrics grpc;
  metrics::LatencyMetrics latency;
  std::shared_ptr<metrics::StateCollector> state;
};

Scrapeable& Fixture(uint32_t n) {
  static std::map<uint32_t, std::unique_ptr<Scrapeable>> fixtures;
  auto& f = fixtures[n];
  if (!f) f = std::make_unique<Scrapeable>(n);
  return *f;
}

void BM_Scrape(benchmark::State& state) {
  Scrapeable& s = Fixture(state.range(0));
  size_t bytes = 0;
  for (auto _ : state) bytes = s.Scrape();
  state.counters["bytes"] = bytes;
}
BENCHMARK(BM_Scrape)->Arg(1000)->Arg(32000)->Unit(benchmark::kMicrosecond);

// A commit of one change (the writer's unit of work), with a thread
// scraping back to back (scraper:1) or not (scraper:0).
void BM_CommitWhileScraping(benchmark::State& state) {
  Scrapeable& s = Fixture(state.range(0));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> scrapes{0};
  std::thread scraper;
  if (state.range(1)) {
    scraper = std::thread([&] {
      while (!stop.load()) {
        s.Scrape();
        scrapes.fetch_add(1);
      }
    });
  }
  uint32_t domid = 1;
  std::vector<double> micros;
  micros.reserve(1 << 20);
  for (auto _ : state) {
    std::vector<store::Change> changes;
    changes.push_back(MakeChange(domid, v1::EVENT_TYPE_MODIFIED));
    auto start = std::chrono::steady_clock::now();
    s.store.Commit(std::move(changes));
    micros.push_back(std::chrono::duration<double, std::micro>(
                         std::chrono::steady_clock::now() - start)
                         .count());
    domid = domid % state.range(0) + 1;
  }
  stop = true;
  if (scraper.joinable()) scraper.join();
  // A scrape that blocked the writer would show as commits waiting about
  // a whole scrape (~0.3 ms at 32000 domains): look at the tail.
  std::sort(micros.begin(), micros.end());
  state.counters["scrapes"] = scrapes.load();
  state.counters["p99_us"] = micros[micros.size() * 99 / 100];
  state.counters["p999_us"] = micros[micros.size() * 999 / 1000];
}
BENCHMARK(BM_CommitWhileScraping)
    ->ArgNames({"domains", "scraper"})
    ->Args({32000, 0})
    ->Args({32000, 1})
    ->MinTime(0.5)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

std::vector<Ratio> Ratios() {
  return {
      {"scrape, 32000 vs 1000 domains", "BM_Scrape/32000", "BM_Scrape/1000"},
      {"commit with a scraper running vs without, 32000",
       "BM_CommitWhileScraping/domains:32000/scraper:1/min_time:0.500/"
       "real_time",
       "BM_CommitWhileScraping/domains:32000/scraper:0/min_time:0.500/"
       "real_time"},
  };
}

}  // namespace
}  // namespace xenlet::bench

int main(int argc, char** argv) {
  return xenlet::bench::RunBenchmarks(argc, argv, xenlet::bench::Ratios());
}
