// Enum names, Domain rows, watch event lines and the protobuf JSON output.
#include "tools/xenletctl/domain_format.h"

#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace xenlet::ctl {
namespace {

using xenlet::v1::Domain;
using xenlet::v1::WatchDomainsResponse;

Domain Web() {
  Domain d;
  d.set_domid(12);
  d.set_uuid("4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  d.set_name("web");
  d.set_state(xenlet::v1::DOMAIN_STATE_SHUTDOWN);
  d.set_shutdown_reason(xenlet::v1::SHUTDOWN_REASON_SOFT_RESET);
  d.set_vcpus_online(2);
  d.set_vcpus_max(4);
  d.set_cpu_time_ns(12'340'000'000);
  d.mutable_memory()->set_current_bytes(512ull << 20);
  d.mutable_memory()->set_max_bytes(1536ull << 20);
  d.mutable_flags()->set_hvm(true);
  d.mutable_flags()->set_shutdown(true);
  d.mutable_flags()->set_running(true);  // volatile: not shown
  return d;
}

TEST(EnumNames, ShortLowercase) {
  EXPECT_EQ(StateName(xenlet::v1::DOMAIN_STATE_RUNNING), "running");
  EXPECT_EQ(StateName(xenlet::v1::DOMAIN_STATE_UNSPECIFIED), "-");
  EXPECT_EQ(ShutdownReasonName(xenlet::v1::SHUTDOWN_REASON_SOFT_RESET),
            "soft_reset");
  EXPECT_EQ(TransitionName(xenlet::v1::TRANSITION_UNPAUSED), "unpaused");
  EXPECT_EQ(EventTypeName(xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED),
            "RESYNC_REQUIRED");
  EXPECT_EQ(ResyncReasonName(xenlet::v1::RESYNC_REASON_INSTANCE_CHANGED),
            "instance_changed");
  // A value this build does not know yet prints as its number.
  EXPECT_EQ(StateName(static_cast<xenlet::v1::DomainState>(42)), "42");
}

TEST(EnumNames, ParseState) {
  EXPECT_EQ(*ParseStateName("shutdown"), xenlet::v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(*ParseStateName("DOMAIN_STATE_CREATED"),
            xenlet::v1::DOMAIN_STATE_CREATED);
  EXPECT_FALSE(ParseStateName("unspecified").ok());
  EXPECT_FALSE(ParseStateName("runing").ok());
  EXPECT_EQ(StateNames().front(), "created");
  EXPECT_EQ(StateNames().size(), 6u);
}

TEST(FormatBytes, BinaryUnits) {
  EXPECT_EQ(FormatBytes(0), "0B");
  EXPECT_EQ(FormatBytes(1023), "1023B");
  EXPECT_EQ(FormatBytes(1024), "1KiB");
  EXPECT_EQ(FormatBytes(512ull << 20), "512MiB");
  EXPECT_EQ(FormatBytes(1536ull << 20), "1.5GiB");
  EXPECT_EQ(FormatBytes(24ull << 30), "24GiB");
}

TEST(DomainRow, AllColumns) {
  std::vector<std::string> row = DomainRow(Web(), {});
  ASSERT_EQ(row.size(), DomainHeader().size());
  EXPECT_EQ(row, (std::vector<std::string>{
                     "12", "web", "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b",
                     "shutdown", "soft_reset", "2/4", "512MiB", "1.5GiB",
                     "12.3s", "hvm,shutdown"}));
}

TEST(DomainRow, MaskedColumnsAreDashes) {
  google::protobuf::FieldMask mask;
  mask.add_paths("domid");
  mask.add_paths("name");
  mask.add_paths("memory");  // a parent path covers its children
  Domain d;
  d.set_domid(0);
  d.set_name("Domain-0");
  d.mutable_memory()->set_current_bytes(1ull << 30);
  d.mutable_memory()->set_max_bytes(2ull << 30);
  EXPECT_EQ(DomainRow(d, mask),
            (std::vector<std::string>{"0", "Domain-0", "-", "-", "-", "-",
                                      "1GiB", "2GiB", "-", "-"}));
}

TEST(EventLine, DomainEvent) {
  WatchDomainsResponse e;
  e.set_type(xenlet::v1::EVENT_TYPE_MODIFIED);
  e.set_revision(42);
  e.set_transition(xenlet::v1::TRANSITION_SHUTDOWN);
  *e.mutable_domain() = Web();
  e.mutable_detected_time()->set_seconds(1764090000);
  e.mutable_detected_time()->set_nanos(500000000);
  EXPECT_EQ(EventLine(e),
            "2025-11-25T17:00:00.500Z 42 MODIFIED shutdown domid=12 name=web "
            "state=shutdown reason=soft_reset");
  e.set_coalesced(true);
  e.clear_detected_time();
  EXPECT_EQ(EventLine(e),
            "- 42 MODIFIED shutdown domid=12 name=web state=shutdown "
            "reason=soft_reset coalesced");
}

TEST(EventLine, StatsShowVolatileFields) {
  WatchDomainsResponse e;
  e.set_type(xenlet::v1::EVENT_TYPE_STATS);
  e.set_revision(50);
  *e.mutable_domain() = Web();
  EXPECT_EQ(EventLine(e),
            "- 50 STATS - domid=12 name=web state=shutdown reason=soft_reset "
            "vcpus=2/4 mem=512MiB cpu=12.3s");
}

TEST(EventLine, Markers) {
  WatchDomainsResponse e;
  e.set_type(xenlet::v1::EVENT_TYPE_SYNCED);
  e.set_revision(7);
  EXPECT_EQ(EventLine(e), "- 7 SYNCED");
  e.set_type(xenlet::v1::EVENT_TYPE_BOOKMARK);
  EXPECT_EQ(EventLine(e), "- 7 BOOKMARK");
  e.set_type(xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED);
  e.set_resync_reason(xenlet::v1::RESYNC_REASON_REVISION_COMPACTED);
  e.set_instance_id("i2");
  EXPECT_EQ(EventLine(e),
            "- 7 RESYNC_REQUIRED reason=revision_compacted instance=i2");
}

TEST(ToJson, OneLineProto3JsonThatParsesBack) {
  WatchDomainsResponse e;
  e.set_type(xenlet::v1::EVENT_TYPE_ADDED);
  e.set_revision(9);
  e.set_instance_id("abc");
  *e.mutable_domain() = Web();
  std::string json = ToJson(e);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  // Enum names, lowerCamelCase field names, 64-bit integers as strings.
  EXPECT_NE(json.find("\"type\":\"EVENT_TYPE_ADDED\""), std::string::npos);
  EXPECT_NE(json.find("\"instanceId\":\"abc\""), std::string::npos);
  EXPECT_NE(json.find("\"revision\":\"9\""), std::string::npos);
  EXPECT_NE(json.find("\"state\":\"DOMAIN_STATE_SHUTDOWN\""),
            std::string::npos);

  WatchDomainsResponse back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(e, back));
}

}  // namespace
}  // namespace xenlet::ctl
