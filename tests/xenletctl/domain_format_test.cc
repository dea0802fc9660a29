// Enum names, byte and duration formats, watch event lines and the protobuf
// JSON output.
#include "tools/xenletctl/domain_format.h"

#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace xenlet::ctl {
namespace {

using xenlet::v1::Domain;
using xenlet::v1::WatchDomainsResponse;

// When events without a detected time of their own were received.
const absl::Time kReceived = absl::FromUnixSeconds(1764063000);  // 09:30 UTC

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

TEST(CompactDuration, FitsSevenColumns) {
  EXPECT_EQ(CompactDuration(absl::ZeroDuration()), "0.0s");
  EXPECT_EQ(CompactDuration(absl::Milliseconds(12345)), "12.3s");
  // Truncated: not yet a minute.
  EXPECT_EQ(CompactDuration(absl::Milliseconds(59990)), "59.9s");
  EXPECT_EQ(CompactDuration(absl::Seconds(60)), "1m00s");
  EXPECT_EQ(CompactDuration(absl::Seconds(12 * 60 + 5)), "12m05s");
  EXPECT_EQ(CompactDuration(absl::Hours(3) + absl::Minutes(4)), "3h04m");
  EXPECT_EQ(CompactDuration(absl::Hours(51)), "2d03h");
  EXPECT_EQ(CompactDuration(absl::Hours(24 * 999 + 23)), "999d23h");
  EXPECT_EQ(CompactDuration(-absl::Seconds(1)), "0.0s");
  EXPECT_EQ(FormatCpuTime(12'340'000'000), "12.3s");
}

TEST(EventLine, DomainEvent) {
  WatchDomainsResponse e;
  e.set_type(xenlet::v1::EVENT_TYPE_MODIFIED);
  e.set_revision(42);
  e.set_transition(xenlet::v1::TRANSITION_SHUTDOWN);
  *e.mutable_domain() = Web();
  e.mutable_detected_time()->set_seconds(1764090000);
  e.mutable_detected_time()->set_nanos(500000000);
  // Time of day in the given zone; the reason only once there is one.
  // The state only when the transition does not say it.
  EXPECT_EQ(EventLine(e, absl::UTCTimeZone(), kReceived),
            "17:00:00 MODIFIED shutdown domid=12 name=web "
            "reason=soft_reset");
  EXPECT_EQ(EventLine(e, absl::FixedTimeZone(3600), kReceived),
            "18:00:00 MODIFIED shutdown domid=12 name=web "
            "reason=soft_reset");
  e.set_coalesced(true);
  e.clear_detected_time();
  e.set_transition(xenlet::v1::TRANSITION_UPDATED);
  EXPECT_EQ(EventLine(e, absl::UTCTimeZone(), kReceived),
            "09:30:00 MODIFIED updated domid=12 name=web state=shutdown "
            "reason=soft_reset coalesced");
  e.mutable_domain()->set_state(xenlet::v1::DOMAIN_STATE_RUNNING);
  e.mutable_domain()->clear_shutdown_reason();
  e.set_coalesced(false);
  e.set_transition(xenlet::v1::TRANSITION_SHUTDOWN);
  EXPECT_EQ(EventLine(e, absl::UTCTimeZone(), kReceived),
            "09:30:00 MODIFIED shutdown domid=12 name=web state=running");
  e.set_type(xenlet::v1::EVENT_TYPE_ADDED);
  e.set_transition(xenlet::v1::TRANSITION_EXISTING);
  EXPECT_EQ(EventLine(e, absl::UTCTimeZone(), kReceived),
            "09:30:00 ADDED existing domid=12 name=web state=running");
}

TEST(EventLine, FitsEightyColumnsWithTwentyCharacterNames) {
  using namespace xenlet::v1;
  struct Case {
    EventType type;
    Transition transition;
    DomainState state;
    ShutdownReason reason;
  };
  const Case cases[] = {
      {EVENT_TYPE_ADDED, TRANSITION_EXISTING, DOMAIN_STATE_RUNNING},
      {EVENT_TYPE_ADDED, TRANSITION_CREATED, DOMAIN_STATE_CREATED},
      {EVENT_TYPE_MODIFIED, TRANSITION_UNPAUSED, DOMAIN_STATE_RUNNING},
      {EVENT_TYPE_MODIFIED, TRANSITION_RESUMED, DOMAIN_STATE_RUNNING},
      {EVENT_TYPE_MODIFIED, TRANSITION_UPDATED, DOMAIN_STATE_PAUSED},
      {EVENT_TYPE_MODIFIED, TRANSITION_SHUTDOWN, DOMAIN_STATE_SHUTDOWN,
       SHUTDOWN_REASON_POWEROFF},
      {EVENT_TYPE_MODIFIED, TRANSITION_DYING, DOMAIN_STATE_DYING,
       SHUTDOWN_REASON_SOFT_RESET},
      {EVENT_TYPE_DELETED, TRANSITION_DESTROYED, DOMAIN_STATE_DESTROYED,
       SHUTDOWN_REASON_WATCHDOG},
  };
  for (const Case& c : cases) {
    WatchDomainsResponse e;
    e.set_type(c.type);
    e.set_revision(48213);
    e.set_transition(c.transition);
    e.mutable_detected_time()->set_seconds(1764090000);
    e.mutable_domain()->set_domid(1234);
    e.mutable_domain()->set_name("web-frontend-prod-01");
    e.mutable_domain()->set_state(c.state);
    e.mutable_domain()->set_shutdown_reason(c.reason);
    const std::string line = EventLine(e, absl::UTCTimeZone(), kReceived);
    EXPECT_LE(line.size(), 80u) << line;
  }
  WatchDomainsResponse stats;
  stats.set_type(EVENT_TYPE_STATS);
  stats.mutable_detected_time()->set_seconds(1764090000);
  stats.mutable_domain()->set_domid(1234);
  stats.mutable_domain()->set_name("web-frontend-prod-01");
  stats.mutable_domain()->set_vcpus_online(4);
  stats.mutable_domain()->set_vcpus_max(4);
  stats.mutable_domain()->mutable_memory()->set_current_bytes(1536ull << 20);
  stats.mutable_domain()->set_cpu_time_ns(3ull * 86400 * 1'000'000'000);
  EXPECT_LE(EventLine(stats, absl::UTCTimeZone(), kReceived).size(), 80u)
      << EventLine(stats, absl::UTCTimeZone(), kReceived);
  WatchDomainsResponse synced;
  synced.set_type(EVENT_TYPE_SYNCED);
  synced.set_instance_id("3f2a9c0d1e4b5a67");
  synced.set_revision(1234567890);
  EXPECT_LE(EventLine(synced, absl::UTCTimeZone(), kReceived).size(), 80u);
}

TEST(EventLine, StatsShowVolatileFields) {
  WatchDomainsResponse e;
  e.set_type(xenlet::v1::EVENT_TYPE_STATS);
  e.set_revision(50);
  *e.mutable_domain() = Web();
  EXPECT_EQ(EventLine(e, absl::UTCTimeZone(), kReceived),
            "09:30:00 STATS domid=12 name=web vcpus=2 mem=512MiB cpu=12.3s");
}

TEST(EventLine, Markers) {
  WatchDomainsResponse e;
  e.set_type(xenlet::v1::EVENT_TYPE_SYNCED);
  e.set_revision(7);
  EXPECT_EQ(EventLine(e, absl::UTCTimeZone(), kReceived), "09:30:00 SYNCED 7");
  e.set_instance_id("i1");
  // The resume point, as --resume takes it.
  EXPECT_EQ(EventLine(e, absl::UTCTimeZone(), kReceived),
            "09:30:00 SYNCED i1:7");
  e.set_type(xenlet::v1::EVENT_TYPE_BOOKMARK);
  EXPECT_EQ(EventLine(e, absl::UTCTimeZone(), kReceived),
            "09:30:00 BOOKMARK i1:7");
  e.set_type(xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED);
  e.set_resync_reason(xenlet::v1::RESYNC_REASON_REVISION_COMPACTED);
  e.set_instance_id("i2");
  EXPECT_EQ(EventLine(e, absl::UTCTimeZone(), kReceived),
            "09:30:00 RESYNC_REQUIRED reason=revision_compacted instance=i2");
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
