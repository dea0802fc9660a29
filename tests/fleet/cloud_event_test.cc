#include "fleet/publisher/cloud_event.h"

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace xenlet::fleet {
namespace {

using google::protobuf::Struct;
using google::protobuf::util::JsonStringToMessage;

xenlet::v1::WatchDomainsResponse Started() {
  xenlet::v1::WatchDomainsResponse e;
  e.set_type(xenlet::v1::EVENT_TYPE_MODIFIED);
  e.set_transition(xenlet::v1::TRANSITION_STARTED);
  e.set_revision(4242);
  e.set_instance_id("6f1c0d2e");
  e.set_initiator("unix:uid=0,gid=0");
  *e.mutable_detected_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          1764063000123000000);
  xenlet::v1::Domain* d = e.mutable_domain();
  d->set_domid(7);
  d->set_uuid("4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  d->set_name("web \"1\"\n");  // escaped in the envelope's JSON
  d->set_state(xenlet::v1::DOMAIN_STATE_RUNNING);
  d->mutable_memory()->set_current_bytes(64ull << 20);
  return e;
}

TEST(CloudEventTest, EnvelopeCarriesIdentityAndTheDomain) {
  const xenlet::v1::WatchDomainsResponse event = Started();
  auto json = FormatCloudEvent("h1", event);
  ASSERT_TRUE(json.ok()) << json.status();
  Struct envelope;
  ASSERT_TRUE(JsonStringToMessage(*json, &envelope).ok()) << *json;
  const auto& f = envelope.fields();
  EXPECT_EQ(f.at("specversion").string_value(), "1.0");
  EXPECT_EQ(f.at("id").string_value(), "6f1c0d2e:4242");
  EXPECT_EQ(f.at("source").string_value(), "xenlet://h1");
  EXPECT_EQ(f.at("type").string_value(), "io.xenlet.domain.started");
  EXPECT_EQ(f.at("subject").string_value(),
            "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  EXPECT_EQ(f.at("time").string_value(), "2025-11-25T09:30:00.123Z");
  EXPECT_EQ(f.at("datacontenttype").string_value(), "application/json");
  EXPECT_EQ(f.at("xenletinstance").string_value(), "6f1c0d2e");
  EXPECT_EQ(f.at("xenletrevision").string_value(), "4242");
  const auto& data = f.at("data").struct_value().fields();
  EXPECT_EQ(data.at("eventType").string_value(), "EVENT_TYPE_MODIFIED");
  EXPECT_EQ(data.at("transition").string_value(), "TRANSITION_STARTED");
  EXPECT_FALSE(data.at("coalesced").bool_value());
  EXPECT_EQ(data.at("initiator").string_value(), "unix:uid=0,gid=0");

  // The domain parses back into the message it was.
  std::string domain_json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(
                  data.at("domain").struct_value(), &domain_json)
                  .ok());
  xenlet::v1::Domain domain;
  ASSERT_TRUE(JsonStringToMessage(domain_json, &domain).ok()) << domain_json;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      domain, event.domain()))
      << domain.DebugString();
}

TEST(CloudEventTest, TypesFollowTheTransitionElseTheEventType) {
  xenlet::v1::WatchDomainsResponse e = Started();
  e.set_type(xenlet::v1::EVENT_TYPE_DELETED);
  e.set_transition(xenlet::v1::TRANSITION_DESTROYED);
  EXPECT_EQ(EventTypeName(e), "io.xenlet.domain.destroyed");
  e.clear_transition();
  EXPECT_EQ(EventTypeName(e), "io.xenlet.domain.deleted");
  EXPECT_EQ(EventId("i", 0), "i:0");
}

TEST(CloudEventTest, MarkersAreNotEvents) {
  xenlet::v1::WatchDomainsResponse e;
  for (auto type :
       {xenlet::v1::EVENT_TYPE_SYNCED, xenlet::v1::EVENT_TYPE_BOOKMARK,
        xenlet::v1::EVENT_TYPE_STATS, xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED}) {
    e.set_type(type);
    EXPECT_EQ(FormatCloudEvent("h1", e).status().code(),
              absl::StatusCode::kInvalidArgument)
        << xenlet::v1::EventType_Name(type);
  }
}

}  // namespace
}  // namespace xenlet::fleet
