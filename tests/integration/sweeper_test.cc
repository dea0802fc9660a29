// The sweeper on a simulated hypervisor: one getdomaininfolist hypercall
// per sweep at any domain count, and requests made while a sweep runs
// coalesce into a single further sweep.
#include "store/sweeper.h"

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"

namespace xenlet::store {
namespace {

TEST(SweeperTest, OneHypercallPerSweepOverTheWholeRange) {
  sim::SimHostOptions options;
  options.start_xenstored = false;
  auto host = sim::SimHost::Start(options);
  ASSERT_TRUE(host.ok()) << host.status();
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE((*host)->state().CreateDomain({}).ok());
  }
  auto hypervisor = (*host)->OpenHypervisor();
  ASSERT_TRUE(hypervisor.ok());
  size_t seen = 0;
  Sweeper sweeper(hypervisor->get(), absl::Hours(1),
                  [&](const SweepResult& r) { seen = r.domains->size(); });
  (*host)->state().ResetCounts();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(sweeper.SweepNow(SweepCause::kTimer).ok());
  }
  EXPECT_EQ(seen, 2001u);
  EXPECT_EQ(
      (*host)->state().Counts().Get(xen::HypercallKind::kGetDomainInfoList),
      5u);
}

TEST(SweeperTest, RequestsDuringASweepCoalesceIntoOne) {
  sim::SimHostOptions options;
  options.start_xenstored = false;
  auto host = sim::SimHost::Start(options);
  ASSERT_TRUE(host.ok()) << host.status();
  auto hypervisor = (*host)->OpenHypervisor();
  ASSERT_TRUE(hypervisor.ok());

  // The sink holds each sweep until the test lets it go.
  absl::Mutex mutex;
  int sweeps = 0;
  int released = 0;
  std::vector<SweepCause> causes;
  Sweeper sweeper(hypervisor->get(), absl::Hours(1), [&](const SweepResult& r) {
    absl::MutexLock lock(&mutex);
    ++sweeps;
    causes.push_back(r.cause);
    auto go = [&] { return released >= sweeps; };
    mutex.Await(absl::Condition(&go));
  });
  sweeper.Start();
  sweeper.Trigger(SweepCause::kWatch);
  auto running = [&] { return sweeps == 1; };
  {
    absl::MutexLock lock(&mutex);
    mutex.Await(absl::Condition(&running));
  }
  // A storm of announcements while the first sweep is running...
  for (int i = 0; i < 100; ++i) sweeper.Trigger(SweepCause::kWatch);
  EXPECT_TRUE(sweeper.pending());
  {
    absl::MutexLock lock(&mutex);
    released = 1;
    auto second = [&] { return sweeps == 2; };
    mutex.Await(absl::Condition(&second));
  }
  // ... made exactly one more sweep, with nothing left pending.
  EXPECT_FALSE(sweeper.pending());
  {
    absl::MutexLock lock(&mutex);
    released = 2;
  }
  sweeper.Stop();
  EXPECT_EQ(sweeps, 2);
  EXPECT_EQ(causes,
            (std::vector<SweepCause>{SweepCause::kWatch, SweepCause::kWatch}));
}

}  // namespace
}  // namespace xenlet::store
