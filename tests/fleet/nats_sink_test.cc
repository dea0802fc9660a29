// NatsSink against a real nats-server: two publishers with one host id are
// noticed through the health key's revisions (KeyValue::Update).
#include "fleet/publisher/nats_sink.h"

#include "fleet/nats/connection.h"
#include "fleet/nats/key_value.h"
#include "gtest/gtest.h"
#include "tests/fleet/nats_server.h"
#include "tests/testing/temp_dir.h"

namespace xenlet::fleet {
namespace {

class NatsSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = xenlet::testing::NatsServer::Start({.dir = dir_.path()});
    ASSERT_NE(server_, nullptr);
    nats::ConnectionOptions options;
    options.servers = {server_->url()};
    auto connection = nats::Connection::Open(options);
    ASSERT_TRUE(connection.ok()) << connection.status();
    connection_ = std::move(*connection);
  }
  std::unique_ptr<NatsSink> Sink() {
    auto sink = NatsSink::Open(*connection_, {.replicas = 1});
    EXPECT_TRUE(sink.ok()) << sink.status();
    return sink.ok() ? std::move(*sink) : nullptr;
  }

  xenlet::testing::TempDir dir_;
  std::unique_ptr<xenlet::testing::NatsServer> server_;
  std::unique_ptr<nats::Connection> connection_;
};

TEST_F(NatsSinkTest, UpdateIsConditionalOnTheLastRevision) {
  auto kv = nats::KeyValue::Open(*connection_, {.name = "conditional"});
  ASSERT_TRUE(kv.ok()) << kv.status();
  auto first = (*kv)->Update("k", "a", 0);  // only if it has no value
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*kv)->Update("k", "b", 0).status().code(),
            absl::StatusCode::kAborted);
  auto second = (*kv)->Update("k", "b", *first);
  ASSERT_TRUE(second.ok()) << second.status();
  const absl::Status stale = (*kv)->Update("k", "c", *first).status();
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted) << stale;
  ASSERT_TRUE((*kv)->Delete("k").ok());
  EXPECT_TRUE((*kv)->Update("k", "d", 0).ok());  // deleted: no value
}

TEST_F(NatsSinkTest, TwoPublishersWithOneHostId) {
  auto first = Sink();
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->GetHealth("h1").ok());
  ASSERT_TRUE(first->PutHealth("h1", "{\"host\":\"h1\"}").ok());
  ASSERT_TRUE(first->PutHealth("h1", "{\"host\":\"h1\",\"state\":1}").ok());

  // A restart of the same publisher reads its health back and goes on.
  auto restarted = Sink();
  ASSERT_NE(restarted, nullptr);
  ASSERT_TRUE(restarted->GetHealth("h1").ok());
  ASSERT_TRUE(restarted->PutHealth("h1", "{\"host\":\"h1\",\"state\":2}").ok());

  // The first one, still running, finds the key moved on.
  const absl::Status taken = first->PutHealth("h1", "{\"host\":\"h1\"}");
  EXPECT_EQ(taken.code(), absl::StatusCode::kAborted) << taken;
  EXPECT_NE(taken.message().find("--host-id h1"), absl::string_view::npos)
      << taken;
}

}  // namespace
}  // namespace xenlet::fleet
