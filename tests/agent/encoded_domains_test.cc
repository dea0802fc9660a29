// A listing's kept wire form of a domain reads back as the domain a query
// answers (its volatile fields from the sweep), and is made once per
// message.
#include "agent/encoded_domains.h"

#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "store/volatile_view.h"
#include "xenlet/v1/domain_service.pb.h"

namespace xenlet::agent {
namespace {

using google::protobuf::util::MessageDifferencer;

// Every field set, the volatile ones to values a sweep will contradict
// (running, where the sweep says blocked: a zero must win too).
store::DomainPtr AStoredDomain(uint32_t domid) {
  auto d = std::make_shared<v1::Domain>();
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        uuid: "6c2d7a8e-1f3b-4c5d-9e8f-0a1b2c3d4e5f"
        incarnation: 2
        name: "web"
        state: DOMAIN_STATE_RUNNING
        flags { hvm: true running: true hap: true }
        vcpus_online: 4
        vcpus_max: 4
        cpu_time_ns: 111
        memory {
          current_bytes: 1000
          max_bytes: 4000
          target_bytes: 3000
          shared_bytes: 10
          outstanding_bytes: 20
        }
        cpupool: 1
        ssidref: 7
        xenstore { key: "control/shutdown" value: "" }
        xenstore { key: "data/ip" value: "10.0.0.2" }
        created_revision: 5
        updated_revision: 9
        created_time { seconds: 1700000000 }
        updated_time { seconds: 1700000100 nanos: 5 }
      )pb",
      d.get()));
  d->set_domid(domid);
  return d;
}

xen::DomainInfo ASweepEntry(uint32_t domid) {
  xen::DomainInfo info;
  info.domid = domid;
  info.running = false;
  info.blocked = true;
  info.nr_online_vcpus = 3;
  info.cpu_time_ns = 222;
  info.tot_pages = 7;
  info.shr_pages = 0;  // was 10: the zero must win
  info.outstanding_pages = 1;
  return info;
}

// The listing's bytes for d, parsed as a ListDomainsResponse's one domain.
v1::Domain Listed(EncodedDomains& encoded, const store::DomainPtr& d,
                  const xen::DomainInfo* info) {
  std::string bytes;
  encoded.Append(v1::ListDomainsResponse::kDomainsFieldNumber, d, info, &bytes);
  v1::ListDomainsResponse response;
  EXPECT_TRUE(response.ParseFromString(bytes));
  EXPECT_EQ(response.domains_size(), 1);
  return response.domains_size() == 1 ? response.domains(0) : v1::Domain();
}

TEST(EncodedDomainsTest, ReadsBackAsTheDomainWithTheSweepsVolatileFields) {
  EncodedDomains encoded;
  const store::DomainPtr d = AStoredDomain(3);
  const xen::DomainInfo info = ASweepEntry(3);
  v1::Domain expected = *d;
  store::FillVolatile(info, &expected);
  const v1::Domain listed = Listed(encoded, d, &info);
  EXPECT_TRUE(MessageDifferencer::Equals(listed, expected))
      << "listed:\n"
      << listed.DebugString() << "expected:\n"
      << expected.DebugString();
  EXPECT_FALSE(listed.flags().running());
  EXPECT_EQ(listed.memory().shared_bytes(), 0u);
  EXPECT_EQ(listed.memory().max_bytes(), 4000u);
}

// A domain the sweep has not seen (not yet swept) keeps its own values.
TEST(EncodedDomainsTest, WithoutASweepEntryTheMessagesOwnValuesStay) {
  EncodedDomains encoded;
  const store::DomainPtr d = AStoredDomain(3);
  const v1::Domain listed = Listed(encoded, d, nullptr);
  EXPECT_TRUE(MessageDifferencer::Equals(listed, *d)) << listed.DebugString();
}

TEST(EncodedDomainsTest, EachMessageIsEncodedOnce) {
  EncodedDomains encoded;
  const store::DomainPtr a = AStoredDomain(3);
  xen::DomainInfo info = ASweepEntry(3);
  Listed(encoded, a, &info);
  info.cpu_time_ns = 333;  // the next sweep: the same message, fresh values
  EXPECT_EQ(Listed(encoded, a, &info).cpu_time_ns(), 333u);
  EXPECT_EQ(encoded.encoded(), 1u);
  // A change publishes a new message: it is encoded again, and read back.
  auto b = std::make_shared<v1::Domain>(*a);
  b->set_name("web-2");
  EXPECT_EQ(Listed(encoded, b, &info).name(), "web-2");
  EXPECT_EQ(encoded.encoded(), 2u);
  // Another domid has its own entry.
  Listed(encoded, AStoredDomain(4), nullptr);
  EXPECT_EQ(encoded.encoded(), 3u);
}

TEST(EncodedDomainsTest, VarintsAreProtobufs) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 1ull << 35}) {
    std::string out;
    AppendVarint(v, &out);
    v1::Domain d;
    d.set_cpu_time_ns(v);
    // Field 10, varint: the tag is one byte (10 << 3 = 80).
    const std::string wire = d.SerializeAsString();
    if (v == 0) {
      EXPECT_EQ(out, std::string(1, '\0'));
    } else {
      EXPECT_EQ(out, wire.substr(1)) << v;
    }
  }
}

}  // namespace
}  // namespace xenlet::agent
