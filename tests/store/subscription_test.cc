#include "store/subscription.h"

#include <map>
#include <random>
#include <string>

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

// The events popped, and the bookmarks between them in *bookmarks.
std::vector<QueuedEvent> Drain(Subscription& s,
                               std::vector<uint64_t>* bookmarks = nullptr) {
  std::vector<QueuedEvent> out;
  while (auto e = s.Pop()) {
    if (e->event) {
      out.push_back(*e);
    } else if (bookmarks) {
      bookmarks->push_back(e->bookmark);
    }
  }
  return out;
}

class SubscriptionTest : public ::testing::Test {
 protected:
  // Feeds s the way the store does: the event is recorded as its domid's
  // newest change, then handed to the subscription.
  void Deliver(Subscription& s, const EventPtr& event) {
    latest_.Record(*event);
    s.Deliver(event);
  }

  LatestChanges latest_;
};

TEST_F(SubscriptionTest, DeliversInOrder) {
  Subscription s({}, &latest_);
  for (uint64_t r = 1; r <= 3; ++r) {
    Deliver(s, MakeEvent(r, v1::EVENT_TYPE_ADDED, r, "d",
                         v1::DOMAIN_STATE_RUNNING));
  }
  auto events = Drain(s);
  ASSERT_EQ(events.size(), 3u);
  for (uint64_t r = 1; r <= 3; ++r) {
    EXPECT_EQ(events[r - 1].event->revision, r);
    EXPECT_FALSE(events[r - 1].coalesced);
  }
}

TEST_F(SubscriptionTest, FilterTurnsLeavingIntoDeletedAndEnteringIntoAdded) {
  v1::DomainFilter proto;
  proto.add_states(v1::DOMAIN_STATE_RUNNING);
  Subscription s({DomainFilter(proto), {}, 100}, &latest_);
  Deliver(s,
          MakeEvent(1, v1::EVENT_TYPE_ADDED, 1, "a", v1::DOMAIN_STATE_CREATED));
  Deliver(s, MakeEvent(2, v1::EVENT_TYPE_MODIFIED, 1, "a",
                       v1::DOMAIN_STATE_RUNNING, v1::DOMAIN_STATE_CREATED));
  Deliver(s, MakeEvent(3, v1::EVENT_TYPE_MODIFIED, 1, "a",
                       v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  Deliver(s, MakeEvent(4, v1::EVENT_TYPE_MODIFIED, 1, "a",
                       v1::DOMAIN_STATE_SHUTDOWN, v1::DOMAIN_STATE_PAUSED));
  auto events = Drain(s);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, v1::EVENT_TYPE_ADDED);
  EXPECT_EQ(events[0].event->revision, 2u);
  EXPECT_EQ(events[1].type, v1::EVENT_TYPE_DELETED);
  EXPECT_EQ(events[1].event->revision, 3u);
}

TEST_F(SubscriptionTest, EventTypeSelection) {
  SubscriptionOptions options;
  options.event_types = {v1::EVENT_TYPE_DELETED};
  Subscription s(std::move(options), &latest_);
  Deliver(s,
          MakeEvent(1, v1::EVENT_TYPE_ADDED, 1, "a", v1::DOMAIN_STATE_RUNNING));
  Deliver(s, MakeEvent(2, v1::EVENT_TYPE_DELETED, 1, "a",
                       v1::DOMAIN_STATE_DESTROYED, v1::DOMAIN_STATE_RUNNING));
  auto events = Drain(s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, v1::EVENT_TYPE_DELETED);
}

TEST_F(SubscriptionTest, OverflowCoalescesPerDomainAndStaysBounded) {
  Subscription s({DomainFilter(), {}, /*capacity=*/4}, &latest_);
  uint64_t revision = 0;
  // 3 domains, 100 changes each, interleaved: far more than the capacity.
  for (int round = 0; round < 100; ++round) {
    for (uint32_t domid = 1; domid <= 3; ++domid) {
      Deliver(s,
              MakeEvent(
                  ++revision,
                  round == 0 ? v1::EVENT_TYPE_ADDED : v1::EVENT_TYPE_MODIFIED,
                  domid, "r" + std::to_string(round), v1::DOMAIN_STATE_RUNNING,
                  round == 0 ? v1::DOMAIN_STATE_UNSPECIFIED
                             : v1::DOMAIN_STATE_PAUSED));
    }
  }
  EXPECT_TRUE(s.coalescing());
  EXPECT_LE(s.max_queued(), 4u);
  std::vector<uint64_t> bookmarks;
  auto events = Drain(s, &bookmarks);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(bookmarks, std::vector<uint64_t>{300});  // caught up to here
  for (const QueuedEvent& e : events) {
    EXPECT_TRUE(e.coalesced);
    EXPECT_EQ(e.event->domain->name(), "r99");  // the newest state
    EXPECT_EQ(e.type, v1::EVENT_TYPE_ADDED);    // the reader never saw it
  }
  EXPECT_LT(events[0].event->revision, events[1].event->revision);
  EXPECT_FALSE(s.coalescing());  // drained: back to a plain queue
  EXPECT_EQ(s.coalesced_total(), 300u - 3u);
}

TEST_F(SubscriptionTest, CoalescedDeleteIsKept) {
  Subscription s({DomainFilter(), {}, 1}, &latest_);
  Deliver(s, MakeEvent(1, v1::EVENT_TYPE_MODIFIED, 9, "x",
                       v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  Deliver(s, MakeEvent(2, v1::EVENT_TYPE_DELETED, 9, "x",
                       v1::DOMAIN_STATE_DESTROYED, v1::DOMAIN_STATE_PAUSED));
  Deliver(s,
          MakeEvent(3, v1::EVENT_TYPE_ADDED, 9, "y", v1::DOMAIN_STATE_CREATED));
  Deliver(s, MakeEvent(4, v1::EVENT_TYPE_DELETED, 9, "y",
                       v1::DOMAIN_STATE_DESTROYED, v1::DOMAIN_STATE_CREATED));
  auto events = Drain(s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, v1::EVENT_TYPE_DELETED);
  EXPECT_EQ(events[0].event->revision, 4u);
}

TEST_F(SubscriptionTest, NotifiesOnceWhenArmedAndNotWhenClosed) {
  Subscription s({}, &latest_);
  int notified = 0;
  ASSERT_TRUE(s.WaitForEvents([&] { ++notified; }));
  Deliver(s,
          MakeEvent(1, v1::EVENT_TYPE_ADDED, 1, "a", v1::DOMAIN_STATE_RUNNING));
  Deliver(s,
          MakeEvent(2, v1::EVENT_TYPE_ADDED, 2, "b", v1::DOMAIN_STATE_RUNNING));
  EXPECT_EQ(notified, 1);
  EXPECT_FALSE(s.WaitForEvents([&] { ++notified; }));  // events queued
  Drain(s);
  ASSERT_TRUE(s.WaitForEvents([&] { ++notified; }));
  s.Close();
  Deliver(s,
          MakeEvent(3, v1::EVENT_TYPE_ADDED, 3, "c", v1::DOMAIN_STATE_RUNNING));
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(s.queued(), 0u);
}

TEST_F(SubscriptionTest, CatchUpSendsEachDomainOnceInRevisionOrder) {
  Subscription s({DomainFilter(), {}, /*capacity=*/2}, &latest_);
  // Domains 1..3 are held by the reader (their previous state matched).
  Deliver(s, MakeEvent(1, v1::EVENT_TYPE_MODIFIED, 3, "c1",
                       v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  Deliver(s, MakeEvent(2, v1::EVENT_TYPE_MODIFIED, 1, "a1",
                       v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  Deliver(s, MakeEvent(3, v1::EVENT_TYPE_MODIFIED, 2, "b1",
                       v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  Deliver(s, MakeEvent(4, v1::EVENT_TYPE_MODIFIED, 3, "c2",
                       v1::DOMAIN_STATE_RUNNING, v1::DOMAIN_STATE_PAUSED));
  EXPECT_TRUE(s.coalescing());
  EXPECT_EQ(s.queued(), 3u);  // three domids, not four events
  std::vector<uint64_t> bookmarks;
  auto events = Drain(s, &bookmarks);
  ASSERT_EQ(events.size(), 3u);
  // Caught up to revision 4: a resume point, which no event sent while
  // catching up is (the reader got domain 3's change at 4 after domain
  // 1's at 2, but domain 3's change at 1 only folded into it).
  EXPECT_EQ(bookmarks, std::vector<uint64_t>{4});
  // Newest change of each, oldest first: 1 (rev 2), 2 (rev 3), 3 (rev 4).
  EXPECT_EQ(events[0].event->revision, 2u);
  EXPECT_EQ(events[1].event->revision, 3u);
  EXPECT_EQ(events[2].event->revision, 4u);
  EXPECT_EQ(events[2].event->domain->name(), "c2");
  for (const QueuedEvent& e : events) {
    EXPECT_EQ(e.type, v1::EVENT_TYPE_MODIFIED);
  }
  // Every event sent while catching up is marked; only domain 3 changed
  // twice.
  for (const QueuedEvent& e : events) EXPECT_TRUE(e.coalesced);
  EXPECT_EQ(s.coalesced_total(), 1u);
  EXPECT_FALSE(s.coalescing());  // caught up: a plain queue again
  Deliver(s, MakeEvent(5, v1::EVENT_TYPE_MODIFIED, 1, "a2",
                       v1::DOMAIN_STATE_RUNNING, v1::DOMAIN_STATE_PAUSED));
  auto after = Drain(s);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].event->revision, 5u);
  EXPECT_FALSE(after[0].coalesced);
  EXPECT_FALSE(s.coalescing());
}

// A catch-up ends when the reader finds nothing left to send: that Pop
// returns the bookmark, and later events are queued again, unmarked.
TEST_F(SubscriptionTest, ACatchUpEndsWithABookmarkThenEventsQueueAgain) {
  Subscription s({DomainFilter(), {}, /*capacity=*/1}, &latest_);
  Deliver(s,
          MakeEvent(1, v1::EVENT_TYPE_ADDED, 1, "a", v1::DOMAIN_STATE_RUNNING));
  Deliver(s,
          MakeEvent(2, v1::EVENT_TYPE_ADDED, 2, "b", v1::DOMAIN_STATE_RUNNING));
  ASSERT_TRUE(s.coalescing());
  auto first = s.Pop();
  auto second = s.Pop();
  ASSERT_TRUE(first && second && first->event && second->event);
  // A change before the reader came back for more is still caught up.
  Deliver(s, MakeEvent(3, v1::EVENT_TYPE_MODIFIED, 1, "a2",
                       v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  auto third = s.Pop();
  ASSERT_TRUE(third && third->event);
  EXPECT_EQ(third->event->revision, 3u);
  EXPECT_TRUE(third->coalesced);
  EXPECT_EQ(s.queued(), 1u);  // the bookmark to come
  auto bookmark = s.Pop();
  ASSERT_TRUE(bookmark.has_value());
  EXPECT_EQ(bookmark->event, nullptr);
  EXPECT_EQ(bookmark->bookmark, 3u);
  EXPECT_FALSE(s.coalescing());
  Deliver(s, MakeEvent(4, v1::EVENT_TYPE_MODIFIED, 2, "b2",
                       v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  auto live = s.Pop();
  ASSERT_TRUE(live && live->event);
  EXPECT_EQ(live->event->revision, 4u);
  EXPECT_FALSE(live->coalesced);
  EXPECT_FALSE(s.Pop().has_value());
}

TEST_F(SubscriptionTest, CatchUpTypesFollowWhatTheReaderHolds) {
  v1::DomainFilter proto;
  proto.add_states(v1::DOMAIN_STATE_RUNNING);
  Subscription s({DomainFilter(proto), {}, /*capacity=*/1}, &latest_);
  // 1: held, leaves the filter -> DELETED.
  Deliver(s, MakeEvent(1, v1::EVENT_TYPE_MODIFIED, 1, "a",
                       v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  // 2: not held, enters the filter -> ADDED.
  Deliver(s, MakeEvent(2, v1::EVENT_TYPE_MODIFIED, 2, "b",
                       v1::DOMAIN_STATE_RUNNING, v1::DOMAIN_STATE_PAUSED));
  // 3: held, destroyed, and a new domain gets its domid -> ADDED.
  Deliver(s, MakeEvent(3, v1::EVENT_TYPE_DELETED, 3, "c",
                       v1::DOMAIN_STATE_DESTROYED, v1::DOMAIN_STATE_RUNNING));
  Deliver(s, MakeEvent(4, v1::EVENT_TYPE_ADDED, 3, "c-new",
                       v1::DOMAIN_STATE_RUNNING));
  // 4: never held, created and destroyed -> nothing.
  Deliver(s,
          MakeEvent(5, v1::EVENT_TYPE_ADDED, 4, "d", v1::DOMAIN_STATE_RUNNING));
  Deliver(s, MakeEvent(6, v1::EVENT_TYPE_DELETED, 4, "d",
                       v1::DOMAIN_STATE_DESTROYED, v1::DOMAIN_STATE_RUNNING));
  // 5: held, destroyed -> DELETED with its last state.
  Deliver(s, MakeEvent(7, v1::EVENT_TYPE_DELETED, 5, "e",
                       v1::DOMAIN_STATE_DESTROYED, v1::DOMAIN_STATE_RUNNING));
  // 6: outside the filter before and after -> not even counted.
  Deliver(s, MakeEvent(8, v1::EVENT_TYPE_MODIFIED, 6, "f",
                       v1::DOMAIN_STATE_SHUTDOWN, v1::DOMAIN_STATE_PAUSED));
  ASSERT_TRUE(s.coalescing());
  EXPECT_EQ(s.queued(), 5u);
  auto events = Drain(s);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].event->domid, 1u);
  EXPECT_EQ(events[0].type, v1::EVENT_TYPE_DELETED);
  EXPECT_EQ(events[1].event->domid, 2u);
  EXPECT_EQ(events[1].type, v1::EVENT_TYPE_ADDED);
  EXPECT_EQ(events[2].event->domid, 3u);
  EXPECT_EQ(events[2].type, v1::EVENT_TYPE_ADDED);
  EXPECT_EQ(events[2].event->domain->name(), "c-new");
  EXPECT_TRUE(events[2].coalesced);
  EXPECT_EQ(events[3].event->domid, 5u);
  EXPECT_EQ(events[3].type, v1::EVENT_TYPE_DELETED);
  EXPECT_EQ(events[3].event->domain->name(), "e");
}

TEST_F(SubscriptionTest, CatchUpHonoursTheEventTypeSelection) {
  SubscriptionOptions options;
  options.event_types = {v1::EVENT_TYPE_DELETED};
  options.capacity = 1;
  Subscription s(std::move(options), &latest_);
  Deliver(s,
          MakeEvent(1, v1::EVENT_TYPE_ADDED, 1, "a", v1::DOMAIN_STATE_RUNNING));
  Deliver(s,
          MakeEvent(2, v1::EVENT_TYPE_ADDED, 2, "b", v1::DOMAIN_STATE_RUNNING));
  Deliver(s, MakeEvent(3, v1::EVENT_TYPE_MODIFIED, 7, "g",
                       v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  Deliver(s, MakeEvent(4, v1::EVENT_TYPE_DELETED, 8, "h",
                       v1::DOMAIN_STATE_DESTROYED, v1::DOMAIN_STATE_RUNNING));
  auto events = Drain(s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event->domid, 8u);
  EXPECT_EQ(events[0].type, v1::EVENT_TYPE_DELETED);
}

// A reader that asked for deletions alone still learns that a domain it
// held left its view while it was behind, even if the domain came back
// (in a queue it would have had the DELETED; the ADDED it did not ask for).
TEST_F(SubscriptionTest, CatchUpKeepsADeletionFoldedIntoAReturn) {
  v1::DomainFilter running;
  running.add_states(v1::DOMAIN_STATE_RUNNING);
  for (v1::EventType wanted : {v1::EVENT_TYPE_DELETED, v1::EVENT_TYPE_ADDED}) {
    SCOPED_TRACE(v1::EventType_Name(wanted));
    LatestChanges latest;
    SubscriptionOptions options;
    options.filter = DomainFilter(running);
    options.event_types = {wanted};
    options.capacity = 1;
    Subscription s(std::move(options), &latest);
    auto deliver = [&](EventPtr e) {
      latest.Record(*e);
      s.Deliver(e);
    };
    // The reader holds 1, 2 and 3, running. 2 and 3 pause: the second
    // overflows the queue in either selection (ADDED: 2 and 3 come back).
    deliver(MakeEvent(1, v1::EVENT_TYPE_MODIFIED, 2, "b",
                      v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
    deliver(MakeEvent(2, v1::EVENT_TYPE_MODIFIED, 3, "c",
                      v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
    deliver(MakeEvent(3, v1::EVENT_TYPE_MODIFIED, 2, "b",
                      v1::DOMAIN_STATE_RUNNING, v1::DOMAIN_STATE_PAUSED));
    deliver(MakeEvent(4, v1::EVENT_TYPE_MODIFIED, 3, "c",
                      v1::DOMAIN_STATE_RUNNING, v1::DOMAIN_STATE_PAUSED));
    // 1 leaves and comes back while the reader is behind.
    deliver(MakeEvent(5, v1::EVENT_TYPE_MODIFIED, 1, "a",
                      v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
    deliver(MakeEvent(6, v1::EVENT_TYPE_MODIFIED, 1, "a",
                      v1::DOMAIN_STATE_RUNNING, v1::DOMAIN_STATE_PAUSED));
    ASSERT_TRUE(s.coalescing());
    std::vector<std::pair<uint32_t, v1::EventType>> got;
    for (const QueuedEvent& e : Drain(s)) {
      got.emplace_back(e.event->domid, e.type);
    }
    // Whichever was asked for, each of the three is told of once.
    EXPECT_EQ(got, (std::vector<std::pair<uint32_t, v1::EventType>>{
                       {2, wanted}, {3, wanted}, {1, wanted}}));
  }
}

// The store records a change before it hands the event to each
// subscription: a catching-up reader that sees the record first must wait
// for the event, or it would send the change out of order and then again.
TEST_F(SubscriptionTest, CatchUpWaitsForAChangeRecordedButNotYetOffered) {
  Subscription s({DomainFilter(), {}, /*capacity=*/1}, &latest_);
  Deliver(s,
          MakeEvent(1, v1::EVENT_TYPE_ADDED, 1, "a", v1::DOMAIN_STATE_RUNNING));
  Deliver(s,
          MakeEvent(2, v1::EVENT_TYPE_ADDED, 2, "b", v1::DOMAIN_STATE_RUNNING));
  ASSERT_TRUE(s.coalescing());
  // The writer's window: domid 2's next change is recorded, not offered.
  EventPtr pending =
      MakeEvent(3, v1::EVENT_TYPE_MODIFIED, 2, "b2", v1::DOMAIN_STATE_PAUSED,
                v1::DOMAIN_STATE_RUNNING);
  latest_.Record(*pending);
  auto first = Drain(s);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].event->domid, 1u);
  int notified = 0;
  EXPECT_TRUE(s.WaitForEvents([&] { ++notified; }));  // nothing sendable
  s.Deliver(pending);
  EXPECT_EQ(notified, 1);
  auto second = Drain(s);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].event->revision, 3u);
  EXPECT_EQ(second[0].type, v1::EVENT_TYPE_ADDED);  // never sent before
  EXPECT_TRUE(Drain(s).empty());
  EXPECT_FALSE(s.coalescing());
}

TEST_F(SubscriptionTest, CatchUpBatchesKeepRevisionOrder) {
  Subscription s({DomainFilter(), {}, /*capacity=*/4}, &latest_);
  // 600 domains (three batches), each changed twice, the second round in
  // reverse order.
  uint64_t revision = 0;
  for (uint32_t domid = 0; domid < 600; ++domid) {
    Deliver(s, MakeEvent(++revision, v1::EVENT_TYPE_ADDED, domid, "x",
                         v1::DOMAIN_STATE_RUNNING));
  }
  for (uint32_t domid = 600; domid-- > 0;) {
    Deliver(s, MakeEvent(++revision, v1::EVENT_TYPE_MODIFIED, domid, "y",
                         v1::DOMAIN_STATE_PAUSED, v1::DOMAIN_STATE_RUNNING));
  }
  EXPECT_EQ(s.max_queued(), 600u);  // bounded by the domains
  uint64_t last = 0;
  size_t count = 0;
  while (auto e = s.Pop()) {
    if (!e->event) {
      EXPECT_EQ(e->bookmark, revision);  // the end of the catch-up
      EXPECT_EQ(count, 600u);
      continue;
    }
    EXPECT_LE(s.queued(), 600u - count + 1);  // the bookmark to come
    EXPECT_GT(e->event->revision, last);  // in revision order across batches
    last = e->event->revision;
    EXPECT_EQ(e->event->domain->name(), "y");
    ++count;
  }
  EXPECT_EQ(count, 600u);
  EXPECT_EQ(last, revision);
}

// A property over random histories: whatever the reader's pace, a reader
// that applies what it pops (ADDED inserts or replaces, MODIFIED and
// DELETED only touch a domain it holds) ends up with exactly the domains
// that match its filter, and revisions only go up.
TEST_F(SubscriptionTest, RandomHistoriesConvergeWhateverTheReadersPace) {
  int caught_up = 0;  // histories in which the reader fell behind
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE(seed);
    LatestChanges latest;
    std::mt19937 random(seed);
    v1::DomainFilter proto;
    if (seed % 2 == 0) proto.add_states(v1::DOMAIN_STATE_RUNNING);
    const DomainFilter filter(proto);
    Subscription s({filter, {}, /*capacity=*/1 + seed % 5}, &latest);
    std::map<uint32_t, std::shared_ptr<v1::Domain>> truth;
    std::map<uint32_t, std::string> reader;  // domid -> name
    uint64_t revision = 0;
    uint64_t last_popped = 0;
    int names = 0;
    auto pop = [&](int n) {
      for (int i = 0; i < n; ++i) {
        auto e = s.Pop();
        if (!e) return;
        if (!e->event) {
          ASSERT_GE(e->bookmark, last_popped);
          last_popped = e->bookmark;
          continue;
        }
        ASSERT_GT(e->event->revision, last_popped);
        last_popped = e->event->revision;
        const uint32_t domid = e->event->domid;
        switch (e->type) {
          case v1::EVENT_TYPE_ADDED:
            reader[domid] = e->event->domain->name();
            break;
          case v1::EVENT_TYPE_MODIFIED:
            ASSERT_TRUE(reader.contains(domid)) << domid;
            reader[domid] = e->event->domain->name();
            break;
          case v1::EVENT_TYPE_DELETED:
            ASSERT_TRUE(reader.contains(domid)) << domid;
            reader.erase(domid);
            break;
          default:
            FAIL() << "unexpected type " << e->type;
        }
      }
    };
    for (int step = 0; step < 2000; ++step) {
      const uint32_t domid = random() % 20;
      auto event = std::make_shared<Event>();
      event->revision = ++revision;
      event->domid = domid;
      auto it = truth.find(domid);
      auto next = std::make_shared<v1::Domain>();
      next->set_domid(domid);
      next->set_name("n" + std::to_string(++names));
      next->set_state(random() % 2 ? v1::DOMAIN_STATE_RUNNING
                                   : v1::DOMAIN_STATE_PAUSED);
      if (it == truth.end()) {
        event->type = v1::EVENT_TYPE_ADDED;
        event->domain = next;
        truth[domid] = next;
      } else if (random() % 4 == 0) {
        event->type = v1::EVENT_TYPE_DELETED;
        event->previous = it->second;
        event->domain = it->second;
        truth.erase(it);
      } else {
        event->type = v1::EVENT_TYPE_MODIFIED;
        event->previous = it->second;
        event->domain = next;
        it->second = next;
      }
      latest.Record(*event);
      s.Deliver(event);
      if (random() % 3 == 0) pop(random() % 8);
      if (HasFatalFailure()) return;
    }
    pop(1 << 30);
    if (HasFatalFailure()) return;
    std::map<uint32_t, std::string> expected;
    for (const auto& [domid, domain] : truth) {
      if (filter.Matches(*domain)) expected[domid] = domain->name();
    }
    EXPECT_EQ(reader, expected);
    EXPECT_FALSE(s.coalescing());
    if (s.coalesced_total() > 0) ++caught_up;
  }
  EXPECT_GE(caught_up, 30);
}

}  // namespace
}  // namespace xenlet::store
