// `xenletctl fleet list|watch`, in-process, against a real nats-server
// whose buckets the test writes as the publishers would: the tables, the
// JSON, the change lines, the command line (NATS flags under the verbs,
// the global --json) and the errors.
#include <memory>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fleet/fleet_names.h"
#include "fleet/nats/connection.h"
#include "fleet/nats/key_value.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/fleet/nats_server.h"
#include "tests/testing/temp_dir.h"
#include "tools/xenletctl/commands.h"
#include "xenlet/fleet/v1/fleet.pb.h"
#include "xenlet/v1/domain.pb.h"

namespace xenlet::ctl {
namespace {

using fleet::v1::HostHealth;
using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using xenlet::v1::Domain;

constexpr char kUuidA[] = "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b";
constexpr char kUuidB[] = "9b1c0e7d-2a3f-4e5b-8c6d-7e8f9a0b1c2d";
constexpr char kZeroUuid[] = "00000000-0000-0000-0000-000000000000";
constexpr absl::Duration kWait = absl::Seconds(20);

// The commands' clock: fixed, so that ages print the same every run.
const absl::Time kNow = absl::FromUnixSeconds(1767366245);  // 15:04:05 UTC

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &json).ok());
  return json;
}

Domain MakeDomain(uint32_t domid, const std::string& uuid,
                  const std::string& name, xenlet::v1::DomainState state,
                  uint32_t vcpus, uint64_t memory) {
  Domain d;
  d.set_domid(domid);
  d.set_uuid(uuid);
  d.set_name(name);
  d.set_state(state);
  d.set_vcpus_online(vcpus);
  d.set_vcpus_max(vcpus);
  d.mutable_memory()->set_current_bytes(memory);
  d.set_cpu_time_ns(uint64_t{3} * 3600 * 1000000000);
  return d;
}

HostHealth MakeHealth(const std::string& host, HostHealth::State state,
                      uint64_t revision) {
  HostHealth h;
  h.set_host(host);
  h.set_state(state);
  h.mutable_resume()->set_instance_id("6f1c0d2e9a4b7c31");
  h.mutable_resume()->set_revision(revision);
  *h.mutable_last_heard() =
      TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow) - 2);
  return h;
}

// An ostream that a reader's thread writes while the test reads it, and
// that wakes the test when it grew.
class SharedOutput : public std::streambuf {
 public:
  std::string text() const {
    absl::MutexLock lock(&mu_);
    return text_;
  }
  // Waits until the text contains `needle`; false after `timeout`.
  bool WaitFor(const std::string& needle, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto has = [this, &needle]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return absl::StrContains(text_, needle);
    };
    return mu_.AwaitWithTimeout(absl::Condition(&has), timeout);
  }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) {
      absl::MutexLock lock(&mu_);
      text_.push_back(static_cast<char>(c));
    }
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    absl::MutexLock lock(&mu_);
    text_.append(s, n);
    return n;
  }

 private:
  mutable absl::Mutex mu_;
  std::string text_ ABSL_GUARDED_BY(mu_);
};

class XenletctlFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = xenlet::testing::NatsServer::Start({.dir = dir_.path()});
    ASSERT_NE(server_, nullptr);
    fleet::nats::ConnectionOptions options;
    options.servers = {server_->url()};
    auto conn = fleet::nats::Connection::Open(options);
    ASSERT_TRUE(conn.ok()) << conn.status();
    writer_ = std::move(*conn);
    ASSERT_TRUE(writer_->WaitUntilConnected(kWait));
    auto domains = fleet::nats::KeyValue::Open(
        *writer_, {.name = std::string(fleet::kDomainsBucket)});
    ASSERT_TRUE(domains.ok()) << domains.status();
    domains_ = std::move(*domains);
    auto hosts = fleet::nats::KeyValue::Open(
        *writer_, {.name = std::string(fleet::kHostsBucket)});
    ASSERT_TRUE(hosts.ok()) << hosts.status();
    hosts_ = std::move(*hosts);
  }

  void PutDomain(const std::string& host, const Domain& d) {
    auto put =
        domains_->Put(fleet::DomainKey(host, d.uuid(), d.domid()), Json(d));
    ASSERT_TRUE(put.ok()) << put.status();
  }
  void PutHealth(const HostHealth& h) {
    auto put = hosts_->Put(h.host(), Json(h));
    ASSERT_TRUE(put.ok()) << put.status();
  }

  // Two hosts: h1 live with two domains, h2 stopped with one; and the
  // marker of a domain h1 destroyed, which must not show.
  void WriteFleet() {
    PutDomain("h1", MakeDomain(0, kZeroUuid, "Domain-0",
                               xenlet::v1::DOMAIN_STATE_RUNNING, 4,
                               uint64_t{4} << 30));
    Domain web = MakeDomain(7, kUuidA, "web-frontend-prod-01",
                            xenlet::v1::DOMAIN_STATE_SHUTDOWN, 2, 3u << 29);
    web.set_shutdown_reason(xenlet::v1::SHUTDOWN_REASON_CRASH);
    PutDomain("h1", web);
    PutDomain("h1", MakeDomain(9, kUuidB, "gone",
                               xenlet::v1::DOMAIN_STATE_DYING, 1, 0));
    ASSERT_TRUE(domains_->Delete(fleet::DomainKey("h1", kUuidB, 9)).ok());
    PutDomain("dom0-17_rack",
              MakeDomain(3, kUuidB, "db-1", xenlet::v1::DOMAIN_STATE_PAUSED, 1,
                         512u << 20));
    PutHealth(MakeHealth("h1", HostHealth::STATE_LIVE, 42));
    PutHealth(MakeHealth("dom0-17_rack", HostHealth::STATE_STOPPED, 7));
  }

  GlobalOptions Global(bool json = false) const {
    GlobalOptions global;
    global.json = json;
    global.time_zone = absl::UTCTimeZone();
    global.clock = [] { return kNow; };
    return global;
  }

  FleetOptions Options() const {
    FleetOptions options;
    options.nats.server = server_->url();
    return options;
  }

  // Through the whole command line, as main() would.
  int Cli(const std::vector<std::string>& args, std::string* out,
          std::string* err) {
    std::vector<const char*> argv = {"xenletctl"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    std::ostringstream o, e;
    int code = RunCli(static_cast<int>(argv.size()), argv.data(), o, e);
    *out = o.str();
    *err = e.str();
    return code;
  }

  xenlet::testing::TempDir dir_;
  std::unique_ptr<xenlet::testing::NatsServer> server_;
  std::unique_ptr<fleet::nats::Connection> writer_;
  std::unique_ptr<fleet::nats::KeyValue> domains_;
  std::unique_ptr<fleet::nats::KeyValue> hosts_;
};

TEST_F(XenletctlFleetTest, ListPrintsTheDomainsThenTheHosts) {
  ASSERT_NO_FATAL_FAILURE(WriteFleet());
  std::ostringstream out, err;
  ASSERT_EQ(RunFleetList(Global(), Options(), out, err), kExitOk) << err.str();
  EXPECT_EQ(err.str(), "");
  EXPECT_EQ(out.str(),
            "HOST          DOMID  NAME                  STATE     REASON  "
            "VCPUS     MEM\n"
            "dom0-17_rack      3  db-1                  paused    -         "
            "1/1  512MiB\n"
            "h1                0  Domain-0              running   -         "
            "4/4    4GiB\n"
            "h1                7  web-frontend-prod-01  shutdown  crash     "
            "2/2  1.5GiB\n"
            "\n"
            "HOST          STATE    LAST-HEARD  RESUME               STALE\n"
            "dom0-17_rack  stopped  2.0s ago    6f1c0d2e9a4b7c31:7   yes\n"
            "h1            live     2.0s ago    6f1c0d2e9a4b7c31:42  no\n");
  // 80 columns with a 20-character name and a 12-character host id.
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST_F(XenletctlFleetTest, ListWithAHostAndWide) {
  ASSERT_NO_FATAL_FAILURE(WriteFleet());
  FleetOptions options = Options();
  options.host = "h1";
  options.wide = true;
  std::ostringstream out, err;
  ASSERT_EQ(RunFleetList(Global(), options, out, err), kExitOk) << err.str();
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("CPUTIME"));
  EXPECT_THAT(text, HasSubstr(kUuidA));
  EXPECT_THAT(text, HasSubstr("3h00m"));
  EXPECT_THAT(text, HasSubstr("UPDATED"));
  EXPECT_THAT(text, HasSubstr("VERSION"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("dom0-17_rack")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("db-1")));
}

TEST_F(XenletctlFleetTest, ListJsonIsOneDocument) {
  ASSERT_NO_FATAL_FAILURE(WriteFleet());
  // The global --json, before the group or after the verb.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--json", "fleet", "list", "-s",
                                 server_->url()},
        std::vector<std::string>{"fleet", "list", "--server", server_->url(),
                                 "--json", "--timeout", "3"}}) {
    std::string out, err;
    ASSERT_EQ(Cli(args, &out, &err), kExitOk) << err;
    ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    google::protobuf::Struct doc;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &doc).ok())
        << out;
    const auto& domains = doc.fields().at("domains").list_value().values();
    ASSERT_EQ(domains.size(), 3);
    // In key order: dom0-17_rack, then h1's by UUID.
    const auto& db = domains[0].struct_value().fields();
    EXPECT_EQ(db.at("host").string_value(), "dom0-17_rack");
    EXPECT_EQ(db.at("uuid").string_value(), kUuidB);
    EXPECT_EQ(db.at("domid").number_value(), 3);
    EXPECT_EQ(db.at("domain").struct_value().fields().at("name").string_value(),
              "db-1");
    // dom0's domid 0 is in the envelope even where the Domain omits it.
    EXPECT_EQ(domains[1].struct_value().fields().at("domid").number_value(), 0);
    const auto& hosts = doc.fields().at("hosts").list_value().values();
    ASSERT_EQ(hosts.size(), 2);
    const auto& rack = hosts[0].struct_value().fields();
    EXPECT_EQ(rack.at("host").string_value(), "dom0-17_rack");
    EXPECT_TRUE(rack.at("stale").bool_value());
    EXPECT_EQ(
        rack.at("health").struct_value().fields().at("state").string_value(),
        "STATE_STOPPED");
    EXPECT_FALSE(hosts[1].struct_value().fields().at("stale").bool_value());
    EXPECT_THAT(hosts[1].struct_value().fields().at("heard").string_value(),
                ::testing::MatchesRegex("20[0-9-]+T[0-9:.]+Z"));
  }
}

TEST_F(XenletctlFleetTest, WatchPrintsTheListingThenEachChange) {
  ASSERT_NO_FATAL_FAILURE(WriteFleet());
  SharedOutput shared;
  std::ostream out(&shared);
  std::ostringstream err;
  FleetOptions options = Options();
  options.count = 4;
  int code = -1;
  std::thread watch([&] { code = RunFleetWatch(Global(), options, out, err); });
  // The listing is out: what follows are changes.
  ASSERT_TRUE(shared.WaitFor("6f1c0d2e9a4b7c31:42  no\n\n", kWait))
      << shared.text();

  Domain web = MakeDomain(7, kUuidA, "web-frontend-prod-01",
                          xenlet::v1::DOMAIN_STATE_RUNNING, 2, 3u << 29);
  PutDomain("h1", web);
  PutDomain("h1", web);  // the same again: the KV's MODIFIED
  ASSERT_TRUE(
      domains_->Delete(fleet::DomainKey("dom0-17_rack", kUuidB, 3)).ok());
  // The buckets have a thread each: one change of each at a time keeps the
  // lines in the order written.
  ASSERT_TRUE(shared.WaitFor("DELETED", kWait)) << shared.text();
  // A health update that changes no staleness: no line.
  PutHealth(MakeHealth("h1", HostHealth::STATE_LIVE, 43));
  PutHealth(MakeHealth("h3", HostHealth::STATE_LIVE, 1));
  watch.join();
  EXPECT_EQ(code, kExitOk) << err.str();
  const std::string text = shared.text();
  const std::string changes =
      text.substr(text.find("\n\n", text.find("STALE")) + 2);
  EXPECT_EQ(changes,
            "15:04:05 h1 MODIFIED running domid=7 name=web-frontend-prod-01\n"
            "15:04:05 h1 MODIFIED updated domid=7 name=web-frontend-prod-01 "
            "state=running\n"
            "15:04:05 dom0-17_rack DELETED removed domid=3 name=db-1 "
            "state=paused\n"
            "15:04:05 HOST h3 live\n");
}

TEST_F(XenletctlFleetTest, WatchJsonAndStop) {
  ASSERT_NO_FATAL_FAILURE(WriteFleet());
  SharedOutput shared;
  std::ostream out(&shared);
  std::ostringstream err;
  StopToken stop;
  FleetOptions options = Options();
  options.stop = &stop;
  int code = -1;
  std::thread watch(
      [&] { code = RunFleetWatch(Global(true), options, out, err); });
  ASSERT_TRUE(shared.WaitFor("]}\n", kWait)) << shared.text();
  PutDomain("h1", MakeDomain(5, kUuidA, "new-1",
                             xenlet::v1::DOMAIN_STATE_CREATED, 1, 1u << 30));
  ASSERT_TRUE(shared.WaitFor("\"kind\":\"ADDED\"", kWait)) << shared.text();
  stop.Stop();  // as SIGINT does
  watch.join();
  EXPECT_EQ(code, kExitOk) << err.str();
  std::istringstream lines(shared.text());
  std::string listing, change, extra;
  std::getline(lines, listing);
  std::getline(lines, change);
  EXPECT_FALSE(std::getline(lines, extra)) << extra;
  EXPECT_THAT(listing, ::testing::StartsWith("{\"domains\":[{\"host\":"));
  EXPECT_THAT(change,
              ::testing::StartsWith(absl::StrCat(
                  "{\"time\":\"2026-01-02T15:04:05Z\",\"type\":\"DOMAIN\","
                  "\"kind\":\"ADDED\",\"host\":\"h1\",\"uuid\":\"",
                  kUuidA, "\",\"domid\":5,\"domain\":{")));
}

TEST_F(XenletctlFleetTest, UnreachableNatsIsNamed) {
  FleetOptions options;
  options.nats.server = "nats://127.0.0.1:1";
  options.nats.timeout_seconds = 0.5;
  std::ostringstream out, err;
  EXPECT_EQ(RunFleetList(Global(), options, out, err), kExitRpcError);
  EXPECT_EQ(out.str(), "");
  EXPECT_THAT(err.str(),
              ::testing::StartsWith("xenletctl: cannot reach NATS at "
                                    "nats://127.0.0.1:1: "));
  EXPECT_THAT(err.str(), HasSubstr("-s/--server (or NATS_URL)"));
}

TEST_F(XenletctlFleetTest, UsageErrors) {
  std::string out, err;
  EXPECT_EQ(
      Cli({"fleet", "list", "-s", server_->url(), "--host", "a.b"}, &out, &err),
      kExitUsage);
  EXPECT_THAT(err, HasSubstr("xenletctl: --host: host id \"a.b\""));
  EXPECT_THAT(err, HasSubstr("Run 'xenletctl fleet list --help'"));

  EXPECT_EQ(Cli({"fleet", "watch", "--user", "u", "--token", "t"}, &out, &err),
            kExitUsage);
  EXPECT_THAT(err, HasSubstr("at most one way to authenticate"));
  EXPECT_THAT(err, HasSubstr("Run 'xenletctl fleet watch --help'"));

  EXPECT_EQ(Cli({"fleet", "list", "--count", "3"}, &out, &err), kExitUsage);
  EXPECT_THAT(err, HasSubstr("Run 'xenletctl fleet list --help'"));

  EXPECT_EQ(Cli({"fleet"}, &out, &err), kExitUsage);
  EXPECT_THAT(err, HasSubstr("Run 'xenletctl fleet --help'"));
}

}  // namespace
}  // namespace xenlet::ctl
