#include "store/event_log.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace xenlet::store {
namespace {

EventPtr MakeEvent(uint64_t revision, size_t name_length) {
  auto event = std::make_shared<Event>();
  event->revision = revision;
  event->type = v1::EVENT_TYPE_MODIFIED;
  event->domid = static_cast<uint32_t>(revision % 100);
  auto domain = std::make_shared<v1::Domain>();
  domain->set_domid(event->domid);
  domain->set_uuid("00000000-0000-0000-0000-000000000001");
  domain->set_name(std::string(name_length, 'n'));
  event->domain = domain;
  return event;
}

TEST(EventLogTest, BoundedInEvents) {
  EventLog log(3, size_t{1} << 30);
  for (uint64_t r = 1; r <= 5; ++r) log.Append(MakeEvent(r, 8));
  EXPECT_EQ(log.size(), 3u);
  EXPECT_EQ(log.first_revision(), 3u);
  EXPECT_FALSE(log.CanReplayAfter(1));
  EXPECT_TRUE(log.CanReplayAfter(2));
  std::vector<EventPtr> replay;
  log.ReplayAfter(2, &replay);
  ASSERT_EQ(replay.size(), 3u);
  EXPECT_EQ(replay.front()->revision, 3u);
  EXPECT_EQ(replay.back()->revision, 5u);
}

TEST(EventLogTest, BoundedInBytes) {
  const size_t one = EventLog::EstimatedBytes(*MakeEvent(1, 1000));
  EventLog log(1000, 10 * one);
  for (uint64_t r = 1; r <= 100; ++r) log.Append(MakeEvent(r, 1000));
  EXPECT_EQ(log.size(), 10u);
  EXPECT_LE(log.bytes(), 10 * one);
  EXPECT_EQ(log.last_revision(), 100u);
  EXPECT_TRUE(log.CanReplayAfter(90));
  EXPECT_FALSE(log.CanReplayAfter(89));
}

TEST(EventLogTest, KeepsTheNewestEventEvenIfAloneItIsOverTheBound) {
  EventLog log(10, 1);
  log.Append(MakeEvent(1, 8));
  log.Append(MakeEvent(2, 8));
  EXPECT_EQ(log.size(), 1u);
  EXPECT_TRUE(log.CanReplayAfter(1));
}

TEST(EventLogTest, EstimateGrowsWithTheDomain) {
  const size_t small = EventLog::EstimatedBytes(*MakeEvent(1, 8));
  const size_t large = EventLog::EstimatedBytes(*MakeEvent(1, 4000));
  // The name is held in the message and again in its encoded form.
  EXPECT_GE(large - small, 2 * (4000 - 8) - 64);
  EXPECT_GE(small, sizeof(Event));
}

}  // namespace
}  // namespace xenlet::store
