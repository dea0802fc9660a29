// fleet/nats/jetstream against a real nats-server: streams made and
// updated, publishing with message ids (the server's deduplication), and
// reading a stream back.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "fleet/fleet_names.h"
#include "fleet/nats/connection.h"
#include "fleet/nats/jetstream.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fleet/nats_server.h"
#include "tests/testing/temp_dir.h"

namespace xenlet::fleet::nats {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class JetStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = xenlet::testing::NatsServer::Start({.dir = dir_.path()});
    ASSERT_NE(server_, nullptr);
    ConnectionOptions options;
    options.servers = {server_->url()};
    options.name = "jetstream_test";
    auto conn = Connection::Open(options);
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = std::move(*conn);
    ASSERT_TRUE(conn_->connected());
  }

  StreamConfig EventsStream() const {
    StreamConfig config;
    config.name = std::string(kEventsStream);
    config.subjects = {absl::StrCat(kEventsSubjectPrefix, ">")};
    config.duplicates_window = absl::Minutes(2);
    return config;
  }

  xenlet::testing::TempDir dir_;
  std::unique_ptr<xenlet::testing::NatsServer> server_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(JetStreamTest, EnsureStreamCreatesKeepsAndUpdates) {
  StreamConfig config = EventsStream();
  auto change = EnsureStream(*conn_, config);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, StreamChange::kCreated);

  change = EnsureStream(*conn_, config);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, StreamChange::kUnchanged);
  config.duplicates_window = absl::ZeroDuration();  // whatever it is
  change = EnsureStream(*conn_, config);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, StreamChange::kUnchanged);

  config.max_age = absl::Hours(24);
  config.max_bytes = 1 << 20;
  change = EnsureStream(*conn_, config);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, StreamChange::kUpdated);
  change = EnsureStream(*conn_, config);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, StreamChange::kUnchanged);

  config.subjects.push_back("xenlet.other.>");
  change = EnsureStream(*conn_, config);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, StreamChange::kUpdated);
  EXPECT_EQ(StreamChangeName(*change), "updated");
}

TEST_F(JetStreamTest, EnsureStreamReportsAnUpdateTheServerRefuses) {
  StreamConfig other{.name = "OTHER", .subjects = {"xenlet.other.>"}};
  ASSERT_TRUE(EnsureStream(*conn_, other).ok());
  StreamConfig config = EventsStream();
  ASSERT_TRUE(EnsureStream(*conn_, config).ok());
  config.subjects.push_back("xenlet.other.>");  // OTHER's
  auto change = EnsureStream(*conn_, config);
  ASSERT_FALSE(change.ok());
  EXPECT_EQ(change.status().code(), absl::StatusCode::kFailedPrecondition)
      << change.status();
  EXPECT_THAT(std::string(change.status().message()),
              HasSubstr("nats: js_UpdateStream XENLET_EVENTS: "));
  EXPECT_THAT(std::string(change.status().message()), HasSubstr("overlap"));
  EXPECT_THAT(std::string(change.status().message()),
              HasSubstr("[jsErrCode 10065]"));
  EXPECT_THAT(std::string(change.status().message()),
              HasSubstr("(subjects [xenlet.events.>] -> "
                        "[xenlet.events.>,xenlet.other.>])"));
}

// nats-server 2.9.10 on its own (no cluster) refuses a stream with
// replicas 3, yet accepts an update to 3 and reports 3 from then on.
TEST_F(JetStreamTest, SingleServerRefusesReplicasOnCreateNotOnUpdate) {
  StreamConfig config = EventsStream();
  config.replicas = 3;
  auto change = EnsureStream(*conn_, config);
  ASSERT_FALSE(change.ok());
  EXPECT_EQ(change.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(change.status().message()),
            "nats: js_AddStream XENLET_EVENTS: Error: replicas > 1 not "
            "supported in non-clustered mode [jsErrCode 10074]");

  config.replicas = 1;
  ASSERT_TRUE(EnsureStream(*conn_, config).ok());
  config.replicas = 3;
  change = EnsureStream(*conn_, config);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, StreamChange::kUpdated);
  change = EnsureStream(*conn_, config);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, StreamChange::kUnchanged);
}

TEST_F(JetStreamTest, EnsureStreamRejectsAnIncompleteConfig) {
  auto change = EnsureStream(*conn_, StreamConfig{.name = "X"});
  EXPECT_EQ(change.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(JetStreamTest, SameMessageIdIsStoredOnce) {
  ASSERT_TRUE(EnsureStream(*conn_, EventsStream()).ok());
  const std::string subject = EventsSubject("h1");

  auto first = Publish(*conn_, subject, "i1:7", "{\"n\":1}", absl::Seconds(5));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->stream, kEventsStream);
  EXPECT_EQ(first->sequence, 1u);
  EXPECT_FALSE(first->duplicate);

  auto again = Publish(*conn_, subject, "i1:7", "{\"n\":1}", absl::Seconds(5));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->sequence, 1u);

  auto state = GetStreamState(*conn_, std::string(kEventsStream));
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->messages, 1u);
  EXPECT_EQ(state->last_sequence, 1u);

  auto next = Publish(*conn_, subject, "i1:8", "{\"n\":2}", absl::Seconds(5));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->duplicate);
  EXPECT_EQ(next->sequence, 2u);
}

TEST_F(JetStreamTest, PublishWithoutMessageIdIsNeverDeduplicated) {
  ASSERT_TRUE(EnsureStream(*conn_, EventsStream()).ok());
  for (int i = 0; i < 2; ++i) {
    auto ack =
        Publish(*conn_, EventsSubject("h1"), "", "same", absl::ZeroDuration());
    ASSERT_TRUE(ack.ok()) << ack.status();
    EXPECT_FALSE(ack->duplicate);
  }
  auto state = GetStreamState(*conn_, std::string(kEventsStream));
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->messages, 2u);
}

TEST_F(JetStreamTest, PublishToASubjectNoStreamTakesFails) {
  auto ack = Publish(*conn_, "nowhere.h1", "x", "data", absl::Seconds(2));
  ASSERT_FALSE(ack.ok());
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(ack.status().message()),
              HasSubstr("nats: js_Publish to nowhere.h1: "));
  EXPECT_THAT(std::string(ack.status().message()),
              HasSubstr("none takes this subject"));
}

TEST_F(JetStreamTest, GetStreamStateOfAMissingStreamIsNotFound) {
  auto state = GetStreamState(*conn_, "MISSING");
  EXPECT_EQ(state.status().code(), absl::StatusCode::kNotFound)
      << state.status();
  EXPECT_THAT(std::string(state.status().message()),
              HasSubstr("js_GetStreamInfo MISSING"));
}

TEST_F(JetStreamTest, ReadAllReturnsTheStreamsMessagesForAFilter) {
  ASSERT_TRUE(EnsureStream(*conn_, EventsStream()).ok());
  const std::string stream(kEventsStream);
  auto empty = ReadAll(*conn_, stream, EventsSubject("h1"));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());

  const absl::Time before = absl::Now();
  for (const auto& [host, id] :
       std::vector<std::pair<std::string, std::string>>{
           {"h1", "a"}, {"h2", "b"}, {"h1", "c"}, {"h1", "a"}}) {
    ASSERT_TRUE(
        Publish(*conn_, EventsSubject(host), id, "data-" + id, absl::Seconds(5))
            .ok());
  }

  auto h1 = ReadAll(*conn_, stream, EventsSubject("h1"));
  ASSERT_TRUE(h1.ok()) << h1.status();
  ASSERT_EQ(h1->size(), 2u);  // "a" again was a duplicate
  EXPECT_EQ((*h1)[0].sequence, 1u);
  EXPECT_EQ((*h1)[0].subject, "xenlet.events.h1");
  EXPECT_EQ((*h1)[0].msg_id, "a");
  EXPECT_EQ((*h1)[0].data, "data-a");
  EXPECT_GE((*h1)[0].time, before - absl::Seconds(1));
  EXPECT_EQ((*h1)[1].sequence, 3u);
  EXPECT_EQ((*h1)[1].msg_id, "c");

  auto all = ReadAll(*conn_, stream, "xenlet.events.>");
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<std::string> ids;
  for (const StoredMessage& m : *all) ids.push_back(m.msg_id);
  EXPECT_THAT(ids, ElementsAre("a", "b", "c"));

  auto bounded = ReadAll(*conn_, stream, "xenlet.events.>", 2);
  EXPECT_EQ(bounded.status().code(), absl::StatusCode::kResourceExhausted)
      << bounded.status();
}

TEST_F(JetStreamTest, LastMessageOfASubject) {
  ASSERT_TRUE(EnsureStream(*conn_, EventsStream()).ok());
  const std::string stream(kEventsStream);
  auto none = LastMessage(*conn_, stream, EventsSubject("h1"));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(
      Publish(*conn_, EventsSubject("h1"), "h1:i:1", "one", absl::Seconds(5))
          .ok());
  ASSERT_TRUE(
      Publish(*conn_, EventsSubject("h1"), "h1:i:2", "two", absl::Seconds(5))
          .ok());
  ASSERT_TRUE(
      Publish(*conn_, EventsSubject("h2"), "h2:i:1", "other", absl::Seconds(5))
          .ok());
  auto last = LastMessage(*conn_, stream, EventsSubject("h1"));
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->msg_id, "h1:i:2");
  EXPECT_EQ((*last)->data, "two");
  EXPECT_EQ((*last)->subject, "xenlet.events.h1");
  EXPECT_EQ((*last)->sequence, 2u);
  EXPECT_GT((*last)->time, absl::Now() - absl::Minutes(1));

  last = LastMessage(*conn_, stream, "xenlet.events.>");
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->msg_id, "h2:i:1");

  auto missing = LastMessage(*conn_, "MISSING", EventsSubject("h1"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound)
      << missing.status();
}

TEST_F(JetStreamTest, ReadAllOfAMissingStreamFails) {
  auto read = ReadAll(*conn_, "MISSING", "xenlet.events.>");
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("read MISSING"));
}

}  // namespace
}  // namespace xenlet::fleet::nats
