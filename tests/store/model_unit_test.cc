// The model's own logic (sweeper, xenstore watcher, reconciler, store) on
// an in-memory host: xen/testing's MemoryHypervisor and MemoryXenstore stand
// in for Xen and xenstored, so each test runs in milliseconds and can
// arrange faults the real parts cannot be made to show on demand (a
// getdomaininfolist failing with ENOMEM, xenstored dying between two
// requests). tests/integration/model_test.cc runs the same model against
// Debian's real xenstored and the simulated hypervisor under libxenctrl.
#include <cerrno>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "store/domain_model.h"
#include "store/reconciler.h"
#include "store/sweeper.h"
#include "tests/testing/status_macros.h"
#include "tests/testing/store_events.h"
#include "xen/testing/faulty_hypervisor.h"
#include "xen/testing/memory_hypervisor.h"
#include "xen/testing/memory_xenstore.h"

namespace xenlet::store {
namespace {

using xen::testing::FaultyHypervisor;
using xen::testing::MemoryHypervisor;
using xen::testing::MemoryXenstore;
using xenlet::testing::HasTransition;
using xenlet::testing::StoreEvents;

class ModelUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto toolstack = xenstore_.Connect();
    ASSERT_TRUE(toolstack.ok());
    toolstack_ = std::move(*toolstack);
    ModelOptions options;
    // No timer sweep within a test: sweeps come from xenstore's news and
    // from the test, so that what each test sees follows from its steps.
    options.sweep_interval = absl::Hours(1);
    options.watcher.reconnect_initial = absl::Milliseconds(1);
    options.watcher.reconnect_max = absl::Milliseconds(20);
    model_ = std::make_unique<DomainModel>(
        &hypervisor_, [this] { return xenstore_.Connect(); }, options);
    events_ = std::make_unique<StoreEvents>(&model_->store());
  }

  void TearDown() override {
    model_->Stop();
    events_.reset();
    model_.reset();
  }

  // What a toolstack does to create domain `domid` (the part the model
  // sees): the hypervisor's domain, its keys, the introduction.
  void CreateDomain(xen::Domid domid, const std::string& name) {
    xen::DomainInfo info = MemoryHypervisor::Created(domid, domid);
    memory_.Create(info);
    const std::string base = xen::DomainPath(domid);
    ASSERT_OK(toolstack_->Write(base + "/vm", "/vm/" + info.Uuid()));
    ASSERT_OK(toolstack_->Write(base + "/name", name));
    ASSERT_OK(toolstack_->IntroduceDomain(domid, 0x1000 + domid, 1));
  }

  bool WaitFor(uint32_t domid, v1::Transition transition) {
    return events_->WaitUntil([&](const auto& events) {
      return HasTransition(events, domid, transition);
    });
  }

  std::shared_ptr<const v1::Domain> Current(uint32_t domid) {
    auto snapshot = model_->store().snapshot();
    const DomainPtr& d = snapshot->domains.Get(domid);
    if (!d) return nullptr;
    return std::make_shared<v1::Domain>(FreshDomain(*snapshot, *d));
  }

  MemoryHypervisor memory_;
  FaultyHypervisor hypervisor_{&memory_};
  MemoryXenstore xenstore_;
  std::unique_ptr<xen::XenstoreClient> toolstack_;
  std::unique_ptr<DomainModel> model_;
  std::unique_ptr<StoreEvents> events_;
};

TEST_F(ModelUnitTest, ALifecycleReachesTheModel) {
  ASSERT_OK(model_->Start());
  CreateDomain(5, "web");
  ASSERT_TRUE(WaitFor(5, v1::TRANSITION_CREATED));
  ASSERT_TRUE(events_->WaitUntil(
      [&](const auto&) { return Current(5) && Current(5)->name() == "web"; }));
  EXPECT_EQ(Current(5)->state(), v1::DOMAIN_STATE_CREATED);

  // An unpause makes no xenstore event on Xen: the next sweep finds it.
  ASSERT_OK(memory_.UnpauseDomain(5));
  memory_.Update(5, [](xen::DomainInfo& d) { d.nr_online_vcpus = 1; });
  model_->sweeper().Trigger(SweepCause::kTimer);
  ASSERT_TRUE(WaitFor(5, v1::TRANSITION_STARTED));

  ASSERT_OK(memory_.DestroyDomain(5));
  ASSERT_OK(toolstack_->Remove(xen::DomainPath(5)));
  ASSERT_OK(toolstack_->ReleaseDomain(5));
  ASSERT_TRUE(WaitFor(5, v1::TRANSITION_DESTROYED));
  EXPECT_EQ(Current(5), nullptr);
}

// The sweeper and the reconciler alone, on the caller's thread: no
// watcher, no timer, so that each injected failure meets the sweep the
// test makes.
class SweepUnitTest : public ::testing::Test {
 protected:
  SweepUnitTest() { memory_.Create(MemoryHypervisor::Running(3, 3)); }
  // A test that failed while a sweep was held must not hang in ~Sweeper.
  void TearDown() override { hypervisor_.ReleaseList(); }

  MemoryHypervisor memory_;
  FaultyHypervisor hypervisor_{&memory_};
  DomainStore store_{{"inst", 1000}};
  Reconciler reconciler_{&store_};
  Sweeper sweeper_{
      &hypervisor_, absl::Seconds(1),
      [this](const SweepResult& sweep) { reconciler_.OnSweep(sweep); }};
};

TEST_F(SweepUnitTest, AFailedHypercallIsTriedAgainWithinTheSweep) {
  ASSERT_OK(sweeper_.SweepNow(SweepCause::kTimer));
  hypervisor_.FailListWith({EAGAIN, EINTR});
  ASSERT_OK(sweeper_.SweepNow(SweepCause::kTimer));
  EXPECT_EQ(hypervisor_.list_calls(), 4u);  // 1, then 3 for the second
  const SweepStats stats = sweeper_.stats();
  EXPECT_EQ(stats.sweeps, 2u);
  EXPECT_EQ(stats.failures, 2u);
  EXPECT_EQ(stats.consecutive_failures, 0u);
  EXPECT_FALSE(SweepFreshness(stats, absl::Seconds(1), stats.last_time).stale);
}

TEST_F(SweepUnitTest, AFailedSweepDropsNoDomainAndMakesTheModelStale) {
  ASSERT_OK(sweeper_.SweepNow(SweepCause::kTimer));
  ASSERT_NE(store_.snapshot()->domains.Get(3), nullptr);
  const uint64_t revision = store_.revision();
  const absl::Time last_good = sweeper_.stats().last_time;
  absl::Time first_failure;
  uint64_t failed_sweeps = 0;
  for (int err : {EAGAIN, EINTR, EFAULT, ENOMEM}) {
    // Every attempt of the sweep fails.
    hypervisor_.FailListWith({err, err, err});
    const absl::Time before = absl::Now();
    absl::Status sweep = sweeper_.SweepNow(SweepCause::kTimer);
    EXPECT_EQ(xen::StatusErrno(sweep), err) << sweep;
    if (++failed_sweeps == 1) first_failure = before;
    // The last good snapshot still answers, every domain in it.
    EXPECT_NE(store_.snapshot()->domains.Get(3), nullptr);
    EXPECT_NE(store_.snapshot()->domains.Get(0), nullptr);
    const SweepStats stats = sweeper_.stats();
    EXPECT_EQ(stats.consecutive_failures, failed_sweeps);
    EXPECT_EQ(stats.last_time, last_good);
    EXPECT_NE(stats.last_error.find(std::to_string(err)), std::string::npos)
        << stats.last_error;
    // Stale since the first failure of the burst, however many follow.
    if (failed_sweeps == 1) {
      EXPECT_GE(stats.failing_since, first_failure);
      first_failure = stats.failing_since;
    }
    const Freshness freshness =
        SweepFreshness(stats, absl::Seconds(1), absl::Now());
    EXPECT_TRUE(freshness.stale);
    EXPECT_EQ(freshness.since, first_failure);
  }
  EXPECT_EQ(sweeper_.stats().failures, 12u);
  EXPECT_EQ(sweeper_.stats().sweeps, 1u);
  EXPECT_EQ(store_.revision(), revision);  // no event at all
  // The next good sweep sees what changed meanwhile, and ends the burst.
  ASSERT_OK(memory_.PauseDomain(3));
  ASSERT_OK(sweeper_.SweepNow(SweepCause::kTimer));
  EXPECT_EQ(store_.snapshot()->domains.Get(3)->state(),
            v1::DOMAIN_STATE_PAUSED);
  EXPECT_EQ(hypervisor_.list_calls(), 14u);
  const SweepStats stats = sweeper_.stats();
  EXPECT_EQ(stats.consecutive_failures, 0u);
  EXPECT_FALSE(SweepFreshness(stats, absl::Seconds(1), stats.last_time).stale);
}

TEST_F(SweepUnitTest, ABurstOfFailuresIsLoggedOnceAndSoIsItsEnd) {
  ASSERT_OK(sweeper_.SweepNow(SweepCause::kTimer));
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 5; ++i) {
    hypervisor_.FailListWith({ENOMEM, ENOMEM, ENOMEM});
    EXPECT_FALSE(sweeper_.SweepNow(SweepCause::kTimer).ok());
  }
  ASSERT_OK(sweeper_.SweepNow(SweepCause::kTimer));
  ASSERT_OK(sweeper_.SweepNow(SweepCause::kTimer));
  const std::string log = ::testing::internal::GetCapturedStderr();
  auto count = [&](const std::string& event) {
    size_t n = 0;
    for (size_t at = log.find(event); at != std::string::npos;
         at = log.find(event, at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("sweep_failing"), 1u) << log;
  EXPECT_EQ(count("sweep_recovered"), 1u) << log;
  EXPECT_NE(log.find("failed_sweeps=5"), std::string::npos) << log;
}

// A hypercall that hangs fails nothing: the model grows stale by age.
TEST(SweepFreshnessTest, NoGoodSweepForThreeIntervalsIsStale) {
  SweepStats stats;
  EXPECT_FALSE(SweepFreshness(stats, absl::Seconds(1), absl::Now()).stale)
      << "never swept: nothing served yet, nothing stale";
  // The last good sweep started at 1000 s and took half a second.
  stats.sweeps = 1;
  stats.last_time = absl::FromUnixSeconds(1000);
  stats.last_duration = absl::Milliseconds(500);
  EXPECT_FALSE(
      SweepFreshness(stats, absl::Seconds(1), absl::FromUnixSeconds(1003))
          .stale);
  const Freshness old =
      SweepFreshness(stats, absl::Seconds(1), absl::FromUnixSeconds(1005));
  EXPECT_TRUE(old.stale);
  EXPECT_EQ(old.since, absl::FromUnixMillis(1003500));
}

// Queries keep the last good sweep while the hypercall hangs, the model
// turns stale only by age, and the sweep asked for meanwhile comes once the
// hypercall returns.
TEST_F(SweepUnitTest, AHangingHypercallKeepsServingTheLastGoodSweep) {
  ASSERT_OK(sweeper_.SweepNow(SweepCause::kTimer));
  StoreEvents events(&store_);
  ASSERT_OK(memory_.PauseDomain(3));
  hypervisor_.HoldList();
  sweeper_.Start();
  sweeper_.Trigger(SweepCause::kWatch);
  ASSERT_TRUE(hypervisor_.WaitUntilListHeld());
  const SweepStats during = sweeper_.stats();
  EXPECT_NE(during.running_since, absl::InfinitePast());
  EXPECT_EQ(during.consecutive_failures, 0u);
  EXPECT_EQ(store_.snapshot()->domains.Get(3)->state(),
            v1::DOMAIN_STATE_RUNNING);
  hypervisor_.ReleaseList();
  ASSERT_TRUE(events.WaitUntil([](const auto& all) {
    return HasTransition(all, 3, v1::TRANSITION_PAUSED);
  }));
  sweeper_.Stop();
  EXPECT_EQ(sweeper_.stats().running_since, absl::InfinitePast());
}

TEST_F(ModelUnitTest, AXenstoredCrashIsFollowedByReconnectAndResync) {
  CreateDomain(4, "before");
  ASSERT_OK(model_->Start());
  ASSERT_TRUE(events_->WaitUntil([&](const auto&) {
    return Current(4) && Current(4)->name() == "before";
  }));
  const uint64_t reconnects = model_->watcher().stats().reconnects;
  xenstore_.Crash();
  // While xenstored is away the hypervisor still reports the domain: an
  // outage is never a DELETED.
  ASSERT_OK(model_->sweeper().SweepNow(SweepCause::kTimer));
  EXPECT_NE(Current(4), nullptr);
  xenstore_.Restart();
  // A restarted C xenstored is empty: the toolstack writes the domain's
  // keys again (here with a new name) and the model follows after its
  // resync.
  auto toolstack = xenstore_.Connect();
  ASSERT_TRUE(toolstack.ok());
  toolstack_ = std::move(*toolstack);
  ASSERT_OK(toolstack_->Write(xen::DomainPath(4) + "/vm",
                              "/vm/" + MemoryHypervisor::Created(4, 4).Uuid()));
  ASSERT_OK(toolstack_->Write(xen::DomainPath(4) + "/name", "after"));
  ASSERT_TRUE(events_->WaitUntil([&](const auto&) {
    auto d = Current(4);
    return model_->watcher().stats().reconnects > reconnects &&
           model_->watcher().state() == XenstoreState::kConnected && d &&
           d->name() == "after";
  }));
  EXPECT_FALSE(HasTransition(events_->All(), 4, v1::TRANSITION_DESTROYED));
}

}  // namespace
}  // namespace xenlet::store
