// DomainStore costs at 1000 and 32000 domains, each beside a baseline run in
// the same process: publishing a snapshot (Commit) against a naive model
// that copies every domain into a new map; a ListDomains walk against a walk
// of a plain std::map; uuid lookups (the writer's live index) against a scan;
// and snapshot() latency with and without a writer committing continuously.
//
//   bazel run -c opt //tools/bench:model_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "agent/field_mask.h"
#include "store/domain_filter.h"
#include "store/domain_store.h"
#include "tools/bench/bench_util.h"
#include "xenlet/v1/domain_service.pb.h"

namespace xenlet::bench {
namespace {

using store::DomainPtr;

// One populated store per domain count and use, kept across benchmarks.
// The read benchmarks get their own, untouched by the commit benchmarks,
// so that the walk is compared with the naive map on equal terms (domains
// allocated in the same order, not scattered by earlier churn).
enum class Use { kCommit, kRead };
store::DomainStore& StoreWith(uint32_t n, Use use = Use::kCommit) {
  static auto* stores =
      new std::map<std::pair<uint32_t, Use>, store::DomainStore*>;
  auto& s = (*stores)[{n, use}];
  if (!s) {
    s = new store::DomainStore({"bench", 1000});
    Populate(*s, 1, n);
  }
  return *s;
}

// Domids a change touches: spread (one per 64-slot chunk, the worst case
// for the two-level table) or consecutive (a boot storm's new domains).
uint32_t DomidFor(uint64_t i, uint32_t n, bool spread) {
  if (spread) return 1 + (i * 7919) % n;
  return 1 + i % n;
}

// Changes are built beforehand, outside the timed region, in pools of
// batches: what is timed is the commit alone.
class ChangePool {
 public:
  ChangePool(uint32_t n, int batch, bool spread)
      : n_(n), batch_(batch), spread_(spread) {}
  std::vector<store::Change> Next(benchmark::State& state) {
    if (pool_.empty()) {
      state.PauseTiming();
      Refill();
      state.ResumeTiming();
    }
    auto out = std::move(pool_.back());
    pool_.pop_back();
    return out;
  }

 private:
  void Refill() {
    const int batches = std::max(1, 4096 / batch_);
    for (int b = 0; b < batches; ++b) {
      std::vector<store::Change> changes;
      for (int i = 0; i < batch_; ++i) {
        changes.push_back(MakeChange(DomidFor(next_++, n_, spread_),
                                     v1::EVENT_TYPE_MODIFIED));
      }
      pool_.push_back(std::move(changes));
    }
  }
  const uint32_t n_;
  const int batch_;
  const bool spread_;
  uint64_t next_ = 0;
  std::vector<std::vector<store::Change>> pool_;
};

// What a naive model does: every publish copies the whole map. Here the
// map holds shared pointers (so only pointers are copied, a generous
// baseline) or the messages themselves (a deep copy).
template <typename Value>
class NaiveStore {
 public:
  using Map = absl::flat_hash_map<uint32_t, Value>;
  explicit NaiveStore(uint32_t n) : current_(std::make_shared<Map>()) {
    auto map = std::make_shared<Map>();
    for (uint32_t d = 1; d <= n; ++d) (*map)[d] = Wrap(MakeDomain(d));
    current_ = map;
  }
  void Commit(std::vector<store::Change> changes) {
    absl::MutexLock writer(&write_mutex_);
    auto next = std::make_shared<Map>(*snapshot());
    for (store::Change& c : changes) {
      c.domain->set_updated_revision(++revision_);
      (*next)[c.domid] = Wrap(std::move(c.domain));
    }
    absl::MutexLock lock(&mutex_);
    current_ = std::move(next);
  }
  std::shared_ptr<const Map> snapshot() const {
    absl::MutexLock lock(&mutex_);
    return current_;
  }

 private:
  static Value Wrap(std::unique_ptr<v1::Domain> d) {
    if constexpr (std::is_same_v<Value, DomainPtr>) {
      return DomainPtr(std::move(d));
    } else {
      return std::move(*d);
    }
  }
  absl::Mutex write_mutex_;
  uint64_t revision_ = 0;
  mutable absl::Mutex mutex_;
  std::shared_ptr<const Map> current_;
};

// ---- Commit (snapshot publish) ----

void BM_Commit(benchmark::State& state) {
  const uint32_t n = state.range(0);
  const int batch = state.range(1);
  const bool spread = state.range(2);
  store::DomainStore& s = StoreWith(n);
  ChangePool pool(n, batch, spread);
  for (auto _ : state) s.Commit(pool.Next(state));
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["domains"] = s.snapshot()->domains.size();
}

template <typename Value>
void BM_NaiveCommit(benchmark::State& state) {
  const uint32_t n = state.range(0);
  const int batch = state.range(1);
  const bool spread = state.range(2);
  NaiveStore<Value> s(n);
  ChangePool pool(n, batch, spread);
  for (auto _ : state) s.Commit(pool.Next(state));
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["domains"] = s.snapshot()->size();
}

void CommitArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"domains", "batch", "spread"});
  for (int64_t n : {1000, 32000}) {
    b->Args({n, 1, 1});
    b->Args({n, 100, 1});
    b->Args({n, 100, 0});
  }
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_Commit)->Apply(CommitArgs);
BENCHMARK_TEMPLATE(BM_NaiveCommit, DomainPtr)->Apply(CommitArgs);
BENCHMARK_TEMPLATE(BM_NaiveCommit, v1::Domain)->Apply(CommitArgs);

// ---- ListDomains: walk the snapshot, match the filter, copy the proto ----

v1::DomainFilter RunningFilter() {
  v1::DomainFilter f;
  f.add_states(v1::DOMAIN_STATE_RUNNING);  // matches every domain here
  return f;
}

void BM_ListWalk(benchmark::State& state) {
  const uint32_t n = state.range(0);
  store::DomainStore& s = StoreWith(n, Use::kRead);
  const store::DomainFilter filter(RunningFilter());
  const google::protobuf::FieldMask mask;
  for (auto _ : state) {
    auto snapshot = s.snapshot();
    v1::ListDomainsResponse response;
    snapshot->domains.ForEach([&](const DomainPtr& d) {
      if (!filter.Matches(*d)) return;
      v1::Domain* out = response.add_domains();
      *out = *d;
      agent::ApplyDomainMask(mask, out);
    });
    benchmark::DoNotOptimize(response);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

// The same over a sorted std::map of the same domains (what a model that
// copies on every publish could hand out).
void BM_NaiveListWalk(benchmark::State& state) {
  const uint32_t n = state.range(0);
  std::map<uint32_t, DomainPtr> map;
  for (uint32_t d = 1; d <= n; ++d) map[d] = DomainPtr(MakeDomain(d));
  const store::DomainFilter filter(RunningFilter());
  const google::protobuf::FieldMask mask;
  for (auto _ : state) {
    v1::ListDomainsResponse response;
    for (const auto& [domid, d] : map) {
      if (!filter.Matches(*d)) continue;
      v1::Domain* out = response.add_domains();
      *out = *d;
      agent::ApplyDomainMask(mask, out);
    }
    benchmark::DoNotOptimize(response);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

// The walk alone, no copy: the table's own iteration cost.
void BM_WalkOnly(benchmark::State& state) {
  store::DomainStore& s = StoreWith(state.range(0), Use::kRead);
  for (auto _ : state) {
    auto snapshot = s.snapshot();
    uint64_t sum = 0;
    snapshot->domains.ForEach([&](const DomainPtr& d) { sum += d->domid(); });
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_ListWalk)->Arg(1000)->Arg(32000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NaiveListWalk)
    ->Arg(1000)
    ->Arg(32000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WalkOnly)->Arg(1000)->Arg(32000)->Unit(benchmark::kMicrosecond);

// ---- GetDomains by uuid ----

std::vector<std::string> RandomUuids(uint32_t n) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < 1024; ++i) out.push_back(UuidFor(1 + i * 7919 % n));
  return out;
}

// The current snapshot: a lookup in the writer's live index.
void BM_UuidLookupIndexed(benchmark::State& state) {
  const uint32_t n = state.range(0);
  const store::DomainStore& store = StoreWith(n, Use::kRead);
  auto snapshot = store.snapshot();
  const auto uuids = RandomUuids(n);
  size_t i = 0;
  for (auto _ : state) {
    auto found = store.FindByUuid(*snapshot, uuids[i++ & 1023]);
    benchmark::DoNotOptimize(found);
  }
}

// A snapshot older than the index (the model moved on): FindByUuid scans.
void BM_UuidLookupStale(benchmark::State& state) {
  const uint32_t n = state.range(0);
  const store::DomainStore& store = StoreWith(n, Use::kRead);
  auto stale = std::make_shared<store::Snapshot>(*store.snapshot());
  stale->revision -= 1;
  const auto uuids = RandomUuids(n);
  size_t i = 0;
  for (auto _ : state) {
    auto found = store.FindByUuid(*stale, uuids[i++ & 1023]);
    benchmark::DoNotOptimize(found);
  }
}

// Baseline: no index, scan the snapshot.
void BM_UuidScan(benchmark::State& state) {
  const uint32_t n = state.range(0);
  auto snapshot = StoreWith(n, Use::kRead).snapshot();
  const auto uuids = RandomUuids(n);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& uuid = uuids[i++ & 1023];
    DomainPtr found;
    snapshot->domains.ForEachFrom(0, [&](const DomainPtr& d) {
      if (d->uuid() != uuid) return true;
      found = d;
      return false;
    });
    benchmark::DoNotOptimize(found);
  }
}

BENCHMARK(BM_UuidLookupIndexed)->Arg(1000)->Arg(32000);
BENCHMARK(BM_UuidLookupStale)
    ->Arg(1000)
    ->Arg(32000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_UuidScan)->Arg(1000)->Arg(32000)->Unit(benchmark::kMicrosecond);

// ---- Readers against a writer ----

// A thread committing one change at a time, as fast as it can.
class Writer {
 public:
  Writer(store::DomainStore* s, uint32_t n) {
    thread_ = std::thread([this, s, n] {
      uint64_t i = 0;
      while (!stop_.load(std::memory_order_relaxed)) {
        std::vector<store::Change> changes;
        changes.push_back(
            MakeChange(DomidFor(i++, n, true), v1::EVENT_TYPE_MODIFIED));
        s->Commit(std::move(changes));
        commits_.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  ~Writer() {
    stop_ = true;
    thread_.join();
  }
  uint64_t commits() const { return commits_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> commits_{0};
  std::thread thread_;
};

// Latency of each call: percentiles as counters (ns).
template <typename Call>
void TimeCalls(benchmark::State& state, Call call) {
  const uint32_t n = state.range(0);
  const bool writing = state.range(1);
  store::DomainStore& s = StoreWith(n);
  std::vector<int64_t> ns;
  ns.reserve(1 << 20);
  std::unique_ptr<Writer> writer;
  if (writing) writer = std::make_unique<Writer>(&s, n);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto result = call(s);
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(result);
    if (ns.size() < ns.capacity()) {
      ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0)
                       .count());
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (writer) {
    state.counters["writer_commits_per_s"] = writer->commits() / secs;
    writer.reset();
  }
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double p) {
    return static_cast<double>(
        ns[std::min(ns.size() - 1, static_cast<size_t>(p * ns.size()))]);
  };
  state.counters["p50_ns"] = pct(0.5);
  state.counters["p99_ns"] = pct(0.99);
  state.counters["p999_ns"] = pct(0.999);
  state.counters["max_ns"] = static_cast<double>(ns.back());
}

// snapshot(): the reader's way in; never waits for a commit.
void BM_Snapshot(benchmark::State& state) {
  TimeCalls(state, [](store::DomainStore& s) { return s.snapshot(); });
}

// Contrast: a call that takes the writer's lock (revision()) waits for the
// commit in progress; this is what a reader blocked by the writer looks
// like.
void BM_WriterLockedRead(benchmark::State& state) {
  TimeCalls(state, [](store::DomainStore& s) { return s.revision(); });
}

void ReaderArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"domains", "writer"});
  for (int64_t n : {1000, 32000}) {
    b->Args({n, 0});
    b->Args({n, 1});
  }
  b->MinTime(0.3);
  b->UseRealTime();
}

BENCHMARK(BM_Snapshot)->Apply(ReaderArgs);
BENCHMARK(BM_WriterLockedRead)->Apply(ReaderArgs);

std::vector<Ratio> Ratios() {
  std::vector<Ratio> r;
  for (std::string n : {"1000", "32000"}) {
    for (std::string args :
         {"/batch:1/spread:1", "/batch:100/spread:1", "/batch:100/spread:0"}) {
      const std::string suffix = "/domains:" + n + args;
      r.push_back({"commit vs naive pointer-map copy, " + n + args,
                   "BM_NaiveCommit<DomainPtr>" + suffix, "BM_Commit" + suffix});
      r.push_back({"commit vs naive deep copy, " + n + args,
                   "BM_NaiveCommit<v1::Domain>" + suffix,
                   "BM_Commit" + suffix});
    }
    r.push_back({"list walk+copy vs std::map walk, " + n, "BM_ListWalk/" + n,
                 "BM_NaiveListWalk/" + n});
    r.push_back({"uuid: scan vs indexed lookup, " + n, "BM_UuidScan/" + n,
                 "BM_UuidLookupIndexed/" + n});
    r.push_back({"uuid: stale-snapshot lookup vs scan, " + n,
                 "BM_UuidLookupStale/" + n, "BM_UuidScan/" + n});
    r.push_back({"snapshot(): with vs without writer, " + n,
                 "BM_Snapshot/domains:" + n +
                     "/writer:1/min_time:0.300/"
                     "real_time",
                 "BM_Snapshot/domains:" + n +
                     "/writer:0/min_time:0.300/"
                     "real_time"});
    r.push_back({"writer-locked read: with vs without writer, " + n,
                 "BM_WriterLockedRead/domains:" + n +
                     "/writer:1/min_time:0.300/real_time",
                 "BM_WriterLockedRead/domains:" + n +
                     "/writer:0/min_time:0.300/real_time"});
  }
  return r;
}

}  // namespace
}  // namespace xenlet::bench

int main(int argc, char** argv) {
  return xenlet::bench::RunBenchmarks(argc, argv, xenlet::bench::Ratios());
}
