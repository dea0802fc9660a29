// The toolstack simulator against a private simulated host: domains are
// created, paused, shut down and destroyed as libxl does it, and the
// hypervisor and xenstore both show it.
#include "sim/toolstack.h"

#include <set>
#include <thread>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "tests/sim/test_util.h"
#include "xen/errno_status.h"

namespace xenlet::sim {
namespace {

using ::testing::HasSubstr;
using xen::ShutdownReason;

class ToolstackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    XLSIM_ASSERT_OK_AND_ASSIGN(host_, SimHost::Start());
    XLSIM_ASSERT_OK_AND_ASSIGN(ts_, host_->NewToolstack());
    XLSIM_ASSERT_OK_AND_ASSIGN(xs_, host_->ConnectXenstore());
  }

  std::unique_ptr<SimHost> host_;
  std::unique_ptr<Toolstack> ts_;
  std::unique_ptr<xen::XenstoreClient> xs_;
};

TEST_F(ToolstackTest, CreateWritesKeysIntroducesAndUnpauses) {
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d,
                             ts_->CreateDomain({.name = "web", .vcpus = 2}));
  EXPECT_EQ(d.domid, 1u);
  XLSIM_ASSERT_OK_AND_ASSIGN(xen::DomainInfo info,
                             ts_->hypervisor().GetDomainInfo(d.domid));
  EXPECT_EQ(info.Uuid(), d.uuid);
  EXPECT_FALSE(info.paused);
  EXPECT_TRUE(info.running);
  EXPECT_EQ(info.nr_online_vcpus, 2u);
  EXPECT_EQ(info.tot_pages * xen::kPageSize, 256ull << 20);

  auto keys = Toolstack::DomainKeys(d.domid, d.uuid, d.name, {.vcpus = 2});
  EXPECT_GE(keys.size(), 30u);
  for (const auto& [path, value] : keys) {
    if (path.ends_with("start_time")) continue;
    auto read = xs_->Read(path);
    ASSERT_TRUE(read.ok()) << path << ": " << read.status();
    EXPECT_EQ(*read, value) << path;
  }
  EXPECT_EQ(*xs_->Read("/local/domain/1/name"), "web");
  EXPECT_EQ(*xs_->Read("/vm/" + d.uuid + "/uuid"), d.uuid);
  XLSIM_ASSERT_OK_AND_ASSIGN(bool introduced, xs_->IsDomainIntroduced(1));
  EXPECT_TRUE(introduced);
}

// A few-keys domain: the hypervisor's domain, running, with only its name
// and domid in xenstore and no introduce; destroyed as any other.
TEST_F(ToolstackTest, AFewKeysDomainHasItsNameAndNothingElse) {
  XLSIM_ASSERT_OK_AND_ASSIGN(
      CreatedDomain d, ts_->CreateDomain({.name = "tiny", .few_keys = true}));
  XLSIM_ASSERT_OK_AND_ASSIGN(xen::DomainInfo info,
                             ts_->hypervisor().GetDomainInfo(d.domid));
  EXPECT_EQ(info.Uuid(), d.uuid);
  EXPECT_FALSE(info.paused);
  EXPECT_TRUE(info.running);
  const std::string dom = xen::DomainPath(d.domid);
  EXPECT_EQ(*xs_->Read(dom + "/name"), "tiny");
  EXPECT_EQ(*xs_->Read(dom + "/domid"), absl::StrCat(d.domid));
  XLSIM_ASSERT_OK_AND_ASSIGN(std::vector<std::string> children,
                             xs_->Directory(dom));
  EXPECT_THAT(children, ::testing::UnorderedElementsAre("name", "domid"));
  EXPECT_EQ(xs_->Read("/vm/" + d.uuid).status().code(),
            absl::StatusCode::kNotFound);
  XLSIM_ASSERT_OK_AND_ASSIGN(bool introduced, xs_->IsDomainIntroduced(d.domid));
  EXPECT_FALSE(introduced);
  XLSIM_ASSERT_OK(ts_->DestroyDomain(d.domid));
  EXPECT_EQ(ts_->hypervisor().GetDomainInfo(d.domid).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(xs_->Read(dom).status().code(), absl::StatusCode::kNotFound);
}

// The requests of a creation in xenstored's trace, in libxl's steps: the
// make transaction, dm-version alone, the build_post transaction, the
// introduce, then the console's and the NIC's transactions; once the guest
// runs, its driver announces its control features.
TEST(ToolstackCreationTest, KeysComeInLibxlsStepsAndTransactions) {
  XLSIM_ASSERT_OK_AND_ASSIGN(
      auto host, SimHost::Start({.trace = true, .simulated_guests = false}));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto ts, host->NewToolstack());
  size_t line = 0;
  XLSIM_ASSERT_OK(host->TracedRequests(&line).status());
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d,
                             ts->CreateDomain({.name = "web", .vcpus = 2}));
  XLSIM_ASSERT_OK_AND_ASSIGN(std::vector<std::string> requests,
                             host->TracedRequests(&line));
  // Each step: "T" for a transaction (with the last path it wrote), or
  // the request itself outside one.
  std::vector<std::string> steps;
  bool in_transaction = false;
  std::string last_write;
  for (const std::string& r : requests) {
    if (absl::StartsWith(r, "TRANSACTION_START")) {
      in_transaction = true;
    } else if (absl::StartsWith(r, "TRANSACTION_END")) {
      in_transaction = false;
      steps.push_back("T " + last_write);
    } else if (absl::StartsWith(r, "WRITE (") ||
               absl::StartsWith(r, "INTRODUCE")) {
      const std::string path =
          r.substr(r.find('(') + 1, r.find(' ', r.find('(')) - r.find('(') - 1);
      if (in_transaction) {
        last_write = path;
      } else {
        steps.push_back(r.substr(0, r.find(' ')) + " " + path);
      }
    }
  }
  const std::string dom = xen::DomainPath(d.domid);
  EXPECT_EQ(steps, (std::vector<std::string>{
                       "T /libxl/1/type",
                       "WRITE /libxl/1/dm-version",
                       "T /vm/" + d.uuid + "/start_time",
                       "INTRODUCE 1",
                       "T /local/domain/0/backend/console/1/0/protocol",
                       "T /local/domain/0/backend/vif/1/0/type",
                       // The unpause; then the booted guest's driver.
                       "WRITE /local/domain/1/control/feature-poweroff",
                       "WRITE /local/domain/1/control/feature-reboot",
                       "WRITE /local/domain/1/control/feature-suspend",
                   }))
      << absl::StrJoin(requests, "\n");
  // libxl's permissions: the domain's directory is dom0's and readable by
  // the guest; the nodes the guest writes are its own.
  XLSIM_ASSERT_OK_AND_ASSIGN(auto xs, host->ConnectXenstore());
  for (const auto& [path, want] :
       std::vector<std::pair<std::string, std::string>>{
           {dom, "n0 r1"},
           {dom + "/control", "n0 r1"},
           {dom + "/control/shutdown", "n1"},
           {dom + "/control/feature-poweroff", "n1"},
           {dom + "/data", "n1"},
           {dom + "/device", "n0 r1"},
           {dom + "/device/vif/0", "n1 r0"},
           {dom + "/console", "n0 r1"},
           {"/libxl/1", "n0"},
       }) {
    XLSIM_ASSERT_OK_AND_ASSIGN(auto t, xs->BeginTransaction());
    XLSIM_ASSERT_OK_AND_ASSIGN(std::vector<std::string> perms,
                               t->GetPermissions(path));
    t->Abort();
    EXPECT_EQ(absl::StrJoin(perms, " "), want) << path;
  }
}

// What libxl writes depends on the domain: no vif keys without a NIC; an
// HVM guest's memory/target leaves its video RAM out; start_time is
// seconds and centiseconds.
TEST_F(ToolstackTest, KeysFollowTheDomainsConfiguration) {
  XLSIM_ASSERT_OK_AND_ASSIGN(
      CreatedDomain pv, ts_->CreateDomain({.memory_mib = 64, .nic = false}));
  const std::string pv_dom = xen::DomainPath(pv.domid);
  EXPECT_EQ(xs_->Read(pv_dom + "/device/vif/0/backend").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*xs_->Read(pv_dom + "/memory/target"), "65536");
  EXPECT_EQ(*xs_->Read(pv_dom + "/memory/videoram"), "0");
  EXPECT_EQ(*xs_->Read("/vm/" + pv.uuid + "/image/ostype"), "linux");
  XLSIM_ASSERT_OK_AND_ASSIGN(std::string start,
                             xs_->Read("/vm/" + pv.uuid + "/start_time"));
  const size_t dot = start.find('.');
  EXPECT_TRUE(
      dot != std::string::npos && dot > 0 && start.size() == dot + 3 &&
      absl::c_all_of(start.substr(0, dot) + start.substr(dot + 1), ::isdigit))
      << start;
  XLSIM_ASSERT_OK_AND_ASSIGN(
      CreatedDomain hvm, ts_->CreateDomain({.memory_mib = 64, .hvm = true}));
  const std::string hvm_dom = xen::DomainPath(hvm.domid);
  EXPECT_EQ(*xs_->Read(hvm_dom + "/memory/static-max"), "65536");
  EXPECT_EQ(*xs_->Read(hvm_dom + "/memory/target"), "57344");
  EXPECT_EQ(*xs_->Read(hvm_dom + "/platform/device-model"), "qemu_xen");
  EXPECT_TRUE(xs_->Read(hvm_dom + "/control/feature-s3").ok());
  EXPECT_TRUE(xs_->Read(hvm_dom + "/device/vif/0/backend").ok());
}

// `xl create -p`: built (vCPU 0 online, the memory allocated) and paused;
// the guest brings its other vCPUs up when it first runs.
TEST_F(ToolstackTest, APausedCreationHasOneVcpuUntilTheGuestRuns) {
  XLSIM_ASSERT_OK_AND_ASSIGN(
      CreatedDomain d,
      ts_->CreateDomain({.memory_mib = 64, .vcpus = 3, .start = false}));
  XLSIM_ASSERT_OK_AND_ASSIGN(xen::DomainInfo built,
                             ts_->hypervisor().GetDomainInfo(d.domid));
  EXPECT_TRUE(built.paused);
  EXPECT_EQ(built.max_vcpu_id, 2u);
  EXPECT_EQ(built.nr_online_vcpus, 1u);
  EXPECT_EQ(built.tot_pages * xen::kPageSize, 64ull << 20);
  EXPECT_EQ(built.max_pages * xen::kPageSize, (64ull << 20) + (1 << 20));
  XLSIM_ASSERT_OK(ts_->UnpauseDomain(d.domid));
  XLSIM_ASSERT_OK_AND_ASSIGN(xen::DomainInfo booted,
                             ts_->hypervisor().GetDomainInfo(d.domid));
  EXPECT_EQ(booted.nr_online_vcpus, 3u);
}

// A paused guest does not run, so it cannot answer a shutdown request:
// the request stays (as after `xl shutdown` of a paused domain) and the
// guest answers it once unpaused.
TEST_F(ToolstackTest, APausedGuestAnswersOnceUnpaused) {
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d, ts_->CreateDomain({}));
  XLSIM_ASSERT_OK(ts_->PauseDomain(d.domid));
  XLSIM_ASSERT_OK(ts_->ShutdownDomain(d.domid, ShutdownReason::kReboot));
  const std::string key = xen::DomainPath(d.domid) + "/control/shutdown";
  EXPECT_EQ(*xs_->Read(key), "reboot");
  EXPECT_FALSE(ts_->hypervisor().GetDomainInfo(d.domid)->shutdown);
  const uint32_t generation = host_->state().Generation();
  XLSIM_ASSERT_OK(ts_->UnpauseDomain(d.domid));
  // Wait (bounded) on the domain table's changes until it is shut down.
  bool shut_down = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (uint32_t seen = generation; absl::Now() < deadline;
       seen = host_->state().WaitGeneration(seen, absl::Seconds(1))) {
    XLSIM_ASSERT_OK_AND_ASSIGN(xen::DomainInfo info,
                               ts_->hypervisor().GetDomainInfo(d.domid));
    if ((shut_down = info.shutdown)) {
      EXPECT_EQ(info.shutdown_code,
                static_cast<uint8_t>(ShutdownReason::kReboot));
      break;
    }
  }
  EXPECT_TRUE(shut_down) << "the unpaused guest never answered";
  EXPECT_EQ(*xs_->Read(key), "");
}

// What xl does once a guest has shut down: poweroff and crash destroy it,
// reboot re-creates it (same name and UUID, a new domid; the old one is
// destroyed), suspend leaves it, soft_reset runs it again in place.
TEST_F(ToolstackTest, XlsReactionToEachShutdown) {
  using R = ShutdownReaction;
  for (auto [reason, action] :
       std::vector<std::pair<ShutdownReason, R::Action>>{
           {ShutdownReason::kPoweroff, R::kDestroyed},
           {ShutdownReason::kCrash, R::kDestroyed},
           {ShutdownReason::kSuspend, R::kNone},
           {ShutdownReason::kReboot, R::kRestarted},
           {ShutdownReason::kSoftReset, R::kSoftReset}}) {
    SCOPED_TRACE(xen::ShutdownReasonName(reason));
    XLSIM_ASSERT_OK_AND_ASSIGN(
        CreatedDomain d,
        ts_->CreateDomain(
            {.name = "guest", .memory_mib = 64, .vcpus = 2, .hvm = true}));
    XLSIM_ASSERT_OK(ts_->ShutdownDomain(d.domid, reason));
    XLSIM_ASSERT_OK_AND_ASSIGN(ShutdownReaction r,
                               ts_->ReactToShutdown(d.domid));
    EXPECT_EQ(r.action, action);
    auto info = ts_->hypervisor().GetDomainInfo(d.domid);
    switch (action) {
      case R::kDestroyed:
        EXPECT_TRUE(!info.ok() || info->dying);
        break;
      case R::kNone:
        ASSERT_TRUE(info.ok());
        EXPECT_TRUE(info->shutdown);
        XLSIM_ASSERT_OK(ts_->DestroyDomain(d.domid));
        break;
      case R::kRestarted: {
        EXPECT_TRUE(!info.ok() || info->dying);
        ASSERT_TRUE(r.restarted.has_value());
        EXPECT_NE(r.restarted->domid, d.domid);
        EXPECT_EQ(r.restarted->uuid, d.uuid);
        EXPECT_EQ(r.restarted->name, "guest");
        XLSIM_ASSERT_OK_AND_ASSIGN(
            xen::DomainInfo again,
            ts_->hypervisor().GetDomainInfo(r.restarted->domid));
        EXPECT_TRUE(again.running);
        EXPECT_EQ(again.nr_online_vcpus, 2u);
        EXPECT_EQ(again.tot_pages * xen::kPageSize, 64ull << 20);
        XLSIM_ASSERT_OK(ts_->DestroyDomain(r.restarted->domid));
        break;
      }
      case R::kSoftReset:
        ASSERT_TRUE(info.ok());
        EXPECT_FALSE(info->shutdown);
        EXPECT_TRUE(info->running);
        EXPECT_EQ(*xs_->Read(xen::DomainPath(d.domid) + "/name"), "guest");
        XLSIM_ASSERT_OK(ts_->DestroyDomain(d.domid));
        break;
    }
  }
  // A PV guest cannot be soft-reset: Xen refuses, and so does libxl.
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain pv, ts_->CreateDomain({}));
  XLSIM_ASSERT_OK(ts_->ShutdownDomain(pv.domid, ShutdownReason::kSoftReset));
  EXPECT_EQ(ts_->SoftResetDomain(pv.domid).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ToolstackTest, PauseUnpause) {
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d, ts_->CreateDomain({}));
  XLSIM_ASSERT_OK(ts_->PauseDomain(d.domid));
  EXPECT_TRUE(ts_->hypervisor().GetDomainInfo(d.domid)->paused);
  XLSIM_ASSERT_OK(ts_->UnpauseDomain(d.domid));
  EXPECT_FALSE(ts_->hypervisor().GetDomainInfo(d.domid)->paused);
  EXPECT_EQ(ts_->UnpauseDomain(d.domid).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ToolstackTest, ShutdownWithEachReason) {
  for (ShutdownReason reason :
       {ShutdownReason::kPoweroff, ShutdownReason::kReboot,
        ShutdownReason::kSuspend, ShutdownReason::kCrash,
        ShutdownReason::kWatchdog, ShutdownReason::kSoftReset}) {
    SCOPED_TRACE(xen::ShutdownReasonName(reason));
    XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d, ts_->CreateDomain({}));
    XLSIM_ASSERT_OK(ts_->ShutdownDomain(d.domid, reason));
    XLSIM_ASSERT_OK_AND_ASSIGN(xen::DomainInfo info,
                               ts_->hypervisor().GetDomainInfo(d.domid));
    EXPECT_TRUE(info.shutdown);
    EXPECT_FALSE(info.running);
    EXPECT_EQ(info.shutdown_code, static_cast<uint8_t>(reason));
    // The guest acknowledged the request by clearing it.
    EXPECT_EQ(*xs_->Read(xen::DomainPath(d.domid) + "/control/shutdown"), "");
    XLSIM_ASSERT_OK(ts_->DestroyDomain(d.domid));
  }
  EXPECT_EQ(ts_->ShutdownDomain(4000, ShutdownReason::kPoweroff).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ts_->ShutdownDomain(0, ShutdownReason::kPoweroff).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(xs_->Read("/local/domain/0/control/shutdown").status().code(),
            absl::StatusCode::kNotFound);
  // Refused before any hypercall: the host was never asked to halt.
  EXPECT_EQ(ts_->state().host_halts().count, 0u);
}

TEST_F(ToolstackTest, DestroyRemovesDomainAndKeys) {
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d, ts_->CreateDomain({}));
  XLSIM_ASSERT_OK(ts_->DestroyDomain(d.domid));
  EXPECT_EQ(ts_->hypervisor().GetDomainInfo(d.domid).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(xs_->Read(xen::DomainPath(d.domid)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(xs_->Read("/vm/" + d.uuid).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(xs_->Read("/libxl/1").status().code(), absl::StatusCode::kNotFound);
  // No XS_RELEASE, as libxl sends none: xenstored releases the domain by
  // itself once it sees it gone (VIRQ_DOM_EXC, check_domains), and says so
  // with @releaseDomain.
  XLSIM_ASSERT_OK(xs_->Watch("@releaseDomain", "release"));
  bool introduced = true;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    XLSIM_ASSERT_OK_AND_ASSIGN(introduced, xs_->IsDomainIntroduced(d.domid));
    if (!introduced) break;
    XLSIM_ASSERT_OK(xs_->NextWatchEvent(deadline - absl::Now()).status());
  }
  EXPECT_FALSE(introduced) << "xenstored never released the domain";
  EXPECT_EQ(ts_->DestroyDomain(d.domid).code(), absl::StatusCode::kNotFound);
}

// Xen allocates the lowest free domid above the last one allocated, and
// wraps to 1 after 32751. (A toolstack without libxl's 60 s rule, which
// the next test covers.)
TEST_F(ToolstackTest, DomidsAreReusedTheWayXenDoes) {
  XLSIM_ASSERT_OK_AND_ASSIGN(ts_, host_->NewToolstack(absl::ZeroDuration()));
  std::vector<Domid> ids;
  for (int i = 0; i < 3; ++i) {
    XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d, ts_->CreateDomain({}));
    ids.push_back(d.domid);
  }
  EXPECT_EQ(ids, (std::vector<Domid>{1, 2, 3}));
  XLSIM_ASSERT_OK(ts_->DestroyDomain(2));
  // 2 is free, but the rover is at 3.
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d4, ts_->CreateDomain({}));
  EXPECT_EQ(d4.domid, 4u);
  // Near the top: 32751, then wrap to the lowest free domid (2).
  XLSIM_ASSERT_OK(host_->state().Mutate([](DomainTable& t) {
    t.header()->domid_rover = xen::kMaxDomid - 1;
    return absl::OkStatus();
  }));
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain top, ts_->CreateDomain({}));
  EXPECT_EQ(top.domid, xen::kMaxDomid);
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain wrapped, ts_->CreateDomain({}));
  EXPECT_EQ(wrapped.domid, 2u);
  // An explicit domid in use is refused.
  EXPECT_EQ(ts_->CreateDomain({.domid = 3}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

// libxl__domain_make refuses a domid destroyed less than 60 s ago when it
// is asked for, and gives up an allocated one for the next.
TEST_F(ToolstackTest, RecentlyDestroyedDomidsAreNotGivenAgain) {
  std::vector<Domid> ids;
  for (int i = 0; i < 3; ++i) {
    XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d, ts_->CreateDomain({}));
    ids.push_back(d.domid);
  }
  XLSIM_ASSERT_OK(ts_->DestroyDomain(2));
  const absl::Status refused = ts_->CreateDomain({.domid = 2}).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_THAT(std::string(refused.message()), HasSubstr("recently used"));
  // The allocator wraps onto 2, which libxl destroys again for 4.
  XLSIM_ASSERT_OK(host_->state().Mutate([](DomainTable& t) {
    t.header()->domid_rover = xen::kMaxDomid;
    return absl::OkStatus();
  }));
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain next, ts_->CreateDomain({}));
  EXPECT_EQ(next.domid, 4u);
  EXPECT_FALSE(host_->state().Info(2).ok()) << "2 was left behind";
  // Another toolstack on the host reads the same history.
  XLSIM_ASSERT_OK_AND_ASSIGN(auto other, host_->NewToolstack());
  EXPECT_EQ(other->CreateDomain({.domid = 2}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Without the rule the domid is given at once.
  XLSIM_ASSERT_OK_AND_ASSIGN(auto unchecked,
                             host_->NewToolstack(absl::ZeroDuration()));
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain reused,
                             unchecked->CreateDomain({.domid = 2}));
  EXPECT_EQ(reused.domid, 2u);
}

// Two toolstacks creating domains at once conflict on /local/domain's
// children in xenstored; RunTransaction's retries get every domain through.
TEST_F(ToolstackTest, ConcurrentCreatesAllSucceed) {
  constexpr int kPerThread = 15;
  XLSIM_ASSERT_OK_AND_ASSIGN(auto other, host_->NewToolstack());
  std::vector<Domid> a, b;
  auto run = [](Toolstack* ts, std::vector<Domid>* out) {
    for (int i = 0; i < kPerThread; ++i) {
      auto d = ts->CreateDomain({});
      if (!d.ok()) {
        ADD_FAILURE() << d.status();
        return;
      }
      out->push_back(d->domid);
    }
  };
  std::thread t1(run, ts_.get(), &a);
  std::thread t2(run, other.get(), &b);
  t1.join();
  t2.join();
  std::set<Domid> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 2u * kPerThread);
  for (Domid d : all) {
    auto name = xs_->Read(xen::DomainPath(d) + "/name");
    EXPECT_TRUE(name.ok()) << d << ": " << name.status();
    XLSIM_ASSERT_OK_AND_ASSIGN(bool introduced, xs_->IsDomainIntroduced(d));
    EXPECT_TRUE(introduced) << d;
  }
  EXPECT_EQ(host_->state().DomainCount(), 1u + 2 * kPerThread);
}

}  // namespace
}  // namespace xenlet::sim
