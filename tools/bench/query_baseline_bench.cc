// "List every domain with its data", answered every way a toolstack or
// agent has answered it, on one simulated host (the real xenstored, domains
// created by sim::Toolstack with libxl's keys, ~50 each), side by side at
// several domain counts in one run:
//   xenlet_rpc      ListDomains over gRPC from the agent's model, in-process;
//   xenletctl       `xenletctl list --all` as a process (connect, list, print);
//   xl_list         Debian's real `xl list` (libxl 4.17) as a process;
//   xend_txn_query  the patched xend: one transaction per query;
//   xend_txn_key    xend's first way: a transaction per key.
// Per way and count: wall time per query; xenstore requests and
// transactions per query, counted in xenstored's own trace (one traced
// query, outside the timed loop); xenstored's CPU per query (trace off).
//
// xenstored's trace grows by a line per introduced domain on every pass of
// its main loop (wrl_check_timeout logs each domain's write credit), so a
// query of R requests on N domains writes ~R*N lines: 12 GB for one
// transaction-per-query listing at 1000 domains. The xend ways, which the
// bench makes on its own connection, are therefore traced only up to
// --trace-max-domains, where the trace and the client-side count must
// agree; above it their counts are the client side's.
//
//   bazel run -c opt //tools/bench:query_baseline_bench -- \
//       --domains=100,1000,3000 [--trace-max-domains=100]
//       [--txn-query-max-domains=1000]
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "agent/server.h"
#include "sim/sim_host.h"
#include "store/domain_model.h"
#include "tests/testing/subprocess.h"
#include "tools/bench/bench_util.h"
#include "tools/cpp/runfiles/runfiles.h"
#include "xen/call_observer.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::bench {
namespace {

// Debian's xl, from xen-utils-4.17.
constexpr char kXl[] = "/usr/lib/xen-4.17/bin/xl";

class CountingObserver : public xen::CallObserver {
 public:
  void OnXenstoreRequest(xen::XenstoreOp op, int) override {
    ++requests;
    if (op == xen::XenstoreOp::kTransactionStart) ++transactions;
  }
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> transactions{0};
};

int g_trace_max_domains = 100;
// One transaction over every key costs C xenstored time quadratic in the
// keys it has read (228 s per query at 1000 domains, 48003 requests), so
// that way stops here by default.
int g_txn_query_max_domains = 1000;

// The host with its domains, the agent on it (model + server), and a
// xenstore connection for the xend baselines.
struct Env {
  int domains = 0;
  TempDir dir;
  std::unique_ptr<sim::SimHost> host;
  std::vector<std::vector<std::string>> keys;  // per domain, absolute paths
  std::unique_ptr<xen::Hypervisor> hypervisor;
  CountingObserver agent_xs;  // the agent's own xenstore requests
  std::unique_ptr<store::DomainModel> model;
  std::unique_ptr<agent::AgentServer> server;
  std::unique_ptr<v1::DomainService::Stub> stub;
  CountingObserver client_xs;  // the xend ways' requests
  std::unique_ptr<xen::XenstoreClient> xs;
};

std::string g_xenletctl;  // its path, from the runfiles
Env* g_env = nullptr;

void TearDownEnv() {
  if (!g_env) return;
  g_env->server->Shutdown(absl::ZeroDuration());
  g_env->server.reset();
  g_env->model->Stop();
  g_env->model.reset();
  g_env->xs.reset();
  g_env->hypervisor.reset();
  g_env->host.reset();  // stops xenstored
  delete g_env;
  g_env = nullptr;
}

// The host for `domains` domains; the previous one is stopped first (the
// benchmarks are registered count by count, so each host is built once).
Env& EnvFor(int domains) {
  if (g_env && g_env->domains == domains) return *g_env;
  TearDownEnv();
  auto* e = new Env;
  e->domains = domains;
  std::fprintf(stderr, "creating %d domains through xenstored...\n", domains);
  auto host = sim::SimHost::Start({.trace = true, .simulated_guests = false});
  if (!host.ok()) Die("SimHost", host.status());
  e->host = std::move(*host);
  // Only the queries are traced.
  if (auto s = e->host->SetTrace(false); !s.ok()) Die("SetTrace", s);
  auto ts = e->host->NewToolstack();
  if (!ts.ok()) Die("Toolstack", ts.status());
  for (int i = 0; i < domains; ++i) {
    sim::DomainSpec spec;
    auto d = (*ts)->CreateDomain(spec);
    if (!d.ok()) Die("CreateDomain", d.status());
    std::vector<std::string> paths;
    for (const auto& [path, value] :
         sim::Toolstack::DomainKeys(d->domid, d->uuid, d->name, spec)) {
      paths.push_back(path);
    }
    e->keys.push_back(std::move(paths));  // created running, as xl create
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
  // Until the model holds every domain with its name (a setup wait, not a
  // measurement).
  for (int i = 0;; ++i) {
    auto snap = e->model->store().snapshot();
    int named = 0;
    snap->domains.ForEach([&](const store::DomainPtr& d) {
      if (d->domid() != 0 && !d->name().empty()) ++named;
    });
    if (named == domains) break;
    if (i == 6000) Die("model", absl::DeadlineExceededError("not converged"));
    absl::SleepFor(absl::Milliseconds(10));
  }
  agent::ServerOptions options;
  options.listeners.unix_socket = e->dir.path() + "/xenlet.sock";
  auto server = agent::AgentServer::Start(options, {&e->model->store()});
  if (!server.ok()) Die("AgentServer", server.status());
  e->server = std::move(*server);
  e->stub = v1::DomainService::NewStub(grpc::CreateChannel(
      "unix:" + e->server->unix_socket(), grpc::InsecureChannelCredentials()));
  auto xs = e->host->ConnectXenstore(&e->client_xs);
  if (!xs.ok()) Die("ConnectXenstore", xs.status());
  e->xs = std::move(*xs);
  g_env = e;
  return *e;
}

// One query; the number of domains it listed (dom0 included where the way
// lists it).
using Query = std::function<absl::StatusOr<size_t>(Env&)>;

absl::StatusOr<size_t> XenletRpc(Env& env) {
  v1::ListDomainsRequest request;
  request.set_page_size(10000);
  size_t listed = 0;
  while (true) {
    v1::ListDomainsResponse response;
    grpc::ClientContext context;
    grpc::Status s = env.stub->ListDomains(&context, request, &response);
    if (!s.ok()) return absl::InternalError(s.error_message());
    listed += response.domains_size();
    if (response.next_page_token().empty()) return listed;
    request.set_page_token(response.next_page_token());
  }
}

// A listing process's table: one line per domain after the header.
absl::StatusOr<size_t> CountTableRows(const testing::ProcessResult& r,
                                      const std::string& what) {
  if (r.code != 0) {
    return absl::InternalError(
        absl::StrCat(what, " exited ", r.code, ": ", r.out.substr(0, 300)));
  }
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  return lines.empty() ? 0 : lines.size() - 1;
}

absl::StatusOr<size_t> Xenletctl(Env& env) {
  return CountTableRows(
      testing::RunProcess({g_xenletctl, "--socket", env.server->unix_socket(),
                           "list", "--all"}),
      "xenletctl list --all");
}

absl::StatusOr<size_t> XlList(Env& env) {
  return CountTableRows(
      testing::RunProcess({kXl, "list"}, env.host->PreloadEnv()), "xl list");
}

absl::Status ReadKey(xen::XenstoreTransaction& t, const std::string& key) {
  auto v = t.Read(key);
  return v.ok() || absl::IsNotFound(v.status()) ? absl::OkStatus() : v.status();
}

absl::StatusOr<size_t> XendTransactionPerKey(Env& env) {
  auto list = env.xs->Directory("/local/domain");
  if (!list.ok()) return list.status();
  for (const auto& keys : env.keys) {
    for (const std::string& key : keys) {
      absl::Status s = xen::RunTransaction(
          *env.xs,
          [&](xen::XenstoreTransaction& t) { return ReadKey(t, key); });
      if (!s.ok()) return s;
    }
  }
  return env.keys.size();
}

absl::StatusOr<size_t> XendTransactionPerQuery(Env& env) {
  absl::Status s =
      xen::RunTransaction(*env.xs, [&](xen::XenstoreTransaction& t) {
        auto list = t.Directory("/local/domain");
        if (!list.ok()) return list.status();
        for (const auto& keys : env.keys) {
          for (const std::string& key : keys) {
            if (absl::Status r = ReadKey(t, key); !r.ok()) return r;
          }
        }
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return env.keys.size();
}

struct Way {
  const char* name;
  Query query;
  // Made on the bench's own xenstore connection, so counted there too.
  bool on_bench_connection = false;
};

const std::vector<Way>& Ways() {
  static const auto* ways = new std::vector<Way>{
      {"xenlet_rpc", XenletRpc},
      {"xenletctl", Xenletctl},
      {"xl_list", XlList},
      {"xend_txn_query", XendTransactionPerQuery, true},
      {"xend_txn_key", XendTransactionPerKey, true},
  };
  return *ways;
}

// What xenstored saw of one query: its requests and transactions.
struct Traced {
  int64_t requests = 0;
  int64_t transactions = 0;
  const char* counted_by = "trace";
};

// The requests in xenstored's trace ("IN conn date time OP (args)"), the
// CONTROL ones that switch it left out; read as a stream (it can be big).
absl::StatusOr<Traced> CountTrace(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("no trace at " + path);
  Traced t;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("IN ", 0) != 0) continue;
    std::vector<absl::string_view> f =
        absl::StrSplit(line, absl::MaxSplits(' ', 5));
    if (f.size() < 5 || f[4] == "CONTROL") continue;
    ++t.requests;
    if (f[4] == "TRANSACTION_START") ++t.transactions;
  }
  return t;
}

bool Traces(const Env& env, const Way& way) {
  return !way.on_bench_connection || env.domains <= g_trace_max_domains;
}

// One query with the trace on, outside the timed loop.
absl::StatusOr<Traced> TraceOneQuery(Env& env, const Way& way) {
  const std::string path = env.host->trace_path();
  // Empty it first: xenstored appends (O_APPEND), from 0 on.
  std::filesystem::resize_file(path, 0);
  if (auto s = env.host->SetTrace(true); !s.ok()) return s;
  const uint64_t requests0 = env.client_xs.requests;
  const uint64_t transactions0 = env.client_xs.transactions;
  auto n = way.query(env);
  absl::Status off = env.host->SetTrace(false);
  if (!n.ok()) return n.status();
  if (!off.ok()) return off;
  // xenstored writes each line whole, the CONTROL's before it stops.
  auto traced = CountTrace(path);
  std::filesystem::resize_file(path, 0);
  if (!traced.ok()) return traced.status();
  const int64_t requests = env.client_xs.requests - requests0;
  const int64_t transactions = env.client_xs.transactions - transactions0;
  if (way.on_bench_connection &&
      (traced->requests != requests || traced->transactions != transactions)) {
    return absl::InternalError(absl::StrCat(
        way.name, ": the trace has ", traced->requests, " requests and ",
        traced->transactions, " transactions, the client counted ", requests,
        " and ", transactions));
  }
  return traced;
}

// The table printed at the end, one row per (count, way).
struct Row {
  double ms_per_query = 0;
  double xenstored_cpu_ms = 0;
  Traced traced;
  size_t listed = 0;
};
std::map<std::pair<int, std::string>, Row> g_rows;

void RunQueries(benchmark::State& state, int domains, const Way& way) {
  Env& env = EnvFor(domains);
  Traced counted;
  const bool traces = Traces(env, way);
  if (traces) {
    auto traced = TraceOneQuery(env, way);
    if (!traced.ok()) {
      state.SkipWithError(std::string(traced.status().message()).c_str());
      return;
    }
    counted = *traced;
  }
  const pid_t xenstored = env.host->xenstored()->pid();
  const double cpu0 = ProcessCpuSeconds(xenstored);
  const uint64_t agent0 = env.agent_xs.requests;
  const uint64_t requests0 = env.client_xs.requests;
  const uint64_t transactions0 = env.client_xs.transactions;
  const absl::Time t0 = absl::Now();
  size_t listed = 0;
  for (auto _ : state) {
    auto n = way.query(env);
    if (!n.ok()) {
      state.SkipWithError(std::string(n.status().message()).c_str());
      return;
    }
    listed = *n;
  }
  const double it = state.iterations();
  const double wall_ms = absl::ToDoubleMilliseconds(absl::Now() - t0) / it;
  const double cpu_ms = (ProcessCpuSeconds(xenstored) - cpu0) * 1e3 / it;
  if (!traces) {
    // Counted on the bench's own connection over the timed queries.
    counted = {
        static_cast<int64_t>((env.client_xs.requests - requests0) / it),
        static_cast<int64_t>((env.client_xs.transactions - transactions0) / it),
        "client"};
  }
  state.counters["listed"] = listed;
  state.counters["xs_requests"] = counted.requests;
  state.counters["xs_transactions"] = counted.transactions;
  state.counters["xenstored_cpu_ms"] = cpu_ms;
  // The agent's own xenstore traffic meanwhile: its watcher, on a host
  // where nothing changes (queries make none).
  state.counters["agent_xs_requests"] = env.agent_xs.requests - agent0;
  g_rows[{domains, way.name}] = Row{wall_ms, cpu_ms, counted, listed};
}

std::string BenchName(const std::string& way, int domains) {
  return absl::StrCat("BM_Query/", way, "/domains:", domains);
}

// Google Benchmark's full name of a registered run.
std::string FullName(const std::string& way, int domains) {
  return BenchName(way, domains) + "/min_time:0.500/real_time";
}

void PrintTable(const std::vector<int>& counts) {
  std::printf(
      "\nPer query (xenstore requests and transactions from xenstored's "
      "trace):\n\n"
      "| domains | way | time per query | xenstore requests | transactions "
      "| counted by | xenstored CPU | time vs xenlet_rpc | xenstored CPU vs "
      "xl list |\n"
      "|---:|---|---:|---:|---:|---|---:|---:|---:|\n");
  for (int n : counts) {
    auto base = g_rows.find({n, "xenlet_rpc"});
    auto xl = g_rows.find({n, "xl_list"});
    for (const Way& way : Ways()) {
      auto it = g_rows.find({n, way.name});
      if (it == g_rows.end()) continue;
      const Row& r = it->second;
      std::string vs = "-", cpu_vs = "-";
      if (base != g_rows.end() && base->second.ms_per_query > 0) {
        vs = absl::StrFormat("%.4gx",
                             r.ms_per_query / base->second.ms_per_query);
      }
      if (xl != g_rows.end()) {
        cpu_vs = r.xenstored_cpu_ms > 0
                     ? absl::StrFormat("%.3gx", r.xenstored_cpu_ms /
                                                    xl->second.xenstored_cpu_ms)
                     : "0";
      }
      std::printf(
          "| %d | %s | %.4g ms | %lld | %lld | %s | %.4g ms | %s | %s |\n", n,
          way.name, r.ms_per_query, static_cast<long long>(r.traced.requests),
          static_cast<long long>(r.traced.transactions), r.traced.counted_by,
          r.xenstored_cpu_ms, vs.c_str(), cpu_vs.c_str());
    }
  }
  std::fflush(stdout);
}

absl::StatusOr<std::string> FindXenletctl(const char* argv0) {
  std::string error;
  std::unique_ptr<bazel::tools::cpp::runfiles::Runfiles> runfiles(
      bazel::tools::cpp::runfiles::Runfiles::Create(argv0, &error));
  if (!runfiles) return absl::NotFoundError("runfiles: " + error);
  std::string path = runfiles->Rlocation("xenlet/tools/xenletctl/xenletctl");
  if (access(path.c_str(), X_OK) != 0) {
    return absl::NotFoundError("no xenletctl in the runfiles: " + path);
  }
  return path;
}

// --domains=100,1000,3000, --trace-max-domains=N and
// --txn-query-max-domains=N out of argv (the rest is Google Benchmark's).
absl::StatusOr<std::vector<int>> TakeDomainCounts(int* argc, char** argv) {
  std::vector<int> counts = {100, 1000, 3000};
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--txn-query-max-domains=", 0) == 0) {
      if (!absl::SimpleAtoi(arg.substr(24), &g_txn_query_max_domains)) {
        return absl::InvalidArgumentError(
            "--txn-query-max-domains: not a number");
      }
      continue;
    }
    if (arg.rfind("--trace-max-domains=", 0) == 0) {
      if (!absl::SimpleAtoi(arg.substr(20), &g_trace_max_domains)) {
        return absl::InvalidArgumentError("--trace-max-domains: not a number");
      }
      continue;
    }
    if (arg.rfind("--domains=", 0) != 0) {
      argv[out++] = argv[i];
      continue;
    }
    counts.clear();
    for (absl::string_view n :
         absl::StrSplit(arg.substr(10), ',', absl::SkipEmpty())) {
      int v;
      if (!absl::SimpleAtoi(n, &v) || v < 1 || v > 30000) {
        return absl::InvalidArgumentError(
            absl::StrCat("--domains: '", n, "' is not a count in 1..30000"));
      }
      counts.push_back(v);
    }
  }
  *argc = out;
  if (counts.empty()) return absl::InvalidArgumentError("--domains: empty");
  return counts;
}

}  // namespace

int Main(int argc, char** argv) {
  auto counts = TakeDomainCounts(&argc, argv);
  if (!counts.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(counts.status().message()).c_str());
    return 2;
  }
  auto xenletctl = FindXenletctl(argv[0]);
  if (!xenletctl.ok()) Die("xenletctl", xenletctl.status());
  g_xenletctl = *xenletctl;
  if (access(kXl, X_OK) != 0) {
    Die("xl", absl::NotFoundError(absl::StrCat(
                  kXl, " is missing (xen-utils-4.17: tools/setup.sh)")));
  }
  sim::EnsureXlRuntimeDir();
  std::vector<Ratio> ratios;
  for (int n : *counts) {
    for (const Way& way : Ways()) {
      if (std::string(way.name) == "xend_txn_query" &&
          n > g_txn_query_max_domains) {
        std::fprintf(stderr,
                     "xend_txn_query at %d domains: not run (over "
                     "--txn-query-max-domains=%d)\n",
                     n, g_txn_query_max_domains);
        continue;
      }
      benchmark::RegisterBenchmark(
          BenchName(way.name, n).c_str(),
          [n, &way](benchmark::State& s) { RunQueries(s, n, way); })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(0.5);
    }
    for (const char* way :
         {"xenletctl", "xl_list", "xend_txn_query", "xend_txn_key"}) {
      ratios.push_back({absl::StrCat(way, " vs xenlet_rpc, ", n),
                        FullName(way, n), FullName("xenlet_rpc", n)});
    }
    ratios.push_back({absl::StrCat("xl_list vs xenletctl, ", n),
                      FullName("xl_list", n), FullName("xenletctl", n)});
  }
  const int rc = RunBenchmarks(argc, argv, ratios);
  PrintTable(*counts);
  TearDownEnv();
  return rc;
}

}  // namespace xenlet::bench

int main(int argc, char** argv) { return xenlet::bench::Main(argc, argv); }
