// The model's own logic (sweeper, xenstore watcher, reconciler, store) on
// an in-memory host: xen/testing's MemoryHypervisor and MemoryXenstore stand
// in for Xen and xenstored, so each test runs in milliseconds and can
// arrange faults the real parts cannot be made to show on demand (a
// getdomaininfolist failing with ENOMEM, xenstored dying between two
// requests). tests/integration/model_test.cc runs the same model against
// Debian's real xenstored and the simulated hypervisor under libxenctrl.
#include <cerrno>
#include <memory>

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
TEST(SweepUnitTest, AFailedSweepDropsNoDomainAndIsCounted) {
  MemoryHypervisor memory;
  FaultyHypervisor hypervisor(&memory);
  memory.Create(MemoryHypervisor::Running(3, 3));
  DomainStore store({"inst", 1000});
  Reconciler reconciler(&store);
  Sweeper sweeper(&hypervisor, absl::Hours(1),
                  [&](const SweepResult& sweep) { reconciler.OnSweep(sweep); });
  ASSERT_OK(sweeper.SweepNow(SweepCause::kTimer));
  ASSERT_NE(store.snapshot()->domains.Get(3), nullptr);
  const uint64_t revision = store.revision();
  for (int err : {EAGAIN, EINTR, EFAULT, ENOMEM}) {
    hypervisor.FailListWith({err});
    absl::Status sweep = sweeper.SweepNow(SweepCause::kTimer);
    EXPECT_EQ(xen::StatusErrno(sweep), err) << sweep;
    // The last good snapshot still answers, every domain in it.
    EXPECT_NE(store.snapshot()->domains.Get(3), nullptr);
    EXPECT_NE(store.snapshot()->domains.Get(0), nullptr);
  }
  EXPECT_EQ(sweeper.stats().failures, 4u);
  EXPECT_EQ(sweeper.stats().sweeps, 1u);
  EXPECT_EQ(store.revision(), revision);  // no event at all
  // The next good sweep sees what changed meanwhile.
  ASSERT_OK(memory.PauseDomain(3));
  ASSERT_OK(sweeper.SweepNow(SweepCause::kTimer));
  EXPECT_EQ(store.snapshot()->domains.Get(3)->state(), v1::DOMAIN_STATE_PAUSED);
  EXPECT_EQ(hypervisor.list_calls(), 6u);
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
