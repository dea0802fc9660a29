#include "tools/bench/bench_util.h"

#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>

#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"

namespace xenlet::bench {
namespace {

// The console output as usual, plus the mean real time of every plain run
// (per benchmark name) for the ratios printed at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal (the console reporter made here does not
  // see --benchmark_color).
  explicit RatioReporter(std::vector<Ratio> ratios)
      : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular),
        ratios_(std::move(ratios)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      const double ns = run.GetAdjustedRealTime() * 1e9 /
                        benchmark::GetTimeUnitMultiplier(run.time_unit);
      Mean& m = means_[run.benchmark_name()];
      m.sum += ns;
      ++m.n;
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::FILE* out = stdout;
    bool header = false;
    for (const Ratio& r : ratios_) {
      auto a = means_.find(r.numerator);
      auto b = means_.find(r.denominator);
      if (a == means_.end() || b == means_.end()) continue;
      if (!header) {
        std::fprintf(out,
                     "\nRatios (mean real time per iteration, this run):\n");
        header = true;
      }
      const double na = a->second.sum / a->second.n;
      const double nb = b->second.sum / b->second.n;
      std::fprintf(out, "  %-44s %s / %s = %.4g  (%.4g ns / %.4g ns)\n",
                   r.what.c_str(), r.numerator.c_str(), r.denominator.c_str(),
                   na / nb, na, nb);
    }
    std::fflush(out);
  }

 private:
  struct Mean {
    double sum = 0;
    int n = 0;
  };
  std::vector<Ratio> ratios_;
  std::map<std::string, Mean> means_;
};

}  // namespace

int RunBenchmarks(int argc, char** argv, const std::vector<Ratio>& ratios) {
  // As the agent runs (agent/main.cc): no deadlock detection.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(ratios);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

std::string UuidFor(uint32_t domid) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "5f0c1e2d-0000-4000-8000-%012x", domid);
  return buf;
}

std::unique_ptr<v1::Domain> MakeDomain(uint32_t domid) {
  using google::protobuf::util::TimeUtil;
  auto d = std::make_unique<v1::Domain>();
  d->set_domid(domid);
  d->set_uuid(UuidFor(domid));
  d->set_incarnation(1);
  d->set_name("vm-" + std::to_string(domid));
  d->set_state(v1::DOMAIN_STATE_RUNNING);
  d->mutable_flags()->set_running(true);
  d->mutable_flags()->set_hap(true);
  d->set_vcpus_online(2);
  d->set_vcpus_max(2);
  d->set_cpu_time_ns(123456789ull * domid);
  v1::DomainMemory* m = d->mutable_memory();
  m->set_current_bytes(256ull << 20);
  m->set_max_bytes(256ull << 20);
  m->set_target_bytes(256ull << 20);
  (*d->mutable_xenstore())["name"] = d->name();
  (*d->mutable_xenstore())["memory/target"] = "262144";
  (*d->mutable_xenstore())["control/shutdown"] = "";
  const int64_t now = absl::ToUnixNanos(absl::Now());
  *d->mutable_created_time() = TimeUtil::NanosecondsToTimestamp(now);
  *d->mutable_updated_time() = TimeUtil::NanosecondsToTimestamp(now);
  return d;
}

store::Change MakeChange(uint32_t domid, v1::EventType type) {
  store::Change c;
  c.type = type;
  c.transition = type == v1::EVENT_TYPE_ADDED ? v1::TRANSITION_EXISTING
                                              : v1::TRANSITION_UPDATED;
  c.domid = domid;
  c.domain = MakeDomain(domid);
  c.detected = absl::Now();
  return c;
}

void Populate(store::DomainStore& store, uint32_t first, uint32_t count) {
  std::vector<store::Change> changes;
  for (uint32_t d = first; d < first + count; ++d) {
    changes.push_back(MakeChange(d, v1::EVENT_TYPE_ADDED));
    if (changes.size() == 1000) store.Commit(std::exchange(changes, {}));
  }
  if (!changes.empty()) store.Commit(std::move(changes));
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec * 1e-6;
}

void Die(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  std::abort();
}

}  // namespace xenlet::bench
