// Reconciler::OnSweep on sweeps made up in the test (a plain data buffer:
// no hypervisor is needed to say what a sweep returned). What moves only
// volatile fields makes no event and copies no Domain message; everything
// else is an event with the right transition.
#include "store/reconciler.h"

#include "gtest/gtest.h"

namespace xenlet::store {
namespace {

xen::DomainInfo Running(xen::Domid domid, uint8_t handle) {
  xen::DomainInfo info;
  info.domid = domid;
  info.handle[0] = handle;
  info.running = true;
  info.nr_online_vcpus = 1;
  info.max_vcpu_id = 0;
  info.tot_pages = 1024;
  info.max_pages = 2048;
  info.shutdown_code = xen::kShutdownCodeInvalid;
  return info;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  // One sweep of these domains (ascending domids).
  void Sweep(std::vector<xen::DomainInfo> domains,
             std::vector<xen::Domid>* reused = nullptr) {
    auto buffer = std::make_shared<SweepBuffer>(std::move(domains));
    reconciler_.OnSweep(
        {buffer, absl::Now(), absl::ZeroDuration(), SweepCause::kWatch},
        reused);
  }
  std::vector<v1::Transition> Transitions() {
    std::vector<v1::Transition> out;
    while (auto e = events_.subscription->Pop()) {
      if (e->event) out.push_back(e->event->transition);  // not a bookmark
    }
    return out;
  }

  DomainStore store_{{"test", 1000}};
  Reconciler reconciler_{&store_};
  WatchBegin events_ = store_.Watch({}, {});
};

TEST_F(ReconcilerTest, VolatileOnlySweepsCopyNothingAndServeFreshValues) {
  std::vector<xen::DomainInfo> domains = {Running(0, 1), Running(1, 2),
                                          Running(2, 3)};
  Sweep(domains);
  EXPECT_EQ(Transitions(),
            (std::vector<v1::Transition>(3, v1::TRANSITION_EXISTING)));
  auto before = store_.snapshot();
  // Every domain's cpu time and memory moved, and one blocked.
  for (xen::DomainInfo& d : domains) {
    d.cpu_time_ns += 1'000'000;
    d.tot_pages += 1;
  }
  domains[2].running = false;
  domains[2].blocked = true;
  Sweep(domains);
  auto after = store_.snapshot();
  EXPECT_EQ(after->revision, before->revision) << "no event";
  EXPECT_TRUE(Transitions().empty());
  for (xen::Domid d : {0u, 1u, 2u}) {
    EXPECT_EQ(after->domains.Get(d), before->domains.Get(d))
        << "domain " << d << "'s message was copied";
    const v1::Domain fresh = FreshDomain(*after, *after->domains.Get(d));
    EXPECT_EQ(fresh.cpu_time_ns(), 1'000'000u);
    EXPECT_EQ(fresh.memory().current_bytes(), 1025u * xen::kPageSize);
  }
  EXPECT_TRUE(FreshDomain(*after, *after->domains.Get(2)).flags().blocked());
  // The snapshot taken before keeps the values of its own sweep.
  EXPECT_EQ(FreshDomain(*before, *before->domains.Get(1)).cpu_time_ns(), 0u);
}

TEST_F(ReconcilerTest, FlagsGoneAndReusedDomidsAreEvents) {
  Sweep({Running(0, 1), Running(1, 2), Running(2, 3)});
  Transitions();
  std::vector<xen::DomainInfo> next = {Running(0, 1), Running(1, 2)};
  next[1].paused = true;
  next[1].running = false;
  next[1].cpu_time_ns = 5;  // moved as well: the event carries it
  Sweep(next);              // 1 paused, 2 gone
  EXPECT_EQ(Transitions(),
            (std::vector<v1::Transition>{v1::TRANSITION_PAUSED,
                                         v1::TRANSITION_DESTROYED}));
  auto snapshot = store_.snapshot();
  EXPECT_EQ(snapshot->domains.Get(1)->cpu_time_ns(), 5u);
  EXPECT_EQ(snapshot->domains.Get(2), nullptr);

  // domid 1 now names another domain (another handle), created paused.
  xen::DomainInfo successor = Running(1, 9);
  successor.paused = true;
  successor.running = false;
  std::vector<xen::Domid> reused;
  Sweep({Running(0, 1), successor}, &reused);
  EXPECT_EQ(Transitions(),
            (std::vector<v1::Transition>{v1::TRANSITION_DESTROYED,
                                         v1::TRANSITION_CREATED}));
  EXPECT_EQ(reused, std::vector<xen::Domid>{1});
  EXPECT_EQ(store_.snapshot()->domains.Get(1)->incarnation(), 2u);
  EXPECT_EQ(store_.snapshot()->domains.Get(1)->state(),
            v1::DOMAIN_STATE_CREATED);
  EXPECT_EQ(reconciler_.Domids().size(), 2u);
}

}  // namespace
}  // namespace xenlet::store
