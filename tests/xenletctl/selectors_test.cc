// Selector, filter, field mask and event type parsing, bad input included.
#include "tools/xenletctl/selectors.h"

#include "gtest/gtest.h"

namespace xenlet::ctl {
namespace {

using xenlet::v1::DomainSelector;

TEST(ParseSelector, Domid) {
  auto s = ParseSelector("7");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->selector_case(), DomainSelector::kDomid);
  EXPECT_EQ(s->domid(), 7u);
  EXPECT_EQ(ParseSelector("0")->domid(), 0u);
  EXPECT_EQ(ParseSelector("32751")->domid(), 32751u);
  EXPECT_EQ(ParseSelector("domid:12")->domid(), 12u);
}

TEST(ParseSelector, DomidOutOfRange) {
  for (const char* bad :
       {"32752", "65535", "99999999999999999999", "-1", "domid:", "domid:x"}) {
    auto s = ParseSelector(bad);
    EXPECT_FALSE(s.ok()) << bad;
  }
  EXPECT_NE(
      std::string(ParseSelector("32752").status().message()).find("0..32751"),
      std::string::npos);
}

TEST(ParseSelector, UuidIsCanonicalised) {
  auto dashed = ParseSelector("4F8A3C1E-0B2D-4E6F-9A7B-1C2D3E4F5A6B");
  ASSERT_TRUE(dashed.ok());
  EXPECT_EQ(dashed->uuid(), "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  auto bare = ParseSelector("4f8a3c1e0b2d4e6f9a7b1c2d3e4f5a6b");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->uuid(), "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  EXPECT_EQ(ParseSelector("uuid:4f8a3c1e0b2d4e6f9a7b1c2d3e4f5a6b")->uuid(),
            "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
}

TEST(ParseSelector, BadUuid) {
  EXPECT_FALSE(ParseSelector("uuid:4f8a3c1e").ok());
  EXPECT_FALSE(ParseSelector("uuid:4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6g").ok());
  // Dashes in the wrong places.
  EXPECT_FALSE(ParseSelector("4f8a3c1e0-b2d-4e6f-9a7b-1c2d3e4f5a6b").ok());
}

TEST(ParseSelector, Name) {
  auto s = ParseSelector("name:web-1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name(), "web-1");
  // Everything after the prefix is the name, colons included.
  EXPECT_EQ(ParseSelector("name:a:b")->name(), "a:b");
  EXPECT_FALSE(ParseSelector("name:").ok());
}

TEST(ParseSelector, Garbage) {
  auto s = ParseSelector("web-1");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("name:NAME"),
            std::string::npos);
  EXPECT_FALSE(ParseSelector("").ok());
}

TEST(SelectorToString, RoundTrips) {
  for (const char* text :
       {"7", "name:web", "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b"}) {
    EXPECT_EQ(SelectorToString(*ParseSelector(text)), text);
  }
}

TEST(BuildFilter, AllFields) {
  FilterFlags flags;
  flags.domids = {"1", "2"};
  flags.uuids = {"4F8A3C1E0B2D4E6F9A7B1C2D3E4F5A6B"};
  flags.name_prefix = "web-";
  flags.states = {"running", "PAUSED", "domain_state_shutdown", "Dying"};
  auto f = BuildFilter(flags);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->domids_size(), 2);
  EXPECT_EQ(f->domids(1), 2u);
  EXPECT_EQ(f->uuids(0), "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  EXPECT_EQ(f->name_prefix(), "web-");
  ASSERT_EQ(f->states_size(), 4);
  EXPECT_EQ(f->states(0), xenlet::v1::DOMAIN_STATE_RUNNING);
  EXPECT_EQ(f->states(1), xenlet::v1::DOMAIN_STATE_PAUSED);
  EXPECT_EQ(f->states(2), xenlet::v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(f->states(3), xenlet::v1::DOMAIN_STATE_DYING);
}

TEST(BuildFilter, ErrorsNameTheFlag) {
  FilterFlags domid;
  domid.domids = {"32752"};
  EXPECT_EQ(BuildFilter(domid).status().message(),
            "--domid: '32752' is not a domain id (0..32751)");
  FilterFlags uuid;
  uuid.uuids = {"nope"};
  EXPECT_EQ(
      std::string(BuildFilter(uuid).status().message()).rfind("--uuid: ", 0),
      0u);
  FilterFlags state;
  state.states = {"unspecified"};
  EXPECT_EQ(std::string(BuildFilter(state).status().message())
                .rfind("--state: 'unspecified'", 0),
            0u);
}

TEST(ParseFieldMask, CommaListsAndRepeats) {
  auto m = ParseFieldMask({"domid, name", "memory.current_bytes,,"});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->paths_size(), 3);
  EXPECT_EQ(m->paths(0), "domid");
  EXPECT_EQ(m->paths(1), "name");
  EXPECT_EQ(m->paths(2), "memory.current_bytes");
  EXPECT_EQ(ParseFieldMask({})->paths_size(), 0);
}

TEST(ParseFieldMask, UnknownField) {
  auto m = ParseFieldMask({"domid,memory.bogus"});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(
      std::string(m.status().message()).rfind("--fields: 'memory.bogus'", 0),
      0u);
  // JSON names are not proto paths.
  EXPECT_FALSE(ParseFieldMask({"vcpusOnline"}).ok());
}

TEST(ParseResumePoint, InstanceAndRevision) {
  auto p = ParseResumePoint("9f2c:ab:42");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->instance_id(), "9f2c:ab");
  EXPECT_EQ(p->revision(), 42u);
  for (const char* bad : {"", "abc", ":5", "abc:", "abc:-1", "abc:1x",
                          "abc:99999999999999999999"}) {
    auto r = ParseResumePoint(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(std::string(r.status().message()).rfind("--resume: ", 0), 0u);
  }
}

TEST(ParseEventType, Names) {
  EXPECT_EQ(*ParseEventType("added"), xenlet::v1::EVENT_TYPE_ADDED);
  EXPECT_EQ(*ParseEventType("MODIFIED"), xenlet::v1::EVENT_TYPE_MODIFIED);
  EXPECT_EQ(*ParseEventType("EVENT_TYPE_DELETED"),
            xenlet::v1::EVENT_TYPE_DELETED);
  EXPECT_EQ(*ParseEventType("stats"), xenlet::v1::EVENT_TYPE_STATS);
  // Always sent, so not selectable.
  EXPECT_FALSE(ParseEventType("synced").ok());
  EXPECT_FALSE(ParseEventType("bookmark").ok());
  EXPECT_FALSE(ParseEventType("").ok());
}

}  // namespace
}  // namespace xenlet::ctl
