// LiveDomains: a watch stream's events applied to what list --watch draws.
#include "tools/xenletctl/live_domains.h"

#include "gtest/gtest.h"

namespace xenlet::ctl {
namespace {

using namespace xenlet::v1;

WatchDomainsResponse Event(EventType type, uint64_t revision, uint32_t domid,
                           DomainState state = DOMAIN_STATE_RUNNING) {
  WatchDomainsResponse e;
  e.set_type(type);
  e.set_revision(revision);
  e.set_instance_id("inst-A");
  e.mutable_domain()->set_domid(domid);
  e.mutable_domain()->set_state(state);
  return e;
}

std::vector<uint32_t> Domids(const LiveDomains& live) {
  std::vector<uint32_t> domids;
  for (const auto& [domid, d] : live.domains()) domids.push_back(domid);
  return domids;
}

TEST(LiveDomains, SnapshotIsCompleteAtSynced) {
  LiveDomains live;
  live.BeginSnapshot();
  EXPECT_TRUE(live.Apply(Event(EVENT_TYPE_ADDED, 10, 2)));
  EXPECT_TRUE(live.Apply(Event(EVENT_TYPE_ADDED, 10, 1)));
  EXPECT_FALSE(live.synced());
  EXPECT_TRUE(live.Apply(Event(EVENT_TYPE_SYNCED, 10, 0)));
  EXPECT_TRUE(live.synced());
  EXPECT_EQ(Domids(live), (std::vector<uint32_t>{1, 2}));  // domid order
  EXPECT_EQ(live.revision(), 10u);
  EXPECT_EQ(live.instance_id(), "inst-A");
}

TEST(LiveDomains, LiveChanges) {
  LiveDomains live;
  live.Apply(Event(EVENT_TYPE_ADDED, 10, 1));
  live.Apply(Event(EVENT_TYPE_SYNCED, 10, 0));
  EXPECT_TRUE(live.Apply(Event(EVENT_TYPE_ADDED, 11, 3)));
  EXPECT_TRUE(
      live.Apply(Event(EVENT_TYPE_MODIFIED, 12, 1, DOMAIN_STATE_PAUSED)));
  EXPECT_EQ(live.domains().at(1).state(), DOMAIN_STATE_PAUSED);
  EXPECT_TRUE(live.Apply(Event(EVENT_TYPE_DELETED, 13, 3)));
  EXPECT_EQ(Domids(live), (std::vector<uint32_t>{1}));
  EXPECT_EQ(live.revision(), 13u);

  // STATS refresh a domain held, never bring one back, and are not resume
  // points.
  WatchDomainsResponse stats = Event(EVENT_TYPE_STATS, 20, 1);
  stats.mutable_domain()->set_cpu_time_ns(5);
  EXPECT_TRUE(live.Apply(stats));
  EXPECT_EQ(live.domains().at(1).cpu_time_ns(), 5u);
  EXPECT_FALSE(live.Apply(Event(EVENT_TYPE_STATS, 20, 3)));
  EXPECT_EQ(Domids(live), (std::vector<uint32_t>{1}));
  EXPECT_EQ(live.revision(), 13u);

  // A STATS round's snapshot may be older than an event sent before it:
  // the newer state stays (a paused domain does not show running again).
  EXPECT_TRUE(
      live.Apply(Event(EVENT_TYPE_MODIFIED, 25, 1, DOMAIN_STATE_PAUSED)));
  EXPECT_FALSE(live.Apply(Event(EVENT_TYPE_STATS, 22, 1)));
  EXPECT_EQ(live.domains().at(1).state(), DOMAIN_STATE_PAUSED);
  EXPECT_EQ(live.revision(), 25u);

  // A coalesced event applies but is not a resume point; a BOOKMARK is.
  WatchDomainsResponse coalesced = Event(EVENT_TYPE_ADDED, 30, 4);
  coalesced.set_coalesced(true);
  EXPECT_TRUE(live.Apply(coalesced));
  EXPECT_EQ(live.revision(), 25u);
  EXPECT_FALSE(live.Apply(Event(EVENT_TYPE_BOOKMARK, 31, 0)));
  EXPECT_EQ(live.revision(), 31u);
}

TEST(LiveDomains, ResyncReplacesWhatWasHeld) {
  LiveDomains live;
  live.Apply(Event(EVENT_TYPE_ADDED, 10, 1));
  live.Apply(Event(EVENT_TYPE_ADDED, 10, 2));
  live.Apply(Event(EVENT_TYPE_SYNCED, 10, 0));
  EXPECT_FALSE(live.Apply(Event(EVENT_TYPE_RESYNC_REQUIRED, 3, 0)));
  EXPECT_FALSE(live.synced());
  EXPECT_TRUE(live.domains().empty());
  live.Apply(Event(EVENT_TYPE_ADDED, 3, 2));
  live.Apply(Event(EVENT_TYPE_SYNCED, 3, 0));
  EXPECT_EQ(Domids(live), (std::vector<uint32_t>{2}));
  EXPECT_EQ(live.revision(), 3u);
}

}  // namespace
}  // namespace xenlet::ctl
