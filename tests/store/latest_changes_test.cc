#include "store/latest_changes.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace xenlet::store {
namespace {

std::unique_ptr<Event> MakeEvent(uint64_t revision, uint32_t domid,
                                 v1::EventType type) {
  auto event = std::make_unique<Event>();
  event->revision = revision;
  event->type = type;
  event->domid = domid;
  auto domain = std::make_shared<v1::Domain>();
  domain->set_domid(domid);
  event->domain = domain;
  event->previous = std::make_shared<v1::Domain>(*domain);
  event->initiator = "uid:0";
  return event;
}

std::vector<std::pair<uint32_t, uint64_t>> Revisions(
    const LatestChanges& latest, const DomidSet& domids) {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  latest.ForEachRevision(domids, [&](uint32_t domid, uint64_t revision) {
    out.emplace_back(domid, revision);
  });
  return out;
}

TEST(LatestChangesTest, KeepsTheNewestChangeOfEachDomidWithoutItsPast) {
  LatestChanges latest;
  latest.Record(*MakeEvent(1, 7, v1::EVENT_TYPE_ADDED));
  latest.Record(*MakeEvent(2, 9, v1::EVENT_TYPE_ADDED));
  latest.Record(*MakeEvent(3, 7, v1::EVENT_TYPE_MODIFIED));

  EventPtr seven = latest.Get(7);
  ASSERT_NE(seven, nullptr);
  EXPECT_EQ(seven->revision, 3u);
  EXPECT_EQ(seven->type, v1::EVENT_TYPE_MODIFIED);
  EXPECT_EQ(seven->initiator, "uid:0");
  EXPECT_EQ(seven->previous, nullptr);  // a lean copy
  EXPECT_EQ(latest.Get(8), nullptr);
  EXPECT_EQ(latest.Get(xen::kDomidFirstReserved), nullptr);

  DomidSet domids;
  domids.insert(9);
  domids.insert(7);
  domids.insert(8);
  EXPECT_EQ(
      Revisions(latest, domids),
      (std::vector<std::pair<uint32_t, uint64_t>>{{7, 3}, {8, 0}, {9, 2}}));
  std::vector<EventPtr> all = latest.GetAll({9, 8, 7});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->revision, 2u);
  EXPECT_EQ(all[1], nullptr);
  EXPECT_EQ(all[2]->revision, 3u);
}

TEST(LatestChangesTest, ReservedDomidsAreNotRecorded) {
  LatestChanges latest;
  latest.Record(*MakeEvent(1, xen::kDomidFirstReserved, v1::EVENT_TYPE_ADDED));
  EXPECT_EQ(latest.Get(xen::kDomidFirstReserved), nullptr);
  EXPECT_EQ(latest.GetAll({xen::kDomidFirstReserved})[0], nullptr);
}

// What Subscription::Gather relies on: a revision read without the lock is
// never newer than the change then fetched under it.
TEST(LatestChangesTest, ALockFreeRevisionIsNeverNewerThanTheChange) {
  LatestChanges latest;
  constexpr uint64_t kChanges = 2000;
  DomidSet domids;
  domids.insert(1);
  domids.insert(2);
  std::thread writer([&] {
    for (uint64_t r = 1; r <= kChanges; ++r) {
      latest.Record(*MakeEvent(r, 1 + r % 2, v1::EVENT_TYPE_MODIFIED));
    }
  });
  uint64_t checked = 0;
  uint64_t last_seen = 0;
  while (last_seen < kChanges - 1) {
    for (const auto& [domid, revision] : Revisions(latest, domids)) {
      EventPtr change = latest.GetAll({domid})[0];
      if (revision == 0) continue;
      ASSERT_NE(change, nullptr);
      EXPECT_GE(change->revision, revision);
      last_seen = std::max(last_seen, revision);
      ++checked;
    }
  }
  writer.join();
  EXPECT_GT(checked, 0u);
  EXPECT_EQ(latest.Get(1)->revision, kChanges);
  EXPECT_EQ(latest.Get(2)->revision, kChanges - 1);
}

}  // namespace
}  // namespace xenlet::store
