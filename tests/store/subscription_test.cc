#include "store/subscription.h"

#include "gtest/gtest.h"

namespace xenlet::store {
namespace {

EventPtr MakeEvent(
    uint64_t revision, v1::EventType type, uint32_t domid,
    const std::string& name, v1::DomainState state,
    v1::DomainState previous_state = v1::DOMAIN_STATE_UNSPECIFIED) {
  auto event = std::make_shared<Event>();
  event->revision = revision;
  event->type = type;
  event->domid = domid;
  auto domain = std::make_shared<v1::Domain>();
  domain->set_domid(domid);
  domain->set_name(name);
  domain->set_state(state);
  event->domain = domain;
  if (previous_state != v1::DOMAIN_STATE_UNSPECIFIED) {
    auto previous = std::make_shared<v1::Domain>(*domain);
    previous->set_state(previous_state);
    event->previous = previous;
  }
  return event;
}

std::vector<QueuedEvent> Drain(Subscription& s) {
  std::vector<QueuedEvent> out;
  while (auto e = s.Pop()) out.push_back(*e);
  return out;
}

TEST(SubscriptionTest, DeliversInOrder) {
  Subscription s({});
  for (uint64_t r = 1; r <= 3; ++r) {
    s.Deliver(
        MakeEvent(r, v1::EVENT_TYPE_ADDED, r, "d", v1::DOMAIN_STATE_RUNNING));
  }
  auto events = Drain(s);
  ASSERT_EQ(events.size(), 3u);
  for (uint64_t r = 1; r <= 3; ++r) {
    EXPECT_EQ(events[r - 1].event->revision, r);
    EXPECT_FALSE(events[r - 1].coalesced);
  }
}

TEST(SubscriptionTest, FilterTurnsLeavingIntoDeletedAndEnteringIntoAdded) {
  v1::DomainFilter proto;
  proto.add_states(v1::DOMAIN_STATE_RUNNING);
  Subscription s({DomainFilter(proto), {}, 100});
  s.Deliver(
      MakeEvent(1, v1::EVENT_TYPE_ADDED, 1, "a", v1::DOMAIN_STATE_CREATED));
  s.Deliver(MakeEvent(2, v1::EVENT_TYPE_MODIFIED, 1, "a",
                      v1::DOMAIN_STATE_RUNNING, v1::DOMAIN_STATE_CREATED));
  s.Deliver(MakeEvent(3, v1::EVENT_TYPE_MODIFIED, 1, "a",
                      v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  s.Deliver(MakeEvent(4, v1::EVENT_TYPE_MODIFIED, 1, "a",
                      v1::DOMAIN_STATE_SHUTDOWN, v1::DOMAIN_STATE_PAUSED));
  auto events = Drain(s);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, v1::EVENT_TYPE_ADDED);
  EXPECT_EQ(events[0].event->revision, 2u);
  EXPECT_EQ(events[1].type, v1::EVENT_TYPE_DELETED);
  EXPECT_EQ(events[1].event->revision, 3u);
}

TEST(SubscriptionTest, EventTypeSelection) {
  SubscriptionOptions options;
  options.event_types = {v1::EVENT_TYPE_DELETED};
  Subscription s(std::move(options));
  s.Deliver(
      MakeEvent(1, v1::EVENT_TYPE_ADDED, 1, "a", v1::DOMAIN_STATE_RUNNING));
  s.Deliver(MakeEvent(2, v1::EVENT_TYPE_DELETED, 1, "a",
                      v1::DOMAIN_STATE_DESTROYED, v1::DOMAIN_STATE_RUNNING));
  auto events = Drain(s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, v1::EVENT_TYPE_DELETED);
}

TEST(SubscriptionTest, OverflowCoalescesPerDomainAndStaysBounded) {
  Subscription s({DomainFilter(), {}, /*capacity=*/4});
  uint64_t revision = 0;
  // 3 domains, 100 changes each, interleaved: far more than the capacity.
  for (int round = 0; round < 100; ++round) {
    for (uint32_t domid = 1; domid <= 3; ++domid) {
      s.Deliver(MakeEvent(
          ++revision,
          round == 0 ? v1::EVENT_TYPE_ADDED : v1::EVENT_TYPE_MODIFIED, domid,
          "r" + std::to_string(round), v1::DOMAIN_STATE_RUNNING,
          round == 0 ? v1::DOMAIN_STATE_UNSPECIFIED : v1::DOMAIN_STATE_PAUSED));
    }
  }
  EXPECT_TRUE(s.coalescing());
  EXPECT_LE(s.max_queued(), 4u);
  auto events = Drain(s);
  ASSERT_EQ(events.size(), 3u);
  for (const QueuedEvent& e : events) {
    EXPECT_TRUE(e.coalesced);
    EXPECT_EQ(e.event->domain->name(), "r99");  // the newest state
    EXPECT_EQ(e.type, v1::EVENT_TYPE_ADDED);    // the reader never saw it
  }
  EXPECT_LT(events[0].event->revision, events[1].event->revision);
  EXPECT_FALSE(s.coalescing());  // drained: back to a plain queue
  EXPECT_EQ(s.coalesced_total(), 300u - 3u);
}

TEST(SubscriptionTest, CoalescedDeleteIsKept) {
  Subscription s({DomainFilter(), {}, 1});
  s.Deliver(MakeEvent(1, v1::EVENT_TYPE_MODIFIED, 9, "x",
                      v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  s.Deliver(MakeEvent(2, v1::EVENT_TYPE_DELETED, 9, "x",
                      v1::DOMAIN_STATE_DESTROYED, v1::DOMAIN_STATE_PAUSED));
  s.Deliver(
      MakeEvent(3, v1::EVENT_TYPE_ADDED, 9, "y", v1::DOMAIN_STATE_CREATED));
  s.Deliver(MakeEvent(4, v1::EVENT_TYPE_DELETED, 9, "y",
                      v1::DOMAIN_STATE_DESTROYED, v1::DOMAIN_STATE_CREATED));
  auto events = Drain(s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, v1::EVENT_TYPE_DELETED);
  EXPECT_EQ(events[0].event->revision, 4u);
}

TEST(SubscriptionTest, NotifiesOnceWhenArmedAndNotWhenClosed) {
  Subscription s({});
  int notified = 0;
  ASSERT_TRUE(s.WaitForEvents([&] { ++notified; }));
  s.Deliver(
      MakeEvent(1, v1::EVENT_TYPE_ADDED, 1, "a", v1::DOMAIN_STATE_RUNNING));
  s.Deliver(
      MakeEvent(2, v1::EVENT_TYPE_ADDED, 2, "b", v1::DOMAIN_STATE_RUNNING));
  EXPECT_EQ(notified, 1);
  EXPECT_FALSE(s.WaitForEvents([&] { ++notified; }));  // events queued
  Drain(s);
  ASSERT_TRUE(s.WaitForEvents([&] { ++notified; }));
  s.Close();
  s.Deliver(
      MakeEvent(3, v1::EVENT_TYPE_ADDED, 3, "c", v1::DOMAIN_STATE_RUNNING));
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(s.queued(), 0u);
}

}  // namespace
}  // namespace xenlet::store
