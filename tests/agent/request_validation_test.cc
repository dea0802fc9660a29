// Unit tests of the request checks, page tokens and field masks.
#include "agent/request_validation.h"

#include "absl/strings/match.h"
#include "agent/field_mask.h"
#include "agent/page_token.h"
#include "gtest/gtest.h"
#include "store/uuid.h"

namespace xenlet::agent {
namespace {

TEST(PageTokenTest, RoundTrips) {
  PageToken token{"4f2a9c", 123456789012ULL, 32751};
  auto decoded = DecodePageToken(EncodePageToken(token));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->instance_id, "4f2a9c");
  EXPECT_EQ(decoded->revision, 123456789012ULL);
  EXPECT_EQ(decoded->next_domid, 32751u);
}

TEST(PageTokenTest, RejectsGarbageNamingTheField) {
  for (const char* bad : {"", "!!!", "cDE6eDox", "cDE6Ong6MTox"}) {
    auto decoded = DecodePageToken(bad);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(decoded.status().message().rfind("page_token:", 0), 0u);
  }
}

TEST(UuidTest, CanonicalisesAcceptedForms) {
  EXPECT_EQ(store::CanonicalUuid("00112233-4455-6677-8899-AABBCCDDEEFF"),
            "00112233-4455-6677-8899-aabbccddeeff");
  EXPECT_EQ(store::CanonicalUuid("00112233445566778899aabbccddeeff"),
            "00112233-4455-6677-8899-aabbccddeeff");
  EXPECT_EQ(store::CanonicalUuid("{00112233-4455-6677-8899-aabbccddeeff}"),
            "00112233-4455-6677-8899-aabbccddeeff");
}

TEST(UuidTest, RejectsMalformed) {
  for (const char* bad : {"", "1234", "00112233-4455-6677-8899-aabbccddeef",
                          "0011223344-55-6677-8899-aabbccddeeff",
                          "00112233-4455-6677-8899-aabbccddeefg",
                          "00112233445566778899aabbccddeeff00"}) {
    EXPECT_FALSE(store::CanonicalUuid(bad).has_value()) << bad;
  }
}

TEST(FieldMaskTest, AcceptsDomainFieldsAndSubfields) {
  google::protobuf::FieldMask mask;
  mask.add_paths("domid");
  mask.add_paths("memory.current_bytes");
  mask.add_paths("flags");
  EXPECT_TRUE(ValidateDomainMask(mask, "read_mask").ok());
}

TEST(FieldMaskTest, RefusesMalformedPathsNamingTheIndex) {
  for (const char* bad :
       {"", ".", "domid.", ".domid", "memory..max_bytes", "memory.", "colour",
        "memory.nope", "domid.x", "name.length", "memory.current_bytes.x"}) {
    google::protobuf::FieldMask mask;
    mask.add_paths("domid");
    mask.add_paths(bad);
    const absl::Status s = ValidateDomainMask(mask, "read_mask");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
        << '"' << bad << '"';
    EXPECT_TRUE(absl::StrContains(s.message(), "read_mask.paths[1]"))
        << s.message();
  }
}

TEST(FieldMaskTest, TrimsToTheMask) {
  v1::Domain domain;
  domain.set_domid(7);
  domain.set_name("web");
  domain.mutable_memory()->set_current_bytes(1 << 20);
  domain.mutable_memory()->set_max_bytes(2 << 20);
  google::protobuf::FieldMask mask;
  mask.add_paths("domid");
  mask.add_paths("memory.max_bytes");
  ApplyDomainMask(mask, &domain);
  EXPECT_EQ(domain.domid(), 7u);
  EXPECT_EQ(domain.name(), "");
  EXPECT_EQ(domain.memory().current_bytes(), 0u);
  EXPECT_EQ(domain.memory().max_bytes(), 2u << 20);
}

TEST(FieldMaskTest, EmptyMaskKeepsEverything) {
  v1::Domain domain;
  domain.set_name("web");
  ApplyDomainMask({}, &domain);
  EXPECT_EQ(domain.name(), "web");
}

TEST(ValidationTest, AcceptsWellFormedRequests) {
  v1::ListDomainsRequest list;
  list.set_page_size(10);
  list.mutable_filter()->add_domids(32751);
  list.mutable_filter()->add_uuids("00112233-4455-6677-8899-aabbccddeeff");
  list.mutable_filter()->add_states(v1::DOMAIN_STATE_RUNNING);
  list.set_page_token(EncodePageToken({"abc", 1, 0}));
  EXPECT_TRUE(ValidateListDomains(list).ok());

  v1::WatchDomainsRequest watch;
  watch.mutable_resume()->set_instance_id("abc");
  watch.mutable_resume()->set_revision(5);
  watch.add_event_types(v1::EVENT_TYPE_MODIFIED);
  watch.mutable_bookmark_interval()->set_seconds(10);
  EXPECT_TRUE(ValidateWatchDomains(watch).ok());

  v1::ShutdownDomainsRequest shutdown;
  shutdown.add_selectors()->set_name("web-1");
  shutdown.mutable_timeout()->set_seconds(600);
  EXPECT_TRUE(ValidateShutdownDomains(shutdown).ok());

  v1::ReadXenstoreRequest read;
  read.add_paths("/local/domain/0/backend/vif");
  read.add_paths("@introduceDomain");
  EXPECT_FALSE(ValidateReadXenstore(read).ok());  // not absolute
  read.mutable_paths()->RemoveLast();
  EXPECT_TRUE(ValidateReadXenstore(read).ok());
}

TEST(ValidationTest, LimitsBatchSizes) {
  v1::PauseDomainsRequest pause;
  for (int i = 0; i <= kMaxControlSelectors; ++i) {
    pause.add_selectors()->set_domid(i);
  }
  absl::Status status = ValidatePauseDomains(pause);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().rfind("selectors:", 0), 0u) << status;
}

}  // namespace
}  // namespace xenlet::agent
