#include "xen/testing/memory_xenstore.h"

#include <poll.h>

#include <cerrno>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/status_macros.h"
#include "xen/errno_status.h"

namespace xenlet::xen::testing {
namespace {

std::unique_ptr<XenstoreClient> Open(MemoryXenstore& xs) {
  auto client = xs.Connect();
  EXPECT_TRUE(client.ok()) << client.status();
  return std::move(*client);
}

// The events already queued on c, without waiting.
std::vector<std::pair<std::string, std::string>> Events(XenstoreClient& c) {
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    auto event = c.NextWatchEvent(absl::ZeroDuration());
    EXPECT_TRUE(event.ok()) << event.status();
    if (!event.ok() || !*event) return out;
    out.emplace_back((*event)->path, (*event)->token);
  }
}

bool Readable(int fd) {
  pollfd pfd{fd, POLLIN, 0};
  return poll(&pfd, 1, 0) == 1;
}

using EventList = std::vector<std::pair<std::string, std::string>>;

TEST(MemoryXenstoreTest, AWriteCreatesItsParentsAndAMissingNodeIsNotFound) {
  MemoryXenstore xs;
  auto c = Open(xs);
  ASSERT_OK(c->Write("/local/domain/3/name", "web"));
  EXPECT_EQ(*c->Read("/local/domain/3/name"), "web");
  EXPECT_EQ(*c->Read("/local/domain/3"), "");
  EXPECT_EQ(*c->Directory("/local/domain"), std::vector<std::string>{"3"});
  absl::Status missing = c->Read("/local/domain/4/name").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StatusErrno(missing), ENOENT);
  EXPECT_EQ(c->Directory("/vm").status().code(), absl::StatusCode::kNotFound);
  // xenstored's do_rm: a missing node under an existing parent is fine,
  // under a missing one ENOENT.
  EXPECT_OK(c->Remove("/vm"));
  EXPECT_EQ(c->Remove("/vm/x").code(), absl::StatusCode::kNotFound);
  // What a fresh C xenstored holds.
  EXPECT_EQ(*c->Directory("/"), (std::vector<std::string>{"local", "tool"}));
  EXPECT_TRUE(*c->IsDomainIntroduced(0));
  EXPECT_EQ(c->Write("/a/b.c", "x").code(),
            absl::StatusCode::kInvalidArgument);  // '.' is no valid char
  EXPECT_EQ(c->Write("relative", "x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c->Write("/a//b", "x").code(), absl::StatusCode::kInvalidArgument);
}

TEST(MemoryXenstoreTest, RemoveTakesTheSubtreeAndNotItsLookalikeSiblings) {
  MemoryXenstore xs;
  auto c = Open(xs);
  ASSERT_OK(c->Write("/local/domain/3/name", "a"));
  ASSERT_OK(c->Write("/local/domain/3/device/vif/0", "b"));
  ASSERT_OK(c->Write("/local/domain/3-x", "sibling"));
  ASSERT_OK(c->Write("/local/domain/30/name", "other"));
  ASSERT_OK(c->Remove("/local/domain/3"));
  EXPECT_EQ(c->Read("/local/domain/3/device/vif/0").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*c->Read("/local/domain/3-x"), "sibling");
  EXPECT_EQ(*c->Read("/local/domain/30/name"), "other");
  EXPECT_EQ(*c->Directory("/local/domain"),
            (std::vector<std::string>{"3-x", "30"}));
}

TEST(MemoryXenstoreTest, WatchesFireOnRegistrationAndForTheirSubtree) {
  MemoryXenstore xs;
  auto watcher = Open(xs);
  auto writer = Open(xs);
  ASSERT_OK(watcher->Watch("/local/domain", "t"));
  EXPECT_EQ(Events(*watcher), (EventList{{"/local/domain", "t"}}));
  EXPECT_FALSE(Readable(watcher->WatchFd()));

  ASSERT_OK(writer->Write("/local/domain/3/name", "web"));
  ASSERT_OK(writer->Write("/vm/x", "elsewhere"));
  EXPECT_TRUE(Readable(watcher->WatchFd()));
  EXPECT_EQ(Events(*watcher), (EventList{{"/local/domain/3/name", "t"}}));
  EXPECT_FALSE(Readable(watcher->WatchFd()));
  EXPECT_EQ(watcher->Watch("/local/domain", "t").code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(MemoryXenstoreTest, ARemovalAlsoFiresTheWatchesBelowIt) {
  MemoryXenstore xs;
  auto c = Open(xs);
  ASSERT_OK(c->Write("/local/domain/3/name", "web"));
  ASSERT_OK(c->Watch("/local", "top"));
  ASSERT_OK(c->Watch("/local/domain/3/name", "name"));
  // A key that never existed: its watch does not fire when the domain's
  // directory goes (xenstored fires the nodes it removes).
  ASSERT_OK(c->Watch("/local/domain/3/control/shutdown", "never"));
  Events(*c);
  ASSERT_OK(c->Remove("/local/domain/3"));
  // The removed descendants first, deepest first; then the node itself.
  EXPECT_EQ(Events(*c), (EventList{{"/local/domain/3/name", "name"},
                                   {"/local/domain/3", "top"}}));
  ASSERT_OK(c->Unwatch("/local", "top"));
  EXPECT_EQ(c->Unwatch("/local", "top").code(), absl::StatusCode::kNotFound);
}

TEST(MemoryXenstoreTest, SpecialWatchesFireOnlyWhenNamed) {
  MemoryXenstore xs;
  auto agent = Open(xs);
  auto toolstack = Open(xs);
  ASSERT_OK(agent->Watch("@introduceDomain", "in"));
  ASSERT_OK(agent->Watch("@releaseDomain", "out"));
  ASSERT_OK(agent->Watch("/", "all"));
  Events(*agent);
  ASSERT_OK(toolstack->IntroduceDomain(5, 0x1234, 7));
  ASSERT_OK(toolstack->IntroduceDomain(5, 0x1234, 8));  // rebinding: no event
  EXPECT_TRUE(*toolstack->IsDomainIntroduced(5));
  ASSERT_OK(toolstack->ResumeDomain(5));
  ASSERT_OK(toolstack->ReleaseDomain(5));
  EXPECT_EQ(toolstack->ReleaseDomain(5).code(), absl::StatusCode::kNotFound);
  xs.FireSpecial("@releaseDomain");  // a domain died
  EXPECT_EQ(Events(*agent), (EventList{{"@introduceDomain", "in"},
                                       {"@releaseDomain", "out"},
                                       {"@releaseDomain", "out"}}));
}

TEST(MemoryXenstoreTest, ATransactionCommitsAtomicallyAndFiresAtCommit) {
  MemoryXenstore xs;
  auto c = Open(xs);
  auto other = Open(xs);
  ASSERT_OK(other->Watch("/local/domain", "t"));
  Events(*other);
  auto txn = c->BeginTransaction();
  ASSERT_TRUE(txn.ok());
  ASSERT_OK((*txn)->Write("/local/domain/3/name", "web"));
  ASSERT_OK((*txn)->SetPermissions("/local/domain/3", {"n0", "r3"}));
  ASSERT_OK((*txn)->Mkdir("/local/domain/3/device"));
  ASSERT_OK((*txn)->Mkdir("/local/domain/3/device"));  // exists: nothing
  EXPECT_EQ(*(*txn)->Read("/local/domain/3/name"), "web");
  // Not seen outside before the commit.
  EXPECT_EQ(other->Read("/local/domain/3/name").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(Events(*other).empty());
  ASSERT_OK((*txn)->Commit());
  EXPECT_EQ(*other->Read("/local/domain/3/name"), "web");
  auto check = c->BeginTransaction();
  EXPECT_EQ(*(*check)->GetPermissions("/local/domain/3"),
            (std::vector<std::string>{"n0", "r3"}));
  // A new node takes its parent's permissions.
  EXPECT_EQ(*(*check)->GetPermissions("/local/domain/3/device"),
            (std::vector<std::string>{"n0", "r3"}));
  (*check)->Abort();
  EXPECT_EQ(Events(*other), (EventList{{"/local/domain/3/name", "t"},
                                       {"/local/domain/3", "t"},
                                       {"/local/domain/3/device", "t"}}));
  EXPECT_EQ(xs.transactions_committed(), 1u);
}

TEST(MemoryXenstoreTest, AConflictingTransactionIsAbortedWithEagain) {
  MemoryXenstore xs;
  auto a = Open(xs);
  auto b = Open(xs);
  ASSERT_OK(a->Write("/local/domain/3/name", "web"));
  auto txn = a->BeginTransaction();
  ASSERT_TRUE(txn.ok());
  EXPECT_EQ(*(*txn)->Read("/local/domain/3/name"), "web");
  ASSERT_OK((*txn)->Write("/local/domain/3/memory/target", "1024"));
  ASSERT_OK(b->Write("/local/domain/3/name", "db"));  // what txn read
  absl::Status commit = (*txn)->Commit();
  EXPECT_EQ(commit.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(StatusErrno(commit), EAGAIN);
  EXPECT_EQ(a->Read("/local/domain/3/memory/target").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(xs.transactions_conflicted(), 1u);

  // No snapshot: a node is read when the transaction first touches it, so
  // a change before that is seen and is no conflict.
  auto late = a->BeginTransaction();
  ASSERT_OK(b->Write("/local/domain/3/name", "before-first-touch"));
  EXPECT_EQ(*(*late)->Read("/local/domain/3/name"), "before-first-touch");
  ASSERT_OK((*late)->Commit());

  // A listing conflicts with a child created meanwhile; an untouched
  // node does not.
  auto list = a->BeginTransaction();
  ASSERT_TRUE((*list)->Directory("/local/domain").ok());
  ASSERT_OK(b->Write("/vm/u", "elsewhere"));
  ASSERT_OK((*list)->Write("/local/domain/3/x", "1"));
  ASSERT_OK((*list)->Commit());
  auto list2 = a->BeginTransaction();
  ASSERT_TRUE((*list2)->Directory("/local/domain").ok());
  ASSERT_OK(b->Write("/local/domain/4/name", "new"));
  EXPECT_EQ((*list2)->Commit().code(), absl::StatusCode::kAborted);

  // RunTransaction retries the whole body.
  int calls = 0;
  ASSERT_OK(RunTransaction(*a, [&](XenstoreTransaction& t) {
    auto name = t.Read("/local/domain/3/name");
    if (!name.ok()) return name.status();
    if (++calls == 1) {
      absl::Status s = b->Write("/local/domain/3/name", "moved");
      if (!s.ok()) return s;
    }
    return t.Write("/local/domain/3/seen", *name);
  }));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(*a->Read("/local/domain/3/seen"), "moved");
  EXPECT_EQ(xs.transactions_conflicted(), 3u);
}

TEST(MemoryXenstoreTest, ACrashFailsEveryConnectionAndARestartIsEmpty) {
  MemoryXenstore xs;
  auto c = Open(xs);
  ASSERT_OK(c->Write("/local/domain/3/name", "web"));
  ASSERT_OK(c->Watch("/local", "t"));
  Events(*c);
  auto txn = c->BeginTransaction();
  xs.Crash();
  EXPECT_TRUE(Readable(c->WatchFd()));  // a waiting reader wakes
  EXPECT_EQ(c->NextWatchEvent(absl::Seconds(10)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(c->Read("/local").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*txn)->Commit().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(xs.Connect().status().code(), absl::StatusCode::kUnavailable);
  xs.Restart();
  auto fresh = Open(xs);
  EXPECT_EQ(fresh->Read("/local/domain/3/name").status().code(),
            absl::StatusCode::kNotFound);
  // The old connection stays lost: a client must reconnect.
  EXPECT_EQ(c->Read("/").status().code(), absl::StatusCode::kUnavailable);
}

TEST(MemoryXenstoreTest, NextWatchEventWaitsForAnEventFromAnotherThread) {
  MemoryXenstore xs;
  auto watcher = Open(xs);
  auto writer = Open(xs);
  ASSERT_OK(watcher->Watch("/local/domain/7", "t"));
  Events(*watcher);
  std::thread write([&] { EXPECT_OK(writer->Write("/local/domain/7", "")); });
  // Waits (bounded) for the write; no sleep decides the order.
  auto event = watcher->NextWatchEvent(absl::Seconds(30));
  write.join();
  ASSERT_TRUE(event.ok());
  ASSERT_TRUE(event->has_value());
  EXPECT_EQ((*event)->path, "/local/domain/7");
  EXPECT_GT(xs.requests(), 0u);
}

}  // namespace
}  // namespace xenlet::xen::testing
