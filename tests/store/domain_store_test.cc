#include "store/domain_store.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace xenlet::store {
namespace {

Change Add(uint32_t domid, const std::string& name) {
  Change c;
  c.type = v1::EVENT_TYPE_ADDED;
  c.transition = v1::TRANSITION_CREATED;
  c.domid = domid;
  c.domain = std::make_unique<v1::Domain>();
  c.domain->set_domid(domid);
  c.domain->set_name(name);
  c.domain->set_state(v1::DOMAIN_STATE_CREATED);
  return c;
}

Change Modify(uint32_t domid, v1::DomainState state) {
  Change c = Add(domid, "m");
  c.type = v1::EVENT_TYPE_MODIFIED;
  c.transition = v1::TRANSITION_UPDATED;
  c.domain->set_state(state);
  return c;
}

Change Delete(uint32_t domid) {
  Change c = Add(domid, "gone");
  c.type = v1::EVENT_TYPE_DELETED;
  c.transition = v1::TRANSITION_DESTROYED;
  c.domain->set_state(v1::DOMAIN_STATE_DESTROYED);
  return c;
}

std::vector<Change> One(Change c) {
  std::vector<Change> v;
  v.push_back(std::move(c));
  return v;
}

TEST(DomainStoreTest, CommitsAssignRevisionsAndPublishSnapshots) {
  DomainStore store({"inst", 100});
  auto empty = store.snapshot();
  std::vector<Change> batch;
  batch.push_back(Add(1, "a"));
  batch.push_back(Add(2, "b"));
  EXPECT_EQ(store.Commit(std::move(batch)), 2u);
  EXPECT_EQ(store.Commit(One(Modify(1, v1::DOMAIN_STATE_RUNNING))), 3u);
  auto snap = store.snapshot();
  EXPECT_EQ(snap->revision, 3u);
  EXPECT_EQ(snap->domains.size(), 2u);
  EXPECT_EQ(snap->domains.Get(1)->state(), v1::DOMAIN_STATE_RUNNING);
  EXPECT_EQ(snap->domains.Get(1)->created_revision(), 1u);
  EXPECT_EQ(snap->domains.Get(1)->updated_revision(), 3u);
  EXPECT_EQ(empty->domains.size(), 0u);  // old snapshots stay as they were
  store.Commit(One(Delete(2)));
  EXPECT_EQ(store.snapshot()->domains.Get(2), nullptr);
  EXPECT_EQ(snap->domains.Get(2)->name(), "b");
}

// A sweep's volatile fields are a view published with the same domains and
// revision: the Domain messages are not copied, and readers merge the
// view's values in. Old snapshots keep the view they were published with.
TEST(DomainStoreTest, VolatileUpdatesChangeNoRevisionAndCopyNoDomain) {
  DomainStore store({"inst", 100});
  store.Commit(One(Add(1, "a")));
  auto before = store.snapshot();
  auto sweep = std::make_shared<SweepBuffer>(2);
  (*sweep)[0].domid = 1;
  (*sweep)[0].cpu_time_ns = 12345;
  (*sweep)[0].tot_pages = 256;
  (*sweep)[0].running = true;
  (*sweep)[1].domid = 99;  // not in the model: never shown
  store.UpdateVolatile(VolatileView(sweep));
  auto snap = store.snapshot();
  EXPECT_EQ(snap->revision, 1u);
  EXPECT_EQ(snap->domains.Get(1), before->domains.Get(1)) << "copied";
  const v1::Domain fresh = FreshDomain(*snap, *snap->domains.Get(1));
  EXPECT_EQ(fresh.cpu_time_ns(), 12345u);
  EXPECT_EQ(fresh.memory().current_bytes(), 256u * 4096);
  EXPECT_TRUE(fresh.flags().running());
  EXPECT_EQ(fresh.name(), "a");
  EXPECT_EQ(snap->domains.Get(99), nullptr);
  EXPECT_EQ(FreshDomain(*before, *before->domains.Get(1)).cpu_time_ns(), 0u);
  // A commit without a view keeps the current one.
  store.Commit(One(Add(2, "b")));
  EXPECT_EQ(FreshDomain(*store.snapshot(), *store.snapshot()->domains.Get(1))
                .cpu_time_ns(),
            12345u);
}

TEST(VolatileViewTest, CursorFindsAscendingAndRestartsGoingBack) {
  auto sweep = std::make_shared<SweepBuffer>();
  for (uint32_t d : {0u, 3u, 7u, 100u, 32000u}) {
    xen::DomainInfo info;
    info.domid = d;
    info.cpu_time_ns = d * 10;
    sweep->push_back(info);
  }
  VolatileView view(sweep);
  VolatileView::Cursor cursor(view);
  EXPECT_EQ(cursor.Find(7)->cpu_time_ns, 70u);  // a page starting mid-way
  EXPECT_EQ(cursor.Find(8), nullptr);
  EXPECT_EQ(cursor.Find(100)->cpu_time_ns, 1000u);
  EXPECT_EQ(cursor.Find(32000)->cpu_time_ns, 320000u);
  EXPECT_EQ(cursor.Find(32001), nullptr);
  EXPECT_EQ(cursor.Find(3)->cpu_time_ns, 30u);  // went back
  EXPECT_EQ(cursor.Find(3)->cpu_time_ns, 30u);  // the same again
  EXPECT_EQ(view.Find(0)->cpu_time_ns, 0u);
  EXPECT_EQ(view.Find(5), nullptr);
  EXPECT_EQ(VolatileView().Find(0), nullptr);
  v1::Domain untouched;
  untouched.set_domid(5);
  untouched.set_cpu_time_ns(9);
  view.Merge(&untouched);
  EXPECT_EQ(untouched.cpu_time_ns(), 9u);
}

TEST(DomainStoreTest, ResumeReplaysExactlyTheMissedEvents) {
  DomainStore store({"inst", 100});
  for (uint32_t d = 1; d <= 5; ++d) store.Commit(One(Add(d, "x")));
  WatchBegin begin = store.Watch({false, true, "inst", 3}, {});
  EXPECT_EQ(begin.resync, v1::RESYNC_REASON_UNSPECIFIED);
  EXPECT_EQ(begin.initial, nullptr);
  ASSERT_EQ(begin.replay.size(), 2u);
  EXPECT_EQ(begin.replay[0]->revision, 4u);
  EXPECT_EQ(begin.replay[1]->revision, 5u);
  store.Commit(One(Add(6, "live")));
  auto live = begin.subscription->Pop();
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->event->revision, 6u);
  EXPECT_FALSE(begin.subscription->Pop().has_value());

  WatchBegin current = store.Watch({false, true, "inst", 6}, {});
  EXPECT_EQ(current.resync, v1::RESYNC_REASON_UNSPECIFIED);
  EXPECT_TRUE(current.replay.empty());
}

TEST(DomainStoreTest, ResyncReasons) {
  DomainStore store({"inst", 3});
  for (uint32_t d = 1; d <= 10; ++d) store.Commit(One(Add(d, "x")));
  EXPECT_EQ(store.Watch({false, true, "other", 5}, {}).resync,
            v1::RESYNC_REASON_INSTANCE_CHANGED);
  EXPECT_EQ(store.Watch({false, true, "inst", 11}, {}).resync,
            v1::RESYNC_REASON_REVISION_IN_FUTURE);
  WatchBegin compacted = store.Watch({false, true, "inst", 2}, {});
  EXPECT_EQ(compacted.resync, v1::RESYNC_REASON_REVISION_COMPACTED);
  ASSERT_NE(compacted.initial, nullptr);
  EXPECT_EQ(compacted.initial->domains.size(), 10u);
  EXPECT_EQ(store.Watch({false, true, "inst", 7}, {}).resync,
            v1::RESYNC_REASON_UNSPECIFIED);  // 8, 9, 10 still held
}

// Watches started while a writer commits see, for every domain, the initial
// state plus exactly the events after it: no gap, no duplicate.
TEST(DomainStoreTest, InitialStateAndLiveEventsNeverOverlapOrGap) {
  DomainStore store({"inst", 100000});
  constexpr int kCommits = 3000;
  std::thread writer([&] {
    for (int i = 0; i < kCommits; ++i) {
      uint32_t domid = i % 50;
      store.Commit(One(i < 50
                           ? Add(domid, "x")
                           : Modify(domid, i % 2 ? v1::DOMAIN_STATE_PAUSED
                                                 : v1::DOMAIN_STATE_RUNNING)));
    }
  });
  std::vector<WatchBegin> watches;
  for (int i = 0; i < 20; ++i) {
    watches.push_back(
        store.Watch({true, false, "", 0}, {DomainFilter(), {}, 100000}));
  }
  writer.join();
  for (WatchBegin& w : watches) {
    ASSERT_NE(w.initial, nullptr);
    EXPECT_EQ(w.initial->revision, w.synced_revision);
    uint64_t expected = w.synced_revision + 1;
    while (auto e = w.subscription->Pop()) {
      ASSERT_NE(e->event, nullptr);  // never behind: no catch-up, no bookmark
      EXPECT_EQ(e->event->revision, expected++);
    }
    EXPECT_EQ(expected, static_cast<uint64_t>(kCommits) + 1);
  }
}

// A reader slower than the writer, with a queue of 2: it falls behind,
// catches up from the store's newest changes while commits of several
// changes each go on (the window in which a change is recorded but not yet
// offered to it), and ends with exactly the model's domains, revisions only
// going up.
TEST(DomainStoreTest, SlowReaderCatchesUpWhileTheWriterGoesOn) {
  DomainStore store({"inst", 100000});
  for (uint32_t domid = 0; domid < 40; ++domid) {
    store.Commit(One(Add(domid, "x")));
  }
  WatchBegin w = store.Watch({true, false, "", 0}, {DomainFilter(), {}, 2});
  std::map<uint32_t, v1::DomainState> reader;
  w.initial->domains.ForEach(
      [&](const DomainPtr& d) { reader[d->domid()] = d->state(); });
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    std::mt19937 random(7);
    std::set<uint32_t> present;
    for (uint32_t domid = 0; domid < 40; ++domid) present.insert(domid);
    for (int i = 0; i < 3000; ++i) {
      std::vector<Change> changes;
      std::set<uint32_t> touched;  // one change per domid per commit
      for (int n = 1 + random() % 4; n > 0; --n) {
        uint32_t domid = random() % 60;
        if (!touched.insert(domid).second) continue;
        if (!present.contains(domid)) {
          changes.push_back(Add(domid, "x"));
          present.insert(domid);
        } else if (random() % 5 == 0) {
          changes.push_back(Delete(domid));
          present.erase(domid);
        } else {
          changes.push_back(Modify(domid, random() % 2
                                              ? v1::DOMAIN_STATE_PAUSED
                                              : v1::DOMAIN_STATE_RUNNING));
        }
      }
      store.Commit(std::move(changes));
    }
    writing = false;
  });
  uint64_t last = w.synced_revision;
  bool coalesced = false;
  while (true) {
    const bool was_writing = writing;
    auto e = w.subscription->Pop();
    if (!e) {
      if (!was_writing) break;  // everything was offered before this Pop
      std::this_thread::yield();
      continue;
    }
    if (!e->event) {  // a catch-up ended: caught up to here
      ASSERT_GE(e->bookmark, last);
      last = e->bookmark;
      continue;
    }
    ASSERT_GT(e->event->revision, last);
    last = e->event->revision;
    coalesced |= e->coalesced;
    const uint32_t domid = e->event->domid;
    if (e->type == v1::EVENT_TYPE_ADDED) {
      reader[domid] = e->event->domain->state();
    } else if (e->type == v1::EVENT_TYPE_MODIFIED) {
      ASSERT_TRUE(reader.contains(domid)) << domid;
      reader[domid] = e->event->domain->state();
    } else {
      ASSERT_EQ(e->type, v1::EVENT_TYPE_DELETED);
      ASSERT_EQ(reader.erase(domid), 1u) << domid;
    }
  }
  writer.join();
  std::map<uint32_t, v1::DomainState> expected;
  store.snapshot()->domains.ForEach(
      [&](const DomainPtr& d) { expected[d->domid()] = d->state(); });
  EXPECT_EQ(reader, expected);
  EXPECT_TRUE(coalesced);  // the reader did fall behind
  EXPECT_EQ(store.QuiescentRevision(*w.subscription), store.revision());
}

// A client that resumes from its last resume point (SYNCED, a bookmark,
// or an event not marked coalesced) converges wherever its stream broke
// off, also in the middle of a catch-up and with a filter: an event sent
// while catching up may carry a revision past older changes of other
// domains that are folded into newer ones, so resuming from it could
// skip them for good.
TEST(DomainStoreTest, AStreamCutAnywhereResumesFromItsLastResumePoint) {
  DomainStore store({"inst", 100000});
  v1::DomainFilter running;
  running.add_states(v1::DOMAIN_STATE_RUNNING);
  const DomainFilter filter(running);
  for (uint32_t domid = 1; domid <= 8; ++domid) {
    store.Commit(One(Add(domid, "x")));
    store.Commit(One(Modify(domid, v1::DOMAIN_STATE_RUNNING)));
  }
  using Model = std::map<uint32_t, std::string>;  // domid -> name/state
  auto key = [](const v1::Domain& d) {
    return absl::StrCat(d.name(), "/", v1::DomainState_Name(d.state()));
  };
  auto filtered_state = [&] {
    Model out;
    store.snapshot()->domains.ForEach([&](const DomainPtr& d) {
      if (filter.Matches(*d)) out[d->domid()] = key(*d);
    });
    return out;
  };
  WatchBegin w = store.Watch({true, false, "", 0}, {filter, {}, 2});
  const Model initial = filtered_state();
  const uint64_t synced = w.synced_revision;
  // A history with the reader falling behind and catching up again:
  // domains leave and re-enter the filter, are destroyed and replaced,
  // and change outside it.
  std::mt19937 random(11);
  std::set<uint32_t> present;
  for (uint32_t domid = 1; domid <= 8; ++domid) present.insert(domid);
  std::vector<QueuedEvent> received;
  const v1::DomainState states[] = {v1::DOMAIN_STATE_RUNNING,
                                    v1::DOMAIN_STATE_PAUSED,
                                    v1::DOMAIN_STATE_SHUTDOWN};
  for (int i = 0; i < 300; ++i) {
    const uint32_t domid = 1 + random() % 10;
    if (!present.contains(domid)) {
      Change add = Add(domid, absl::StrCat("n", i));
      add.domain->set_state(v1::DOMAIN_STATE_RUNNING);
      store.Commit(One(std::move(add)));
      present.insert(domid);
    } else if (random() % 6 == 0) {
      store.Commit(One(Delete(domid)));
      present.erase(domid);
    } else {
      store.Commit(One(Modify(domid, states[random() % 3])));
    }
    for (int n = random() % 3; n > 0; --n) {
      auto e = w.subscription->Pop();
      if (!e) break;
      received.push_back(*e);
    }
  }
  while (auto e = w.subscription->Pop()) received.push_back(*e);
  store.Unwatch(w.subscription);
  const Model expected = filtered_state();
  ASSERT_TRUE(std::any_of(received.begin(), received.end(),
                          [](const QueuedEvent& e) { return !e.event; }))
      << "the reader never fell behind";

  auto apply = [](Model& model, uint32_t domid, v1::EventType type,
                  const std::string& value) {
    if (type == v1::EVENT_TYPE_DELETED) {
      model.erase(domid);
    } else {
      model[domid] = value;
    }
  };
  for (size_t cut = 0; cut <= received.size(); ++cut) {
    SCOPED_TRACE(absl::StrCat("stream cut after ", cut, " of ", received.size(),
                              " events"));
    Model model = initial;
    uint64_t resume = synced;
    for (size_t i = 0; i < cut; ++i) {
      const QueuedEvent& e = received[i];
      if (!e.event) {
        resume = e.bookmark;
        continue;
      }
      apply(model, e.event->domid, e.type, key(*e.event->domain));
      if (!e.coalesced) resume = e.event->revision;
    }
    WatchBegin again = store.Watch({false, true, "inst", resume}, {filter});
    ASSERT_EQ(again.resync, v1::RESYNC_REASON_UNSPECIFIED);
    for (const EventPtr& event : again.replay) {
      v1::EventType type = again.subscription->EffectiveType(*event);
      if (type == v1::EVENT_TYPE_UNSPECIFIED) continue;
      apply(model, event->domid, type, key(*event->domain));
    }
    store.Unwatch(again.subscription);
    ASSERT_EQ(model, expected);
  }
}

// xl's reboot re-creates a domain under a new domid with the same UUID
// while the old one may still be dying: both are found by the UUID, and
// the index keeps both whichever of them changes or goes first.
TEST(DomainStoreTest, TwoDomainsWithOneUuidAreBothIndexed) {
  DomainStore store({"inst", 100});
  auto with_uuid = [](Change c, const std::string& uuid) {
    c.domain->set_uuid(uuid);
    return c;
  };
  store.Commit(One(with_uuid(Add(5, "web"), "u")));
  store.Commit(One(with_uuid(Add(9, "web"), "u")));
  // The old one changes after its successor appeared.
  store.Commit(One(with_uuid(Modify(5, v1::DOMAIN_STATE_DYING), "u")));
  auto both = store.FindByUuid(*store.snapshot(), "u");
  std::vector<uint32_t> domids;
  for (const auto& d : both) domids.push_back(d->domid());
  std::sort(domids.begin(), domids.end());
  EXPECT_EQ(domids, (std::vector<uint32_t>{5, 9}));
  store.Commit(One(Delete(5)));
  auto left = store.FindByUuid(*store.snapshot(), "u");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]->domid(), 9u);
}

TEST(DomainStoreTest, FindsByUuidAndNameInCurrentAndOlderSnapshots) {
  DomainStore store({"inst", 100});
  auto with_uuid = [](Change c, const std::string& uuid) {
    c.domain->set_uuid(uuid);
    return c;
  };
  store.Commit(One(with_uuid(Add(1, "web"), "u1")));
  store.Commit(One(with_uuid(Add(2, "web"), "u2")));
  store.Commit(One(with_uuid(Add(3, "db"), "u3")));
  auto before = store.snapshot();
  // The current snapshot is answered from the live index.
  ASSERT_EQ(store.FindByUuid(*before, "u2").size(), 1u);
  EXPECT_EQ(store.FindByUuid(*before, "u2")[0]->domid(), 2u);
  EXPECT_EQ(store.FindByName(*before, "web").size(), 2u);
  EXPECT_TRUE(store.FindByUuid(*before, "nope").empty());

  // Domain 2 goes, 4 reuses nothing, 3 is renamed: the older snapshot still
  // answers for its own revision (by a scan), the new one from the index.
  store.Commit(One(Delete(2)));
  store.Commit(One(with_uuid(Add(4, "web"), "u4")));
  Change rename = with_uuid(Modify(3, v1::DOMAIN_STATE_RUNNING), "u3");
  rename.domain->set_name("db-renamed");
  store.Commit(One(std::move(rename)));
  auto after = store.snapshot();
  EXPECT_EQ(store.FindByUuid(*before, "u2").size(), 1u);
  EXPECT_TRUE(store.FindByUuid(*after, "u2").empty());
  EXPECT_EQ(store.FindByUuid(*after, "u4")[0]->domid(), 4u);
  EXPECT_EQ(store.FindByName(*before, "db").size(), 1u);
  EXPECT_TRUE(store.FindByName(*after, "db").empty());
  EXPECT_EQ(store.FindByName(*after, "db-renamed")[0]->domid(), 3u);
  std::vector<uint32_t> webs;
  for (const auto& d : store.FindByName(*after, "web")) {
    webs.push_back(d->domid());
  }
  std::sort(webs.begin(), webs.end());
  EXPECT_EQ(webs, (std::vector<uint32_t>{1, 4}));
}

TEST(DomainStoreTest, UnwatchStopsDelivery) {
  DomainStore store({"inst", 100});
  WatchBegin w = store.Watch({}, {});
  EXPECT_EQ(store.subscription_count(), 1u);
  store.Unwatch(w.subscription);
  EXPECT_EQ(store.subscription_count(), 0u);
  store.Commit(One(Add(1, "a")));
  EXPECT_FALSE(w.subscription->Pop().has_value());
}

}  // namespace
}  // namespace xenlet::store
