#include "fleet/fleet_names.h"

#include "gtest/gtest.h"

namespace xenlet::fleet {
namespace {

TEST(FleetNamesTest, HostIdsAreOneToken) {
  EXPECT_TRUE(ValidateHostId("dom0-17_a").ok());
  EXPECT_TRUE(ValidateHostId(std::string(64, 'h')).ok());
  for (absl::string_view bad : {"", "a.b", "a b", "a*", "a>", "h\xc3\xa9"}) {
    absl::Status s = ValidateHostId(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("host id"), std::string::npos) << s;
  }
  EXPECT_FALSE(ValidateHostId(std::string(65, 'h')).ok());
}

TEST(FleetNamesTest, HostIdsFromHostnamesAreValid) {
  EXPECT_EQ(HostIdFromHostname("dom0-17.rack3.example.com"),
            "dom0-17_rack3_example_com");
  EXPECT_EQ(HostIdFromHostname(""), "_");
  EXPECT_TRUE(ValidateHostId(HostIdFromHostname(std::string(200, '.'))).ok());
}

TEST(FleetNamesTest, DomainKeysRoundTrip) {
  const std::string key =
      DomainKey("h1", "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b", 7);
  EXPECT_EQ(key, "h1.4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b.7");
  auto parts = ParseDomainKey(key);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->host, "h1");
  EXPECT_EQ(parts->uuid, "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  EXPECT_EQ(parts->domid, 7u);
  for (absl::string_view bad : {"h1", "h1.u", ".u.1", "h1..1", "h1.u.",
                                "h1.u.x", "h1.u.1.2", "a b.u.1", "h1.u.-1"}) {
    EXPECT_FALSE(ParseDomainKey(bad).has_value()) << bad;
  }
  EXPECT_EQ(EventsSubject("h1"), "xenlet.events.h1");
  EXPECT_EQ(HostDomainsFilter("h1"), "h1.>");
}

// Two hosts' agents may share nothing but the stream: the message id
// carries the host, since JetStream de-duplicates across the whole stream.
TEST(FleetNamesTest, MessageIdsCarryTheHost) {
  EXPECT_EQ(MessageId("h1", "6f1c0d2e", 42), "h1:6f1c0d2e:42");
  auto parts = ParseMessageId("h1:6f1c0d2e:42");
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->host, "h1");
  EXPECT_EQ(parts->instance_id, "6f1c0d2e");
  EXPECT_EQ(parts->revision, 42u);
  for (absl::string_view bad : {"", "h1", "h1:i", ":i:1", "h1::1", "h1:i:x"}) {
    EXPECT_FALSE(ParseMessageId(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace xenlet::fleet
