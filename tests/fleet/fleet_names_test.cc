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
      DomainKey("h1", "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  EXPECT_EQ(key, "h1.4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  auto parts = ParseDomainKey(key);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->host, "h1");
  EXPECT_EQ(parts->uuid, "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  for (absl::string_view bad :
       {"h1", ".u", "h1.", "h1.u.v", "h.1.u", "a b.u"}) {
    EXPECT_FALSE(ParseDomainKey(bad).has_value()) << bad;
  }
  EXPECT_EQ(EventsSubject("h1"), "xenlet.events.h1");
  EXPECT_EQ(HostDomainsFilter("h1"), "h1.>");
}

}  // namespace
}  // namespace xenlet::fleet
