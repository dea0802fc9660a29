// fleet/nats against a 3-node JetStream cluster: losing the server the
// client is connected to (and perhaps the stream's leader) while
// publishing and watching.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fleet/nats/connection.h"
#include "fleet/nats/jetstream.h"
#include "fleet/nats/key_value.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fleet/connection_events.h"
#include "tests/fleet/nats_server.h"
#include "tests/testing/temp_dir.h"

namespace xenlet::fleet::nats {
namespace {

using ::testing::ElementsAre;
using xenlet::testing::ConnectionEvents;
using xenlet::testing::NatsCluster;

// Retries `op` until it succeeds, for up to 30 s: while a cluster elects a
// leader (for a stream, or JetStream's own), JetStream calls fail
// (UNAVAILABLE, no responders) or time out, and nothing announces the new
// leader, so a bounded retry is the only way to learn it is there.
template <typename Op>
auto Eventually(Op op) -> decltype(op()) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  auto result = op();
  while (!result.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));  // a retry's pace, not a wait
    result = op();
  }
  return result;
}

// Publishes until it is acknowledged, with the same id each time.
absl::StatusOr<PublishAck> PublishUntilStored(Connection& conn,
                                              const std::string& id) {
  return Eventually(
      [&] { return Publish(conn, "events.h1", id, id, absl::Seconds(2)); });
}

ConnectionOptions ClusterOptions(const std::string& urls) {
  ConnectionOptions options;
  options.servers = SplitServerList(urls);
  options.name = "cluster_test";
  options.reconnect_wait = absl::Milliseconds(100);
  return options;
}

// The client is connected to the stream's leader (given only its URL; it
// learns the others from the cluster), and that server is SIGKILLed: the
// client reconnects to another at once, publishing fails (UNAVAILABLE)
// until the others elect a new leader, then the same id is stored once.
// A key-value watcher on the connection catches up by itself.
TEST(NatsClusterTest, LosingTheStreamLeaderTheClientIsConnectedTo) {
  xenlet::testing::TempDir dir;
  auto cluster = NatsCluster::Start(dir.path());
  ASSERT_NE(cluster, nullptr);
  auto admin = Connection::Open(ClusterOptions(cluster->urls()));
  ASSERT_TRUE(admin.ok()) << admin.status();
  // The meta leader may still be settling.
  auto change = Eventually([&] {
    return EnsureStream(
        **admin, {.name = "EVENTS", .subjects = {"events.>"}, .replicas = 3});
  });
  ASSERT_TRUE(change.ok()) << change.status();
  auto state = GetStreamState(**admin, "EVENTS");
  ASSERT_TRUE(state.ok()) << state.status();
  int leader = -1;
  for (int i = 0; i < cluster->size(); ++i) {
    if (cluster->server(i).name() == state->leader) leader = i;
  }
  ASSERT_GE(leader, 0) << "leader '" << state->leader << "'";

  ConnectionEvents events;
  ConnectionOptions options = ClusterOptions(cluster->server(leader).url());
  options.on_connection_change = events.Listener();
  auto conn = Connection::Open(options);
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto kv = KeyValue::Open(**conn, {.name = "domains", .replicas = 3});
  ASSERT_TRUE(kv.ok()) << kv.status();
  auto watcher = (*kv)->Watch(">");
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  auto first = (*watcher)->Next(absl::Seconds(10));
  ASSERT_TRUE(first.ok() && first->kind == WatchItem::kInitialDone);
  for (const char* id : {"a", "b"}) {
    auto ack = PublishUntilStored(**conn, id);
    ASSERT_TRUE(ack.ok()) << ack.status();
  }

  const absl::Time lost = absl::Now();
  kill(cluster->server(leader).pid(), SIGKILL);
  cluster->server(leader).Stop();  // reaps it
  EXPECT_THAT(events.WaitFor(2, absl::Seconds(10)), ElementsAre(false, true));
  EXPECT_EQ((*conn)->disconnects(), 1u);
  EXPECT_EQ((*conn)->reconnects(), 1u);
  EXPECT_NE((*conn)->ConnectedUrl(), cluster->server(leader).url());

  auto during = Publish(**conn, "events.h1", "c", "c", absl::Seconds(2));
  std::cerr << "right after the loss: "
            << (during.ok() ? "stored" : during.status().ToString()) << "\n";
  if (!during.ok()) {
    EXPECT_THAT(during.status().code(),
                ::testing::AnyOf(absl::StatusCode::kUnavailable,
                                 absl::StatusCode::kDeadlineExceeded));
  }
  auto ack = PublishUntilStored(**conn, "c");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->sequence, 3u);
  std::cerr << "stored again " << absl::Now() - lost << " after the loss\n";

  auto stored =
      Eventually([&] { return ReadAll(**conn, "EVENTS", "events.>"); });
  ASSERT_TRUE(stored.ok()) << stored.status();
  std::vector<std::string> ids;
  for (const StoredMessage& m : *stored) ids.push_back(m.msg_id);
  EXPECT_THAT(ids, ElementsAre("a", "b", "c"));

  auto rev = Eventually([&] { return (*kv)->Put("h1.x", "after"); });
  ASSERT_TRUE(rev.ok()) << rev.status();
  auto item = (*watcher)->Next(absl::Seconds(90));
  ASSERT_TRUE(item.ok()) << item.status();
  ASSERT_EQ(item->kind, WatchItem::kEntry);
  EXPECT_EQ(item->entry.key, "h1.x");
  std::cerr << "the watcher saw the put " << absl::Now() - lost
            << " after the loss\n";
}

}  // namespace
}  // namespace xenlet::fleet::nats
