// The xenstored CPU the agent's watches cost during a boot storm, per
// WatchMode (DESIGN §2: every watch costs xenstored work on every write).
// For each mode, on a fresh simulated host (real xenstored): start a
// DomainModel in that mode (or none: the baseline), boot N domains with
// sim::Toolstack, wait until the model holds them all with their keys, then
// destroy them all and wait again; xenstored's utime+stime is read from
// /proc before and after each phase. Modes are interleaved over the
// repetitions so that drift in the machine's load hits all of them.
//
//   bazel run -c opt //tools/bench:watch_cost_bench -- [--domains=200]
//       [--reps=3]
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "sim/sim_host.h"
#include "store/domain_model.h"
#include "tools/bench/bench_util.h"
#include "xen/call_observer.h"

namespace xenlet::bench {
namespace {

class CountingObserver : public xen::CallObserver {
 public:
  void OnXenstoreRequest(xen::XenstoreOp, int) override { ++requests; }
  std::atomic<uint64_t> requests{0};
};

enum Mode { kNone, kSubtree, kPerDomain };
const char* ModeName(int m) {
  return m == kNone ? "none" : m == kSubtree ? "subtree" : "per-domain";
}

struct Result {
  double boot_xs_cpu = 0;     // s
  double destroy_xs_cpu = 0;  // s
  double boot_wall = 0;       // s, until the model had everything
  double self_cpu = 0;        // s, this process (toolstack + agent)
  uint64_t watch_events = 0;
  uint64_t agent_requests = 0;
  uint64_t key_reads = 0;
};

#define CHECK_OK(expr)                                 \
  do {                                                 \
    const absl::Status _s = (expr);                    \
    if (!_s.ok()) {                                    \
      std::fprintf(stderr, "%s: %s\n", #expr,          \
                   std::string(_s.message()).c_str()); \
      std::exit(1);                                    \
    }                                                  \
  } while (0)

// Polls until done() or 60 s; false on timeout.
template <typename Fn>
bool WaitUntil(Fn done) {
  for (int i = 0; i < 6000; ++i) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

// The model has `n` guests (plus dom0), each with its name key read.
bool ModelHas(store::DomainModel& model, int n) {
  auto snap = model.store().snapshot();
  int named = 0, total = 0;
  snap->domains.ForEach([&](const store::DomainPtr& d) {
    if (d->domid() == 0) return;
    ++total;
    if (!d->name().empty()) ++named;
  });
  return total == n && named == n;
}

// Waits until the watcher has had no event for 300 ms: the tail of the
// storm has been handled.
void WaitQuiet(store::DomainModel& model) {
  uint64_t last = model.watcher().stats().watch_events;
  absl::Time quiet_since = absl::Now();
  while (absl::Now() - quiet_since < absl::Milliseconds(300)) {
    absl::SleepFor(absl::Milliseconds(50));
    const uint64_t now = model.watcher().stats().watch_events;
    if (now != last) {
      last = now;
      quiet_since = absl::Now();
    }
  }
}

Result RunOnce(int mode, int domains) {
  Result r;
  auto host = sim::SimHost::Start();
  CHECK_OK(host.status());
  const pid_t xs = (*host)->xenstored()->pid();
  auto ts = (*host)->NewToolstack();
  CHECK_OK(ts.status());
  std::unique_ptr<xen::Hypervisor> hv;
  CountingObserver observer;
  std::unique_ptr<store::DomainModel> model;
  if (mode != kNone) {
    auto opened = (*host)->OpenHypervisor();
    CHECK_OK(opened.status());
    hv = std::move(*opened);
    store::ModelOptions options;
    options.watcher.mode = mode == kSubtree ? store::WatchMode::kSubtree
                                            : store::WatchMode::kPerDomain;
    sim::SimHost* h = host->get();
    model = std::make_unique<store::DomainModel>(
        hv.get(), [h, &observer] { return h->ConnectXenstore(&observer); },
        options);
    CHECK_OK(model->Start());
    WaitQuiet(*model);  // the registration events
  }
  const store::XenstoreWatcherStats w0 =
      model ? model->watcher().stats() : store::XenstoreWatcherStats{};
  const uint64_t req0 = observer.requests;

  // Boot storm.
  double cpu0 = ProcessCpuSeconds(xs);
  const double self0 = SelfCpuSeconds();
  const absl::Time t0 = absl::Now();
  std::vector<xen::Domid> domids;
  for (int i = 0; i < domains; ++i) {
    auto d = (*ts)->CreateDomain({});
    CHECK_OK(d.status());
    domids.push_back(d->domid);
  }
  if (model) {
    if (!WaitUntil([&] { return ModelHas(*model, domains); })) {
      std::fprintf(stderr, "the model did not catch up with the boot\n");
      std::exit(1);
    }
    WaitQuiet(*model);
  }
  r.boot_wall = absl::ToDoubleSeconds(absl::Now() - t0);
  double cpu1 = ProcessCpuSeconds(xs);
  r.boot_xs_cpu = cpu1 - cpu0;

  // Teardown.
  for (xen::Domid d : domids) CHECK_OK((*ts)->DestroyDomain(d));
  if (model) {
    if (!WaitUntil([&] { return ModelHas(*model, 0); })) {
      std::fprintf(stderr, "the model did not catch up with the teardown\n");
      std::exit(1);
    }
    WaitQuiet(*model);
  }
  r.destroy_xs_cpu = ProcessCpuSeconds(xs) - cpu1;
  r.self_cpu = SelfCpuSeconds() - self0;
  if (model) {
    const store::XenstoreWatcherStats w = model->watcher().stats();
    r.watch_events = w.watch_events - w0.watch_events;
    r.key_reads = w.key_reads - w0.key_reads;
    r.agent_requests = observer.requests - req0;
    model->Stop();
  }
  model.reset();
  hv.reset();
  ts->reset();
  return r;  // the host (xenstored) goes here
}

int Main(int argc, char** argv) {
  int domains = 200, reps = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::sscanf(argv[i], "--domains=%d", &domains) == 1) continue;
    if (std::sscanf(argv[i], "--reps=%d", &reps) == 1) continue;
    std::fprintf(stderr, "usage: %s [--domains=N] [--reps=R]\n", argv[0]);
    return 2;
  }
  std::printf("watch_cost_bench: %d domains booted then destroyed, %d reps\n",
              domains, reps);
  std::printf("%-4s %-11s %12s %14s %10s %10s %12s %10s %9s\n", "rep", "mode",
              "boot_xs_cpu", "destroy_xs_cpu", "boot_wall", "proc_cpu",
              "watch_evts", "agent_reqs", "key_reads");
  std::map<int, std::vector<Result>> all;
  for (int rep = 0; rep < reps; ++rep) {
    for (int mode : {kNone, kSubtree, kPerDomain}) {
      Result r = RunOnce(mode, domains);
      all[mode].push_back(r);
      std::printf(
          "%-4d %-11s %12.3f %14.3f %10.2f %10.2f %12llu %10llu %9llu\n", rep,
          ModeName(mode), r.boot_xs_cpu, r.destroy_xs_cpu, r.boot_wall,
          r.self_cpu, static_cast<unsigned long long>(r.watch_events),
          static_cast<unsigned long long>(r.agent_requests),
          static_cast<unsigned long long>(r.key_reads));
      std::fflush(stdout);
    }
  }
  // Means, and the extra over the no-agent baseline.
  auto mean = [&](int mode, double Result::*f) {
    double sum = 0;
    for (const Result& r : all[mode]) sum += r.*f;
    return sum / all[mode].size();
  };
  const double base_boot = mean(kNone, &Result::boot_xs_cpu);
  const double base_destroy = mean(kNone, &Result::destroy_xs_cpu);
  std::printf(
      "\nMeans over %d reps (xenstored CPU seconds; extra = over no agent):\n",
      reps);
  std::printf("%-11s %12s %12s %14s %14s %12s\n", "mode", "boot_xs_cpu",
              "boot_extra", "destroy_xs_cpu", "destroy_extra", "total_extra");
  for (int mode : {kNone, kSubtree, kPerDomain}) {
    const double b = mean(mode, &Result::boot_xs_cpu);
    const double d = mean(mode, &Result::destroy_xs_cpu);
    std::printf("%-11s %12.3f %12.3f %14.3f %14.3f %12.3f\n", ModeName(mode), b,
                b - base_boot, d, d - base_destroy,
                b - base_boot + d - base_destroy);
  }
  const double sub = mean(kSubtree, &Result::boot_xs_cpu) +
                     mean(kSubtree, &Result::destroy_xs_cpu) - base_boot -
                     base_destroy;
  const double per = mean(kPerDomain, &Result::boot_xs_cpu) +
                     mean(kPerDomain, &Result::destroy_xs_cpu) - base_boot -
                     base_destroy;
  std::printf("\nextra xenstored CPU, per-domain / subtree = %.3g\n",
              sub > 0 ? per / sub : 0.0);
  return 0;
}

}  // namespace
}  // namespace xenlet::bench

int main(int argc, char** argv) { return xenlet::bench::Main(argc, argv); }
