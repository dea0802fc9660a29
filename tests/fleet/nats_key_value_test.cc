// fleet/nats/key_value against a real nats-server: buckets, put, get,
// delete, keys, and watchers (initial values, the end marker, live changes,
// and what happens to a watcher when the server restarts).
#include <signal.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fleet/fleet_names.h"
#include "fleet/nats/connection.h"
#include "fleet/nats/key_value.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fleet/nats_server.h"
#include "tests/testing/temp_dir.h"

namespace xenlet::fleet::nats {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using xenlet::testing::NatsServer;

class KeyValueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = NatsServer::Start({.dir = dir_.path()});
    ASSERT_NE(server_, nullptr);
    ConnectionOptions options;
    options.servers = {server_->url()};
    options.name = "key_value_test";
    options.reconnect_wait = absl::Milliseconds(100);
    options.on_async_error = [this](const absl::Status&) {
      absl::MutexLock lock(&async_mu_);
      ++async_seen_;
    };
    auto conn = Connection::Open(options);
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = std::move(*conn);
    auto kv = KeyValue::Open(
        *conn_,
        BucketConfig{.name = std::string(kDomainsBucket), .history = 5});
    ASSERT_TRUE(kv.ok()) << kv.status();
    kv_ = std::move(*kv);
  }

  // The next item that is not a timeout, waiting up to 10 s.
  WatchItem NextItem(KvWatcher& watcher) {
    auto item = watcher.Next(absl::Seconds(10));
    EXPECT_TRUE(item.ok()) << item.status();
    return item.ok() ? *item : WatchItem{};
  }

  xenlet::testing::TempDir dir_;
  std::unique_ptr<NatsServer> server_;
  // True once libnats has reported `n` asynchronous errors.
  bool WaitForAsyncErrors(uint64_t n, absl::Duration timeout) {
    absl::MutexLock lock(&async_mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(async_mu_) {
      return async_seen_ >= n;
    };
    return async_mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }

  absl::Mutex async_mu_;
  uint64_t async_seen_ ABSL_GUARDED_BY(async_mu_) = 0;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<KeyValue> kv_;
};

TEST_F(KeyValueTest, PutGetDeleteKeys) {
  EXPECT_EQ(kv_->bucket(), "xenlet-domains");
  auto rev1 = kv_->Put("h1.u1", "one");
  ASSERT_TRUE(rev1.ok()) << rev1.status();
  auto rev2 = kv_->Put("h1.u1", "two");
  ASSERT_TRUE(rev2.ok()) << rev2.status();
  EXPECT_GT(*rev2, *rev1);
  ASSERT_TRUE(kv_->Put("h1.u2", "x").ok());
  ASSERT_TRUE(kv_->Put("h2.u3", "y").ok());

  auto got = kv_->Get("h1.u1");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->key, "h1.u1");
  EXPECT_EQ((*got)->value, "two");
  EXPECT_EQ((*got)->revision, *rev2);
  EXPECT_EQ((*got)->operation, KvOperation::kPut);
  EXPECT_LE((*got)->created, absl::Now() + absl::Seconds(1));

  auto missing = kv_->Get("h1.nothing");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->has_value());

  ASSERT_TRUE(kv_->Delete("h1.u1").ok());
  got = kv_->Get("h1.u1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_value());

  auto all = kv_->Keys();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(*all, ElementsAre("h1.u2", "h2.u3"));
  auto h1 = kv_->Keys(HostDomainsFilter("h1"));
  ASSERT_TRUE(h1.ok()) << h1.status();
  EXPECT_THAT(*h1, ElementsAre("h1.u2"));
  auto h9 = kv_->Keys("h9.>");
  ASSERT_TRUE(h9.ok()) << h9.status();
  EXPECT_TRUE(h9->empty());
}

TEST_F(KeyValueTest, OpenBindsToTheExistingBucket) {
  ASSERT_TRUE(kv_->Put("h1.u1", "v").ok());
  auto again = KeyValue::Open(*conn_, {.name = std::string(kDomainsBucket)});
  ASSERT_TRUE(again.ok()) << again.status();
  auto got = (*again)->Get("h1.u1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "v");
}

TEST_F(KeyValueTest, OpenRejectsBadConfigs) {
  auto kv = KeyValue::Open(*conn_, {.name = "b", .history = 65});
  EXPECT_EQ(kv.status().code(), absl::StatusCode::kInvalidArgument);
  kv = KeyValue::Open(*conn_, {.name = "bad.name"});
  EXPECT_FALSE(kv.ok());
  EXPECT_THAT(std::string(kv.status().message()), HasSubstr("bad.name"));
}

TEST_F(KeyValueTest, BadKeysFail) {
  auto rev = kv_->Put("h1..u1", "v");
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kInvalidArgument)
      << rev.status();
  EXPECT_THAT(std::string(rev.status().message()),
              HasSubstr("put xenlet-domains h1..u1"));
}

TEST_F(KeyValueTest, WatcherGivesInitialValuesThenTheMarkerThenChanges) {
  ASSERT_TRUE(kv_->Put("h1.a", "a1").ok());
  ASSERT_TRUE(kv_->Put("h1.b", "b1").ok());
  ASSERT_TRUE(kv_->Put("h1.a", "a2").ok());
  ASSERT_TRUE(kv_->Put("h2.c", "c1").ok());

  auto watcher = kv_->Watch("h1.>");
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  // The last value of each key, in stream order.
  WatchItem item = NextItem(**watcher);
  ASSERT_EQ(item.kind, WatchItem::kEntry);
  EXPECT_EQ(item.entry.key, "h1.b");
  EXPECT_EQ(item.entry.value, "b1");
  item = NextItem(**watcher);
  ASSERT_EQ(item.kind, WatchItem::kEntry);
  EXPECT_EQ(item.entry.key, "h1.a");
  EXPECT_EQ(item.entry.value, "a2");
  EXPECT_EQ(item.entry.revision, 3u);
  EXPECT_EQ(NextItem(**watcher).kind, WatchItem::kInitialDone);

  auto quiet = (*watcher)->Next(absl::Milliseconds(50));
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet->kind, WatchItem::kTimeout);

  ASSERT_TRUE(kv_->Put("h2.c", "c2").ok());  // not under h1
  ASSERT_TRUE(kv_->Put("h1.d", "d1").ok());
  item = NextItem(**watcher);
  ASSERT_EQ(item.kind, WatchItem::kEntry);
  EXPECT_EQ(item.entry.key, "h1.d");
  EXPECT_EQ(item.entry.value, "d1");
  EXPECT_EQ(item.entry.operation, KvOperation::kPut);

  ASSERT_TRUE(kv_->Delete("h1.a").ok());
  item = NextItem(**watcher);
  ASSERT_EQ(item.kind, WatchItem::kEntry);
  EXPECT_EQ(item.entry.key, "h1.a");
  EXPECT_EQ(item.entry.operation, KvOperation::kDelete);
  EXPECT_EQ(item.entry.value, "");
  EXPECT_EQ(KvOperationName(item.entry.operation), "delete");
}

TEST_F(KeyValueTest, WatcherOfAnEmptyBucketStartsWithTheMarker) {
  auto watcher = kv_->Watch(">");
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  EXPECT_EQ(NextItem(**watcher).kind, WatchItem::kInitialDone);
  ASSERT_TRUE(kv_->Put("h1.a", "a").ok());
  WatchItem item = NextItem(**watcher);
  ASSERT_EQ(item.kind, WatchItem::kEntry);
  EXPECT_EQ(item.entry.key, "h1.a");
}

TEST_F(KeyValueTest, InitialValuesIncludeDeleteMarkers) {
  ASSERT_TRUE(kv_->Put("h1.a", "a").ok());
  ASSERT_TRUE(kv_->Put("h1.b", "b").ok());
  ASSERT_TRUE(kv_->Delete("h1.a").ok());
  auto watcher = kv_->Watch(">");
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  // The last revision of each key, a delete marker included.
  std::vector<std::string> seen;
  while (true) {
    WatchItem item = NextItem(**watcher);
    if (item.kind != WatchItem::kEntry) break;
    seen.push_back(item.entry.key + ":" +
                   std::string(KvOperationName(item.entry.operation)));
  }
  EXPECT_THAT(seen, ElementsAre("h1.b:put", "h1.a:delete"));
}

TEST_F(KeyValueTest, StopEndsAWaitingNext) {
  auto watcher = kv_->Watch(">");
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  EXPECT_EQ(NextItem(**watcher).kind, WatchItem::kInitialDone);
  absl::StatusOr<WatchItem> result;
  std::thread waiter([&] { result = (*watcher)->Next(absl::Seconds(30)); });
  (*watcher)->Stop();
  waiter.join();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled)
      << result.status();
}

// libnats's watcher is an ordered consumer, kept in the server's memory:
// a restarted server has forgotten it. libnats recreates it on the
// reconnect, from the stream sequence after the last one it delivered, so
// changes after the restart come through at once. The same holds after a
// SIGKILL.
TEST_F(KeyValueTest, WatcherSurvivesAServerRestart) {
  ASSERT_TRUE(kv_->Put("h1.a", "a1").ok());
  auto watcher = kv_->Watch(">");
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  EXPECT_EQ(NextItem(**watcher).kind, WatchItem::kEntry);
  EXPECT_EQ(NextItem(**watcher).kind, WatchItem::kInitialDone);

  kill(server_->pid(), SIGKILL);
  ASSERT_TRUE(server_->Restart());
  ASSERT_TRUE(conn_->WaitUntilConnected(absl::Seconds(10)));
  EXPECT_EQ(conn_->reconnects(), 1u);
  ASSERT_TRUE(kv_->Put("h1.b", "b1").ok());
  ASSERT_TRUE(kv_->Delete("h1.a").ok());
  WatchItem item = NextItem(**watcher);
  ASSERT_EQ(item.kind, WatchItem::kEntry);
  EXPECT_EQ(item.entry.key, "h1.b");
  EXPECT_EQ(item.entry.revision, 2u);
  item = NextItem(**watcher);
  ASSERT_EQ(item.kind, WatchItem::kEntry);
  EXPECT_EQ(item.entry.key, "h1.a");
  EXPECT_EQ(item.entry.operation, KvOperation::kDelete);
}

// ... but it resumes by stream sequence: a server that comes back without
// its store (a new bucket, sequences from 1 again) leaves it waiting for a
// sequence past the old ones. Here libnats's first attempt to recreate the
// consumer, at the reconnect, fails (no bucket yet); its next, after 2
// heartbeat intervals without a heartbeat (10-20 s), starts at sequence 3:
// the new bucket's first two changes never reach the watcher, and no new
// end-of-initial-values marker comes. A new watcher has them all.
TEST_F(KeyValueTest, WatcherMissesChangesWhenTheServerLosesItsStore) {
  ASSERT_TRUE(kv_->Put("h1.a", "a1").ok());
  ASSERT_TRUE(kv_->Put("h1.b", "b1").ok());
  auto watcher = kv_->Watch(">");
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  EXPECT_EQ(NextItem(**watcher).kind, WatchItem::kEntry);
  EXPECT_EQ(NextItem(**watcher).kind, WatchItem::kEntry);
  EXPECT_EQ(NextItem(**watcher).kind, WatchItem::kInitialDone);

  ASSERT_TRUE(server_->Stop());
  std::filesystem::remove_all(dir_.File("nats.store"));
  ASSERT_TRUE(server_->Restart());
  ASSERT_TRUE(conn_->WaitUntilConnected(absl::Seconds(10)));
  // The bucket comes back only after libnats's first attempt to recreate
  // the watcher's consumer has failed (reported as an asynchronous error):
  // otherwise, on a slow machine, that attempt could find the new bucket
  // and start from its first sequence.
  ASSERT_TRUE(WaitForAsyncErrors(1, absl::Seconds(30)));
  auto kv = KeyValue::Open(
      *conn_, BucketConfig{.name = std::string(kDomainsBucket), .history = 5});
  ASSERT_TRUE(kv.ok()) << kv.status();
  for (const char* key : {"h1.x", "h1.y", "h1.z"}) {
    ASSERT_TRUE((*kv)->Put(key, "v").ok());
  }

  auto item = (*watcher)->Next(absl::Seconds(40));
  ASSERT_TRUE(item.ok()) << item.status();
  ASSERT_EQ(item->kind, WatchItem::kEntry);
  EXPECT_EQ(item->entry.key, "h1.z");
  EXPECT_EQ(item->entry.revision, 3u);
  // libnats said why, as asynchronous errors.
  EXPECT_GE(conn_->async_errors(), 1u);
  EXPECT_EQ(conn_->LastAsyncError().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(conn_->LastAsyncError().message()),
              HasSubstr("nats: asynchronous error: Missed Server Heartbeat"));

  auto fresh = (*kv)->Watch(">");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  std::vector<std::string> keys;
  for (WatchItem i = NextItem(**fresh); i.kind == WatchItem::kEntry;
       i = NextItem(**fresh)) {
    keys.push_back(i.entry.key);
  }
  EXPECT_THAT(keys, ElementsAre("h1.x", "h1.y", "h1.z"));
}

}  // namespace
}  // namespace xenlet::fleet::nats
