// fleet/reader/fleet_model: the merged model as a pure state machine, fed
// bucket entries by hand, with a fake clock.
#include "fleet/reader/fleet_model.h"

#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "fleet/fleet_names.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace xenlet::fleet {

// For gtest's failure messages.
void PrintTo(const DomainRef& ref, std::ostream* os) {
  *os << DomainKey(ref.host, ref.uuid, ref.domid);
}

namespace {

using fleet::v1::HostHealth;
using xenlet::v1::Domain;
using Op = BucketEntry::Operation;

constexpr char kUuidA[] = "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b";
constexpr char kUuidB[] = "9b1c0e7d-2a3f-4e5b-8c6d-7e8f9a0b1c2d";
constexpr char kZeroUuid[] = "00000000-0000-0000-0000-000000000000";

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &json).ok());
  return json;
}

Domain MakeDomain(
    uint32_t domid, const std::string& uuid, const std::string& name,
    xenlet::v1::DomainState state = xenlet::v1::DOMAIN_STATE_RUNNING) {
  Domain d;
  d.set_domid(domid);
  d.set_uuid(uuid);
  d.set_name(name);
  d.set_state(state);
  return d;
}

HostHealth MakeHealth(const std::string& host,
                      HostHealth::State state = HostHealth::STATE_LIVE) {
  HostHealth h;
  h.set_host(host);
  h.set_state(state);
  h.mutable_resume()->set_instance_id("6f1c0d2e9a4b7c31");
  h.mutable_resume()->set_revision(42);
  return h;
}

BucketEntry Put(const std::string& key, const google::protobuf::Message& value,
                uint64_t revision, absl::Time created = absl::UnixEpoch()) {
  return BucketEntry{key, Json(value), Op::kPut, revision, created};
}

BucketEntry PutDomain(const std::string& host, const Domain& d,
                      uint64_t revision) {
  return Put(DomainKey(host, d.uuid(), d.domid()), d, revision);
}

BucketEntry Remove(const std::string& key, uint64_t revision,
                   Op op = Op::kDelete) {
  return BucketEntry{key, "", op, revision, absl::UnixEpoch()};
}

// By value: the change lives in the optional Apply returned.
DomainChange AsDomain(const std::optional<FleetChange>& change) {
  EXPECT_TRUE(change.has_value());
  if (!change.has_value()) return {};
  const auto* d = std::get_if<DomainChange>(&*change);
  EXPECT_NE(d, nullptr);
  return d != nullptr ? *d : DomainChange{};
}

HostChange AsHost(const std::optional<FleetChange>& change) {
  EXPECT_TRUE(change.has_value());
  if (!change.has_value()) return {};
  const auto* h = std::get_if<HostChange>(&*change);
  EXPECT_NE(h, nullptr);
  return h != nullptr ? *h : HostChange{};
}

class FleetModelTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  FleetModel model_{absl::Seconds(30), [this] { return now_; }};

  // Both buckets listed with nothing in them: the model is synced.
  void SyncEmpty() {
    model_.BeginResync(FleetBucket::kDomains);
    model_.BeginResync(FleetBucket::kHosts);
    EXPECT_TRUE(model_.EndResync(FleetBucket::kDomains).empty());
    EXPECT_TRUE(model_.EndResync(FleetBucket::kHosts).empty());
  }
};

TEST_F(FleetModelTest, SyncedOnceBothBucketsListed) {
  EXPECT_FALSE(model_.synced());
  model_.BeginResync(FleetBucket::kDomains);
  model_.BeginResync(FleetBucket::kHosts);
  EXPECT_TRUE(model_.resyncing(FleetBucket::kDomains));
  model_.EndResync(FleetBucket::kDomains);
  EXPECT_FALSE(model_.resyncing(FleetBucket::kDomains));
  EXPECT_FALSE(model_.synced());
  model_.EndResync(FleetBucket::kHosts);
  EXPECT_TRUE(model_.synced());
  // A later resync does not unsync it.
  model_.BeginResync(FleetBucket::kHosts);
  EXPECT_TRUE(model_.synced());
  // Outside a resync, EndResync does nothing.
  model_.EndResync(FleetBucket::kHosts);
  EXPECT_TRUE(model_.EndResync(FleetBucket::kHosts).empty());
}

TEST_F(FleetModelTest, PutsAddThenModify) {
  SyncEmpty();
  const Domain web = MakeDomain(7, kUuidA, "web-1");
  const DomainChange& added =
      AsDomain(model_.Apply(FleetBucket::kDomains, PutDomain("h1", web, 1)));
  EXPECT_EQ(added.kind, ChangeKind::kAdded);
  EXPECT_EQ(added.ref, (DomainRef{"h1", kUuidA, 7}));
  EXPECT_EQ(added.domain.name(), "web-1");

  Domain paused = web;
  paused.set_state(xenlet::v1::DOMAIN_STATE_PAUSED);
  const DomainChange& modified =
      AsDomain(model_.Apply(FleetBucket::kDomains, PutDomain("h1", paused, 2)));
  EXPECT_EQ(modified.kind, ChangeKind::kModified);
  EXPECT_EQ(modified.domain.state(), xenlet::v1::DOMAIN_STATE_PAUSED);
  EXPECT_EQ(modified.previous.state(), xenlet::v1::DOMAIN_STATE_RUNNING);

  // The KV's semantics: a live put of the same content is a MODIFIED.
  EXPECT_EQ(
      AsDomain(model_.Apply(FleetBucket::kDomains, PutDomain("h1", paused, 3)))
          .kind,
      ChangeKind::kModified);

  ASSERT_EQ(model_.Domains().size(), 1u);
  EXPECT_EQ(model_.Domains().begin()->second.revision, 3u);
  const std::string key = DomainKey("h1", kUuidA, 7);
  EXPECT_EQ(model_.Export(), (ModelExport{{{key, ExportText(paused)}}, {}}));
}

TEST_F(FleetModelTest, SameUuidUnderTwoDomidsIsTwoDomains) {
  SyncEmpty();
  // dom0 and an xl reboot: one UUID, two keys (docs/fleet.md 2.1).
  model_.Apply(FleetBucket::kDomains,
               PutDomain("h1", MakeDomain(0, kZeroUuid, "Domain-0"), 1));
  model_.Apply(FleetBucket::kDomains,
               PutDomain("h1", MakeDomain(7, kUuidA, "web-1"), 2));
  model_.Apply(FleetBucket::kDomains,
               PutDomain("h1", MakeDomain(8, kUuidA, "web-1"), 3));
  model_.Apply(FleetBucket::kDomains,
               PutDomain("h2", MakeDomain(0, kZeroUuid, "Domain-0"), 4));
  EXPECT_EQ(model_.Domains().size(), 4u);
  const DomainChange& gone = AsDomain(model_.Apply(
      FleetBucket::kDomains, Remove(DomainKey("h1", kUuidA, 7), 5)));
  EXPECT_EQ(gone.kind, ChangeKind::kDeleted);
  EXPECT_EQ(model_.Domains().count(DomainRef{"h1", kUuidA, 8}), 1u);
  EXPECT_EQ(model_.Domains().size(), 3u);
}

TEST_F(FleetModelTest, DeleteAndPurgeRemove) {
  SyncEmpty();
  const Domain a = MakeDomain(7, kUuidA, "web-1");
  const Domain b = MakeDomain(8, kUuidB, "db-1");
  model_.Apply(FleetBucket::kDomains, PutDomain("h1", a, 1));
  model_.Apply(FleetBucket::kDomains, PutDomain("h1", b, 2));

  const DomainChange& deleted = AsDomain(model_.Apply(
      FleetBucket::kDomains, Remove(DomainKey("h1", kUuidA, 7), 3)));
  EXPECT_EQ(deleted.kind, ChangeKind::kDeleted);
  // The last value it had, for the watcher's line.
  EXPECT_EQ(deleted.domain.name(), "web-1");

  const DomainChange& purged =
      AsDomain(model_.Apply(FleetBucket::kDomains,
                            Remove(DomainKey("h1", kUuidB, 8), 4, Op::kPurge)));
  EXPECT_EQ(purged.kind, ChangeKind::kDeleted);
  EXPECT_TRUE(model_.Domains().empty());

  // A marker for a key the model does not have (a delete of a key never
  // put, or a marker among the initial values): nothing changes.
  EXPECT_FALSE(
      model_.Apply(FleetBucket::kDomains, Remove(DomainKey("h1", kUuidA, 7), 5))
          .has_value());

  model_.Apply(FleetBucket::kHosts, Put("h1", MakeHealth("h1"), 6, now_));
  const HostChange& host_gone =
      AsHost(model_.Apply(FleetBucket::kHosts, Remove("h1", 7)));
  EXPECT_EQ(host_gone.kind, ChangeKind::kDeleted);
  EXPECT_EQ(host_gone.host, "h1");
  EXPECT_TRUE(model_.Hosts().empty());
  EXPECT_EQ(model_.bad_keys(), 0u);
}

TEST_F(FleetModelTest, BadKeysAndValuesAreCountedAndSkipped) {
  SyncEmpty();
  const Domain d = MakeDomain(7, kUuidA, "web-1");
  for (const std::string key : {"h1", "h1.uuid", "h1.uuid.seven", "h1._health",
                                "h1.a.7.x", "host.example.org", "h1..7"}) {
    EXPECT_FALSE(
        model_.Apply(FleetBucket::kDomains, Put(key, d, 1)).has_value())
        << key;
  }
  // A deleted bad key is counted too: it is not a domain.
  EXPECT_FALSE(
      model_.Apply(FleetBucket::kDomains, Remove("h1.x", 2)).has_value());
  for (const std::string& key :
       std::vector<std::string>{"h1.x", "bad host", std::string(65, 'h')}) {
    EXPECT_FALSE(model_.Apply(FleetBucket::kHosts, Put(key, MakeHealth("x"), 3))
                     .has_value())
        << key;
  }
  EXPECT_EQ(model_.bad_keys(), 11u);

  EXPECT_FALSE(model_
                   .Apply(FleetBucket::kDomains,
                          BucketEntry{DomainKey("h1", kUuidA, 7), "not json",
                                      Op::kPut, 4, now_})
                   .has_value());
  EXPECT_FALSE(model_
                   .Apply(FleetBucket::kHosts,
                          BucketEntry{"h1", "{\"host\":", Op::kPut, 5, now_})
                   .has_value());
  EXPECT_EQ(model_.bad_values(), 2u);
  EXPECT_TRUE(model_.Domains().empty());
  EXPECT_TRUE(model_.Hosts().empty());

  // Fields this reader does not know (a newer publisher) are fine.
  EXPECT_TRUE(model_
                  .Apply(FleetBucket::kDomains,
                         BucketEntry{DomainKey("h1", kUuidA, 7),
                                     "{\"domid\":7,\"name\":\"web-1\","
                                     "\"fieldFromTheFuture\":1}",
                                     Op::kPut, 6, now_})
                  .has_value());
  EXPECT_EQ(model_.bad_values(), 2u);
}

TEST_F(FleetModelTest, InitialValuesAreAddedAndMarkersIgnored) {
  model_.BeginResync(FleetBucket::kDomains);
  const Domain a = MakeDomain(7, kUuidA, "web-1");
  EXPECT_EQ(
      AsDomain(model_.Apply(FleetBucket::kDomains, PutDomain("h1", a, 1))).kind,
      ChangeKind::kAdded);
  // The marker of a domain destroyed long ago.
  EXPECT_FALSE(
      model_.Apply(FleetBucket::kDomains, Remove(DomainKey("h1", kUuidB, 8), 2))
          .has_value());
  EXPECT_TRUE(model_.EndResync(FleetBucket::kDomains).empty());
  EXPECT_EQ(model_.Domains().size(), 1u);
}

TEST_F(FleetModelTest, ResyncSweepsWhatWasNotRedelivered) {
  const Domain a = MakeDomain(7, kUuidA, "web-1");
  const Domain b = MakeDomain(8, kUuidB, "db-1");
  const Domain c = MakeDomain(9, kUuidA, "cache-1");
  model_.BeginResync(FleetBucket::kDomains);
  model_.BeginResync(FleetBucket::kHosts);
  model_.Apply(FleetBucket::kDomains, PutDomain("h1", a, 1));
  model_.Apply(FleetBucket::kDomains, PutDomain("h1", b, 2));
  model_.Apply(FleetBucket::kDomains, PutDomain("h2", c, 3));
  model_.Apply(FleetBucket::kHosts, Put("h1", MakeHealth("h1"), 1, now_));
  model_.Apply(FleetBucket::kHosts, Put("h2", MakeHealth("h2"), 2, now_));
  model_.EndResync(FleetBucket::kDomains);
  model_.EndResync(FleetBucket::kHosts);
  ASSERT_TRUE(model_.synced());

  // The watchers are recreated (a reconnect). Meanwhile: b changed, c and
  // h2 went away (their markers purged), d came.
  model_.BeginResync(FleetBucket::kDomains);
  model_.BeginResync(FleetBucket::kHosts);
  // a again, as it was: nothing to report.
  EXPECT_FALSE(
      model_.Apply(FleetBucket::kDomains, PutDomain("h1", a, 1)).has_value());
  Domain b2 = b;
  b2.set_state(xenlet::v1::DOMAIN_STATE_PAUSED);
  EXPECT_EQ(
      AsDomain(model_.Apply(FleetBucket::kDomains, PutDomain("h1", b2, 5)))
          .kind,
      ChangeKind::kModified);
  const Domain d = MakeDomain(3, kUuidB, "new-1");
  EXPECT_EQ(
      AsDomain(model_.Apply(FleetBucket::kDomains, PutDomain("h1", d, 6))).kind,
      ChangeKind::kAdded);
  EXPECT_FALSE(
      model_.Apply(FleetBucket::kHosts, Put("h1", MakeHealth("h1"), 1, now_))
          .has_value());

  // Until the end of the initial values, nothing is swept.
  EXPECT_EQ(model_.Domains().size(), 4u);
  std::vector<FleetChange> removed = model_.EndResync(FleetBucket::kDomains);
  ASSERT_EQ(removed.size(), 1u);
  const DomainChange& swept = std::get<DomainChange>(removed[0]);
  EXPECT_EQ(swept.kind, ChangeKind::kDeleted);
  EXPECT_EQ(swept.ref, (DomainRef{"h2", kUuidA, 9}));
  EXPECT_EQ(swept.domain.name(), "cache-1");

  removed = model_.EndResync(FleetBucket::kHosts);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(std::get<HostChange>(removed[0]).host, "h2");
  EXPECT_EQ(std::get<HostChange>(removed[0]).kind, ChangeKind::kDeleted);

  ModelExport expected;
  expected.domains[DomainKey("h1", kUuidA, 7)] = ExportText(a);
  expected.domains[DomainKey("h1", kUuidB, 8)] = ExportText(b2);
  expected.domains[DomainKey("h1", kUuidB, 3)] = ExportText(d);
  expected.hosts["h1"] = ExportText(MakeHealth("h1"));
  EXPECT_EQ(model_.Export(), expected);

  // Live entries after the resync are not marks for a later one.
  model_.BeginResync(FleetBucket::kDomains);
  removed = model_.EndResync(FleetBucket::kDomains);
  EXPECT_EQ(removed.size(), 3u);
  EXPECT_TRUE(model_.Domains().empty());
}

TEST_F(FleetModelTest, ResyncBegunAgainStartsOver) {
  SyncEmpty();
  const Domain a = MakeDomain(7, kUuidA, "web-1");
  const Domain b = MakeDomain(8, kUuidB, "db-1");
  model_.Apply(FleetBucket::kDomains, PutDomain("h1", a, 1));
  model_.Apply(FleetBucket::kDomains, PutDomain("h1", b, 2));
  model_.BeginResync(FleetBucket::kDomains);
  model_.Apply(FleetBucket::kDomains, PutDomain("h1", a, 1));
  // That watcher broke before its end; a new one lists only b.
  model_.BeginResync(FleetBucket::kDomains);
  model_.Apply(FleetBucket::kDomains, PutDomain("h1", b, 2));
  std::vector<FleetChange> removed = model_.EndResync(FleetBucket::kDomains);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(std::get<DomainChange>(removed[0]).ref.domid, 7u);
}

TEST_F(FleetModelTest, ResyncOfOneBucketLeavesTheOtherAlone) {
  SyncEmpty();
  model_.Apply(FleetBucket::kDomains,
               PutDomain("h1", MakeDomain(7, kUuidA, "web-1"), 1));
  model_.Apply(FleetBucket::kHosts, Put("h1", MakeHealth("h1"), 1, now_));
  model_.BeginResync(FleetBucket::kHosts);
  EXPECT_EQ(model_.EndResync(FleetBucket::kHosts).size(), 1u);
  EXPECT_EQ(model_.Domains().size(), 1u);
  EXPECT_TRUE(model_.Hosts().empty());
}

TEST_F(FleetModelTest, HostsTurnStaleWithTimeAndWithTheirState) {
  // An initial value written 40 s ago (the server's time): stale at once.
  model_.BeginResync(FleetBucket::kHosts);
  const HostChange& old =
      AsHost(model_.Apply(FleetBucket::kHosts, Put("h1", MakeHealth("h1"), 1,
                                                   now_ - absl::Seconds(40))));
  EXPECT_EQ(old.kind, ChangeKind::kAdded);
  EXPECT_TRUE(old.status.stale);
  EXPECT_EQ(old.status.heard, now_ - absl::Seconds(40));
  // One written 10 s ago is not.
  const HostChange& recent =
      AsHost(model_.Apply(FleetBucket::kHosts, Put("h2", MakeHealth("h2"), 2,
                                                   now_ - absl::Seconds(10))));
  EXPECT_FALSE(recent.status.stale);
  model_.EndResync(FleetBucket::kHosts);
  EXPECT_TRUE(model_.UpdateStaleness().empty());

  // A live entry counts from its arrival, whatever the server's time says.
  now_ += absl::Seconds(5);
  const HostChange& back =
      AsHost(model_.Apply(FleetBucket::kHosts, Put("h1", MakeHealth("h1"), 3,
                                                   now_ - absl::Hours(1))));
  EXPECT_EQ(back.kind, ChangeKind::kModified);
  EXPECT_TRUE(back.was_stale);
  EXPECT_FALSE(back.status.stale);
  EXPECT_EQ(back.status.heard, now_);

  // h2's entry is now 15 s old, then 29 s, 30 s (not yet: older than),
  // then 31 s.
  now_ += absl::Seconds(14);
  EXPECT_TRUE(model_.UpdateStaleness().empty());
  now_ += absl::Seconds(1);
  EXPECT_TRUE(model_.UpdateStaleness().empty());
  now_ += absl::Seconds(1);
  std::vector<HostChange> flipped = model_.UpdateStaleness();
  ASSERT_EQ(flipped.size(), 1u);
  EXPECT_EQ(flipped[0].host, "h2");
  EXPECT_EQ(flipped[0].kind, ChangeKind::kModified);
  EXPECT_FALSE(flipped[0].was_stale);
  EXPECT_TRUE(flipped[0].status.stale);
  EXPECT_TRUE(model_.Hosts().at("h2").stale);
  // Reported once.
  EXPECT_TRUE(model_.UpdateStaleness().empty());

  // A fresh entry whose state is not LIVE is stale all the same.
  const HostChange& stopped = AsHost(model_.Apply(
      FleetBucket::kHosts,
      Put("h1", MakeHealth("h1", HostHealth::STATE_STOPPED), 4, now_)));
  EXPECT_FALSE(stopped.was_stale);
  EXPECT_TRUE(stopped.status.stale);
  EXPECT_EQ(model_.Export().hosts.at("h1"),
            "stale " + ExportText(MakeHealth("h1", HostHealth::STATE_STOPPED)));
  EXPECT_TRUE(model_.UpdateStaleness().empty());
}

TEST_F(FleetModelTest, RedeliveredHealthKeepsItsArrivalTime) {
  SyncEmpty();
  model_.Apply(FleetBucket::kHosts,
               Put("h1", MakeHealth("h1"), 7, now_ - absl::Minutes(5)));
  EXPECT_EQ(model_.Hosts().at("h1").heard, now_);
  // After a reconnect the same entry comes back with its (old) server time:
  // it is the same entry, so it is not newer or older than it was.
  model_.BeginResync(FleetBucket::kHosts);
  EXPECT_FALSE(model_
                   .Apply(FleetBucket::kHosts, Put("h1", MakeHealth("h1"), 7,
                                                   now_ - absl::Minutes(5)))
                   .has_value());
  EXPECT_TRUE(model_.EndResync(FleetBucket::kHosts).empty());
  EXPECT_EQ(model_.Hosts().at("h1").heard, now_);
  EXPECT_FALSE(model_.Hosts().at("h1").stale);
}

TEST_F(FleetModelTest, CopiesAreIndependent) {
  SyncEmpty();
  model_.Apply(FleetBucket::kDomains,
               PutDomain("h1", MakeDomain(7, kUuidA, "web-1"), 1));
  FleetModel copy = model_;
  model_.Apply(FleetBucket::kDomains, Remove(DomainKey("h1", kUuidA, 7), 2));
  EXPECT_EQ(copy.Domains().size(), 1u);
  EXPECT_TRUE(model_.Domains().empty());
  EXPECT_TRUE(copy.synced());
}

}  // namespace
}  // namespace xenlet::fleet
