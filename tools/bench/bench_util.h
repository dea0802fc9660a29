// Shared pieces of the tools/bench binaries: a reporter that prints, at the
// end of a run, ratios between benchmarks of that same run; realistic
// Domain messages; process CPU time; a short temp dir for unix sockets.
#ifndef XENLET_TOOLS_BENCH_BENCH_UTIL_H_
#define XENLET_TOOLS_BENCH_BENCH_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/process_cpu.h"
#include "store/domain_store.h"
#include "tests/testing/temp_dir.h"
#include "xenlet/v1/domain.pb.h"

namespace xenlet::bench {

using ::xenlet::testing::TempDir;

// "name: a / b = x" is printed after the run, a and b being the mean real
// time per iteration of two benchmarks (full names, e.g. "BM_Commit/1000").
// Ratios whose benchmarks did not run (filtered out) are skipped.
struct Ratio {
  std::string what;
  std::string numerator;
  std::string denominator;
};

// benchmark::Initialize, run, print the ratios; the exit code.
int RunBenchmarks(int argc, char** argv, const std::vector<Ratio>& ratios);

// A Domain as the reconciler builds it for a running PV guest: ~20 fields,
// three xenstore keys, timestamps. About 300 bytes on the wire.
std::unique_ptr<v1::Domain> MakeDomain(uint32_t domid);
std::string UuidFor(uint32_t domid);

// A MODIFIED (or ADDED) change carrying MakeDomain(domid).
store::Change MakeChange(uint32_t domid, v1::EventType type);

// Commits ADDED changes for domids first..first+count-1, 1000 per commit.
void Populate(store::DomainStore& store, uint32_t first, uint32_t count);

// This process (getrusage).
double SelfCpuSeconds();

// A benchmark's setup failed: says what, then aborts.
[[noreturn]] void Die(const char* what, const absl::Status& status);

}  // namespace xenlet::bench

#endif  // XENLET_TOOLS_BENCH_BENCH_UTIL_H_
