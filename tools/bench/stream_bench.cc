// The agent's gRPC surface, end to end: an in-process AgentServer on a unix
// socket (short /tmp dir) serving a DomainStore that the benchmark writes,
// and a gRPC client in the same process. Events per second through one
// WatchDomains stream; ListDomains latency at 1000 and 32000 domains (all
// pages of 10000, and one page of 1000), against the same walk and copy
// done in-process (the RPC's own overhead). One event to 1, 10 and 100
// streams, serialised once against encoded per stream.
//
//   bazel run -c opt //tools/bench:stream_bench
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "agent/server.h"
#include "store/domain_filter.h"
#include "store/domain_store.h"
#include "tools/bench/bench_util.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::bench {
namespace {

// A store of n domains, its server and a client stub.
struct Env {
  TempDir dir;
  store::DomainStore store{{"bench", 100000}};
  std::unique_ptr<agent::AgentServer> server;
  std::unique_ptr<v1::DomainService::Stub> stub;
};

std::map<uint32_t, std::unique_ptr<Env>>* g_envs = nullptr;

Env& EnvWith(uint32_t n) {
  if (!g_envs) g_envs = new std::map<uint32_t, std::unique_ptr<Env>>;
  auto& env = (*g_envs)[n];
  if (!env) {
    env = std::make_unique<Env>();
    Populate(env->store, 1, n);
    agent::ServerOptions options;
    options.listeners.unix_socket = env->dir.path() + "/xenlet.sock";
    auto server = agent::AgentServer::Start(options, {&env->store});
    if (!server.ok()) {
      std::fprintf(stderr, "AgentServer: %s\n",
                   std::string(server.status().message()).c_str());
      std::abort();
    }
    env->server = std::move(*server);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);  // a page of 10000 is ~3 MB
    env->stub = v1::DomainService::NewStub(
        grpc::CreateCustomChannel("unix:" + env->server->unix_socket(),
                                  grpc::InsecureChannelCredentials(), args));
  }
  return *env;
}

// ---- ListDomains ----

// A read mask naming every field of Domain: the same answer as no mask,
// made the per-message way (copy, merge the volatile fields, serialise),
// where no mask sends each domain's kept wire form.
google::protobuf::FieldMask EveryField() {
  google::protobuf::FieldMask mask;
  const auto* descriptor = v1::Domain::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    mask.add_paths(descriptor->field(i)->name());
  }
  return mask;
}

// Every page of one listing; range(1) is the page size; range(3) 1 asks
// with a mask of every field (the per-message baseline).
void BM_ListDomainsRpc(benchmark::State& state) {
  const uint32_t n = state.range(0);
  const int page_size = state.range(1);
  const bool first_page_only = state.range(2);
  const bool masked = state.range(3);
  Env& env = EnvWith(n);
  const uint64_t encodings0 = env.server->listing_encodings();
  std::vector<double> ms;
  int64_t pages = 0, domains = 0, bytes = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string token;
    do {
      v1::ListDomainsRequest request;
      request.set_page_size(page_size);
      request.set_page_token(token);
      if (masked) *request.mutable_read_mask() = EveryField();
      v1::ListDomainsResponse response;
      grpc::ClientContext context;
      grpc::Status s = env.stub->ListDomains(&context, request, &response);
      if (!s.ok()) {
        state.SkipWithError(s.error_message().c_str());
        return;
      }
      ++pages;
      domains += response.domains_size();
      bytes += response.ByteSizeLong();
      token = first_page_only ? "" : response.next_page_token();
    } while (!token.empty());
    ms.push_back(std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - t0)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  state.counters["pages"] = static_cast<double>(pages) / state.iterations();
  state.counters["domains"] = static_cast<double>(domains) / state.iterations();
  state.counters["MB"] = bytes / 1e6 / state.iterations();
  state.counters["p50_ms"] = ms[ms.size() / 2];
  state.counters["p99_ms"] = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  // Wire forms made over the whole run: each domain's once (by the first
  // listing of any benchmark at this size), however many listings.
  state.counters["encodings"] =
      static_cast<double>(env.server->listing_encodings() - encodings0);
}
BENCHMARK(BM_ListDomainsRpc)
    ->ArgNames({"domains", "page_size", "first_page_only", "masked"})
    ->Args({1000, 10000, 0, 0})
    ->Args({1000, 10000, 0, 1})
    ->Args({1000, 1000, 1, 0})
    ->Args({32000, 10000, 0, 0})
    ->Args({32000, 10000, 0, 1})
    ->Args({32000, 1000, 1, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Baseline: what the service does for one page, in-process, no RPC.
void BM_ListInProcess(benchmark::State& state) {
  const uint32_t n = state.range(0);
  const int page_size = state.range(1);
  Env& env = EnvWith(n);
  const store::DomainFilter filter;
  for (auto _ : state) {
    auto snapshot = env.store.snapshot();
    v1::ListDomainsResponse response;
    uint32_t total = 0;
    snapshot->domains.ForEach([&](const store::DomainPtr& d) {
      if (!filter.Matches(*d)) return;
      ++total;
      if (response.domains_size() < page_size) *response.add_domains() = *d;
    });
    response.set_total_size(total);
    benchmark::DoNotOptimize(response);
  }
}
BENCHMARK(BM_ListInProcess)
    ->ArgNames({"domains", "page_size"})
    ->Args({1000, 10000})
    ->Args({1000, 1000})
    ->Args({32000, 10000})
    ->Args({32000, 1000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ---- Events through one WatchDomains stream ----

// Reads a stream on its own thread, counting domain events.
class StreamReader {
 public:
  // request: live events only unless it asks for more.
  explicit StreamReader(v1::DomainService::Stub* stub,
                        const v1::WatchDomainsRequest& request = {}) {
    reader_ = stub->WatchDomains(&context_, request);
    thread_ = std::thread([this] {
      v1::WatchDomainsResponse event;
      while (reader_->Read(&event)) {
        if (event.type() != v1::EVENT_TYPE_MODIFIED) continue;
        absl::MutexLock lock(&mutex_);
        ++received_;
        if (event.coalesced()) ++coalesced_;
      }
    });
  }
  ~StreamReader() {
    context_.TryCancel();
    thread_.join();
    reader_->Finish().IgnoreError();
  }
  // Waits until `count` events have arrived in total; false on timeout.
  bool WaitFor(uint64_t count) {
    absl::MutexLock lock(&mutex_);
    auto done = [&] { return received_ >= count; };
    return mutex_.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(30));
  }
  uint64_t received() {
    absl::MutexLock lock(&mutex_);
    return received_;
  }
  uint64_t coalesced() {
    absl::MutexLock lock(&mutex_);
    return coalesced_;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchDomainsResponse>> reader_;
  absl::Mutex mutex_;
  uint64_t received_ = 0;
  uint64_t coalesced_ = 0;
  std::thread thread_;
};

// Each iteration commits 1000 MODIFIED events (in commits of range(0)
// events; fewer than the stream's queue capacity, so nothing is coalesced)
// and waits until the client has read them all: items/s is events/s end to
// end, commit to client.
void BM_WatchEvents(benchmark::State& state) {
  constexpr int kEvents = 1000;
  const int batch = state.range(0);
  Env& env = EnvWith(1000);
  // The previous run's stream is unregistered asynchronously: wait for it
  // to go, then for this one to be registered, before committing.
  auto wait_streams = [&](size_t n) {
    for (int i = 0; i < 10000 && env.store.subscription_count() != n; ++i) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    return env.store.subscription_count() == n;
  };
  if (!wait_streams(0)) {
    state.SkipWithError("a previous stream is still registered");
    return;
  }
  auto reader = std::make_unique<StreamReader>(env.stub.get());
  if (!wait_streams(1)) {
    state.SkipWithError("the stream was not registered");
    return;
  }
  uint64_t expected = 0;
  uint64_t domid = 0;
  for (auto _ : state) {
    std::vector<std::vector<store::Change>> commits;
    for (int i = 0; i < kEvents; i += batch) {
      std::vector<store::Change> changes;
      for (int j = 0; j < batch; ++j) {
        changes.push_back(
            MakeChange(1 + domid++ % 1000, v1::EVENT_TYPE_MODIFIED));
      }
      commits.push_back(std::move(changes));
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& changes : commits) env.store.Commit(std::move(changes));
    expected += kEvents;
    if (!reader->WaitFor(expected)) {
      state.SkipWithError("events did not arrive within 30 s");
      break;
    }
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
  state.counters["coalesced"] = reader->coalesced();
  reader.reset();
}
BENCHMARK(BM_WatchEvents)
    ->ArgName("events_per_commit")
    ->Arg(1)
    ->Arg(100)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

// ---- One event to many streams: serialised once ----

// Every top-level field of Domain, as a read mask: the whole message.
google::protobuf::FieldMask WholeDomainMask(int repeat_name) {
  google::protobuf::FieldMask mask;
  const auto* descriptor = v1::Domain::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    mask.add_paths(descriptor->field(i)->name());
  }
  for (int i = 0; i < repeat_name; ++i) mask.add_paths("name");
  return mask;
}

// range(0) watchers read every event; each iteration commits 100 MODIFIED
// events (one per commit) and waits until every watcher has them all.
// range(1) = 1: every watcher asks for the same mask, so each event is
// encoded once and its bytes shared by every stream. range(1) = 0, the
// baseline: each watcher's mask is a different spelling of the same one
// (the whole message, "name" repeated), so each stream encodes every event
// itself, as every stream did before. The clients decode in this process
// in both: the difference is the agent's encoding.
void BM_FanOut(benchmark::State& state) {
  constexpr int kEvents = 100;
  const int watchers = state.range(0);
  const bool shared = state.range(1) == 1;
  Env& env = EnvWith(1000);
  for (int i = 0; i < 10000 && env.store.subscription_count() != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(1));  // the previous run's streams
  }
  std::vector<std::unique_ptr<StreamReader>> readers;
  for (int i = 0; i < watchers; ++i) {
    v1::WatchDomainsRequest request;
    *request.mutable_read_mask() = WholeDomainMask(shared ? 0 : i + 1);
    readers.push_back(std::make_unique<StreamReader>(env.stub.get(), request));
  }
  for (int i = 0; i < 10000 && env.store.subscription_count() !=
                                   static_cast<size_t>(watchers);
       ++i) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (env.store.subscription_count() != static_cast<size_t>(watchers)) {
    state.SkipWithError("the streams were not registered");
    return;
  }
  const auto before = env.server->stream_stats();
  uint64_t expected = 0;
  uint64_t domid = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kEvents; ++i) {
      std::vector<store::Change> changes;
      changes.push_back(
          MakeChange(1 + domid++ % 1000, v1::EVENT_TYPE_MODIFIED));
      env.store.Commit(std::move(changes));
    }
    expected += kEvents;
    for (auto& reader : readers) {
      if (!reader->WaitFor(expected)) {
        state.SkipWithError("events did not arrive within 30 s");
        return;
      }
    }
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  const auto after = env.server->stream_stats();
  state.SetItemsProcessed(state.iterations() * kEvents * watchers);
  state.counters["encoded_per_event"] =
      static_cast<double>(after.events_encoded - before.events_encoded) /
      static_cast<double>(state.iterations() * kEvents);
  readers.clear();
}
BENCHMARK(BM_FanOut)
    ->ArgNames({"watchers", "shared"})
    ->Args({1, 1})
    ->Args({1, 0})
    ->Args({10, 1})
    ->Args({10, 0})
    ->Args({100, 1})
    ->Args({100, 0})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

std::vector<Ratio> Ratios() {
  std::vector<Ratio> r;
  for (std::string w : {"1", "10", "100"}) {
    r.push_back(
        {"fan-out to " + w + " watchers, encoded per stream vs serialised once",
         "BM_FanOut/watchers:" + w + "/shared:0/min_time:1.000/manual_time",
         "BM_FanOut/watchers:" + w + "/shared:1/min_time:1.000/manual_time"});
  }
  r.push_back({"fan-out, 100 watchers vs 1 (serialised once)",
               "BM_FanOut/watchers:100/shared:1/min_time:1.000/manual_time",
               "BM_FanOut/watchers:1/shared:1/min_time:1.000/manual_time"});
  for (std::string n : {"1000", "32000"}) {
    r.push_back({"ListDomains per-message copy vs kept wire forms, " + n,
                 "BM_ListDomainsRpc/domains:" + n +
                     "/page_size:10000/first_page_only:0/masked:1/real_time",
                 "BM_ListDomainsRpc/domains:" + n +
                     "/page_size:10000/first_page_only:0/masked:0/real_time"});
    r.push_back(
        {"ListDomains RPC (all pages of 10000) vs in-process, " + n,
         "BM_ListDomainsRpc/domains:" + n +
             "/page_size:10000/first_page_only:0/masked:0/real_time",
         "BM_ListInProcess/domains:" + n + "/page_size:10000/real_time"});
    r.push_back(
        {"ListDomains RPC (one page of 1000) vs in-process, " + n,
         "BM_ListDomainsRpc/domains:" + n +
             "/page_size:1000/first_page_only:1/masked:0/real_time",
         "BM_ListInProcess/domains:" + n + "/page_size:1000/real_time"});
  }
  return r;
}

}  // namespace

// Servers stop before their stores go; the temp dirs are removed.
void TearDownEnvs() {
  if (!g_envs) return;
  for (auto& [n, env] : *g_envs) env->server->Shutdown(absl::ZeroDuration());
  delete g_envs;
  g_envs = nullptr;
}

}  // namespace xenlet::bench

int main(int argc, char** argv) {
  const int rc =
      xenlet::bench::RunBenchmarks(argc, argv, xenlet::bench::Ratios());
  xenlet::bench::TearDownEnvs();
  return rc;
}
