// The rules of the fleet harness's event-stream check, on messages made by
// the publisher's own formatter (FormatCloudEvent, MessageId).
#include "tests/fleet/harness/event_audit.h"

#include "fleet/fleet_names.h"
#include "fleet/publisher/cloud_event.h"
#include "gtest/gtest.h"

namespace xenlet::fleet::harness {
namespace {

class EventAuditTest : public ::testing::Test {
 protected:
  // A stored event of `host`'s agent instance at `revision`.
  void Add(const std::string& host, const std::string& instance,
           uint64_t revision) {
    xenlet::v1::WatchDomainsResponse event;
    event.set_type(xenlet::v1::EVENT_TYPE_MODIFIED);
    event.set_transition(xenlet::v1::TRANSITION_PAUSED);
    event.set_instance_id(instance);
    event.set_revision(revision);
    event.mutable_domain()->set_domid(7);
    event.mutable_domain()->set_uuid("550e8400-e29b-41d4-a716-446655440000");
    auto json = FormatCloudEvent(host, event);
    ASSERT_TRUE(json.ok()) << json.status();
    messages_.push_back({.sequence = messages_.size() + 1,
                         .subject = EventsSubject(host),
                         .msg_id = MessageId(host, instance, revision),
                         .data = *json});
  }

  std::vector<nats::StoredMessage> messages_;
};

TEST_F(EventAuditTest, RunsPerHostAndInstance) {
  for (uint64_t r = 5; r <= 7; ++r) Add("h1", "a", r);
  Add("h2", "b", 1);
  for (uint64_t r = 1; r <= 2; ++r) Add("h1", "c", r);  // h1's agent restarted
  const EventAudit audit = AuditEvents(messages_);
  EXPECT_TRUE(audit.problems.empty()) << audit.problems[0];
  EXPECT_EQ(audit.messages, 6u);
  ASSERT_EQ(audit.hosts.size(), 2u);
  ASSERT_EQ(audit.hosts.at("h1").size(), 2u);
  const InstanceRun& a = audit.hosts.at("h1").at("a");
  EXPECT_EQ(a.first, 5u);
  EXPECT_EQ(a.last, 7u);
  EXPECT_EQ(a.events, 3u);
  EXPECT_EQ(a.first_sequence, 1u);
  EXPECT_TRUE(a.gaps.empty());
  const InstanceRun& c = audit.hosts.at("h1").at("c");
  EXPECT_EQ(c.first, 1u);
  EXPECT_EQ(c.last, 2u);
  EXPECT_EQ(c.first_sequence, 5u);
  EXPECT_EQ(audit.types.at("io.xenlet.domain.paused"), 6u);
}

TEST_F(EventAuditTest, GapsAndReordering) {
  Add("h1", "a", 1);
  Add("h1", "a", 3);  // 2 missing
  Add("h1", "a", 2);  // out of order
  const EventAudit audit = AuditEvents(messages_);
  EXPECT_TRUE(audit.problems.empty());
  EXPECT_EQ(audit.hosts.at("h1").at("a").gaps,
            (std::vector<std::string>{"3 after 1", "2 after 3"}));
}

TEST_F(EventAuditTest, AMessageIdStoredTwice) {
  Add("h1", "a", 1);
  Add("h1", "a", 2);
  Add("h1", "a", 2);
  const EventAudit audit = AuditEvents(messages_);
  ASSERT_EQ(audit.problems.size(), 1u);
  EXPECT_EQ(audit.problems[0],
            "message id h1:a:2 stored twice: sequences 2 and 3");
  EXPECT_EQ(audit.hosts.at("h1").at("a").events, 2u);
}

TEST_F(EventAuditTest, MessagesThatDoNotMatchTheirIds) {
  Add("h1", "a", 1);
  messages_.back().subject = EventsSubject("h2");  // another host's subject
  Add("h1", "a", 2);
  messages_.back().msg_id = MessageId("h1", "a", 9);  // not the event's id
  Add("h1", "a", 3);
  messages_.back().data = "{";
  Add("h1", "a", 4);
  messages_.back().msg_id = "no-id";
  const EventAudit audit = AuditEvents(messages_);
  ASSERT_EQ(audit.problems.size(), 4u);
  EXPECT_EQ(audit.problems[0],
            "message id h1:a:1 on subject xenlet.events.h2 (sequence 1)");
  EXPECT_EQ(audit.problems[1],
            "the CloudEvent does not match its message id h1:a:9 "
            "(sequence 2)");
  EXPECT_EQ(audit.problems[2], "not JSON (sequence 3)");
  EXPECT_EQ(audit.problems[3], "bad message id \"no-id\" (sequence 4)");
}

}  // namespace
}  // namespace xenlet::fleet::harness
