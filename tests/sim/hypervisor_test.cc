// The fake hypervisor through the real libxenctrl/libxencall and the
// project's xen::Hypervisor: one hypercall per full-range list, the
// getdomaininfo fast path, and Xen's semantics for pause, unpause, destroy
// and shutdown. Hypervisor side only: no xenstored.
#include <cerrno>

#include "gtest/gtest.h"
#include "sim/domctl.h"
#include "sim/hypervisor_state.h"
#include "sim/sim_host.h"
#include "tests/sim/test_util.h"
#include "xen/errno_status.h"
#include "xen/xenctrl_hypervisor.h"

extern "C" {
#include <xenctrl.h>
}

namespace xenlet::sim {
namespace {

using xen::DomainInfo;
using xen::DomainListPath;
using xen::HypercallKind;

// Adds domains 1..n (hypervisor side only) in one update.
absl::Status AddDomains(HypervisorState& state, uint32_t n) {
  return state.Mutate([n](DomainTable& t) {
    for (Domid d = 1; d <= n; ++d) {
      DomainConfig c;
      c.uuid[0] = d & 0xff;
      c.uuid[1] = d >> 8;
      if (auto s = t.Add(d, c); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

class HypervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    XLSIM_ASSERT_OK_AND_ASSIGN(host_,
                               SimHost::Start({.start_xenstored = false}));
  }
  uint64_t Calls(HypercallKind kind) {
    return host_->state().Counts().Get(kind);
  }
  std::unique_ptr<SimHost> host_;
};

// The real xc_domain_getinfolist over the whole domid range: every domain,
// one hypercall.
void CheckFullRangeList(SimHost& host, uint32_t ndomains) {
  ASSERT_TRUE(AddDomains(host.state(), ndomains).ok());
  xc_interface* xch = xc_interface_open(nullptr, nullptr, 0);
  ASSERT_NE(xch, nullptr) << "xc_interface_open: " << errno;
  std::vector<xc_domaininfo_t> buf(xen::kDomidFirstReserved);
  uint64_t before =
      host.state().Counts().Get(HypercallKind::kGetDomainInfoList);
  int n = xc_domain_getinfolist(xch, 0, xen::kDomidFirstReserved, buf.data());
  uint64_t after = host.state().Counts().Get(HypercallKind::kGetDomainInfoList);
  xc_interface_close(xch);
  ASSERT_EQ(n, static_cast<int>(ndomains) + 1);
  EXPECT_EQ(after - before, 1u);
  for (int i = 0; i < n; ++i) ASSERT_EQ(buf[i].domain, i);

  // The project's Hypervisor, both ways of making the call.
  for (DomainListPath path :
       {DomainListPath::kPersistentBuffer, DomainListPath::kLibxenctrl}) {
    auto hv = host.OpenHypervisor({.domain_list_path = path});
    ASSERT_TRUE(hv.ok()) << hv.status();
    std::vector<DomainInfo> all;
    before = host.state().Counts().Get(HypercallKind::kGetDomainInfoList);
    ASSERT_TRUE((*hv)->GetAllDomains(&all).ok());
    after = host.state().Counts().Get(HypercallKind::kGetDomainInfoList);
    EXPECT_EQ(all.size(), ndomains + 1);
    EXPECT_EQ(after - before, 1u);
    EXPECT_EQ(all.back().domid, ndomains);
  }
}

TEST_F(HypervisorTest, FullRangeListIsOneHypercallAt1Domain) {
  CheckFullRangeList(*host_, 1);
}

TEST_F(HypervisorTest, FullRangeListIsOneHypercallAt1000Domains) {
  CheckFullRangeList(*host_, 1000);
}

TEST_F(HypervisorTest, GetDomainInfoFastPathReportsMissingAsNotFound) {
  XLSIM_ASSERT_OK(host_->state().Mutate([](DomainTable& t) {
    XLSIM_EXPECT_OK(t.Add(5, {}));
    XLSIM_EXPECT_OK(t.Add(9, {}));
    return absl::OkStatus();
  }));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  uint64_t before = Calls(HypercallKind::kGetDomainInfo);
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo five, hv->GetDomainInfo(5));
  EXPECT_EQ(five.domid, 5u);
  // Xen answers 6 with domain 9; the fast path must not pass that on.
  EXPECT_EQ(hv->GetDomainInfo(6).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(hv->GetDomainInfo(10).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Calls(HypercallKind::kGetDomainInfo) - before, 3u);
  EXPECT_EQ(hv->GetDomainInfo(xen::kDomidFirstReserved).status().code(),
            absl::StatusCode::kInvalidArgument);

  // Underneath, the slow-path semantics: the next domain up.
  xc_interface* xch = xc_interface_open(nullptr, nullptr, 0);
  ASSERT_NE(xch, nullptr);
  xc_dominfo_t info;
  ASSERT_EQ(xc_domain_getinfo(xch, 6, 1, &info), 1);
  EXPECT_EQ(info.domid, 9u);
  xc_interface_close(xch);
}

TEST_F(HypervisorTest, PauseAndUnpauseFollowXen) {
  XLSIM_ASSERT_OK(AddDomains(host_->state(), 1));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  // Created paused, as Xen does, until the toolstack's unpause.
  EXPECT_TRUE(hv->GetDomainInfo(1)->paused);
  XLSIM_ASSERT_OK(hv->UnpauseDomain(1));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo info, hv->GetDomainInfo(1));
  EXPECT_FALSE(info.paused);
  EXPECT_TRUE(info.running);
  // Unpausing an unpaused domain: EINVAL.
  absl::Status s = hv->UnpauseDomain(1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(xen::StatusErrno(s), EINVAL);
  // Pausing dom0, the caller's own domain: EINVAL.
  EXPECT_EQ(hv->PauseDomain(0).code(), absl::StatusCode::kInvalidArgument);
  // A missing domain: ESRCH.
  EXPECT_EQ(hv->PauseDomain(77).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(hv->UnpauseDomain(77).code(), absl::StatusCode::kNotFound);
  // Pauses nest; the count stops at 255.
  XLSIM_ASSERT_OK(hv->PauseDomain(1));
  XLSIM_ASSERT_OK(hv->PauseDomain(1));
  XLSIM_ASSERT_OK(hv->UnpauseDomain(1));
  EXPECT_TRUE(hv->GetDomainInfo(1)->paused);
  for (int i = 1; i < 255; ++i) ASSERT_TRUE(hv->PauseDomain(1).ok()) << i;
  EXPECT_EQ(hv->PauseDomain(1).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Calls(HypercallKind::kPauseDomain), 259u);
}

TEST_F(HypervisorTest, DestroyLeavesTheDomainDying) {
  host_->state().SetDyingTime(absl::InfiniteDuration());  // zombies
  XLSIM_ASSERT_OK(AddDomains(host_->state(), 2));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  XLSIM_ASSERT_OK(hv->DestroyDomain(1));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo info, hv->GetDomainInfo(1));
  EXPECT_TRUE(info.dying);
  EXPECT_FALSE(info.running);
  XLSIM_EXPECT_OK(hv->DestroyDomain(1));  // again: still fine
  EXPECT_EQ(hv->DestroyDomain(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hv->DestroyDomain(50).code(), absl::StatusCode::kNotFound);
  // Reaped when its last reference goes; not before it is dying.
  EXPECT_EQ(host_->state().ReapDomain(2).code(),
            absl::StatusCode::kFailedPrecondition);
  XLSIM_ASSERT_OK(host_->state().ReapDomain(1));
  EXPECT_EQ(hv->GetDomainInfo(1).status().code(), absl::StatusCode::kNotFound);
}

// domain_kill, then the domain is freed when its last reference goes: at
// once by default (nothing visible of the dying phase), after a while, or
// never (a zombie, until its pages are let go). Times on a frozen clock.
TEST_F(HypervisorTest, ADyingDomainVanishesWhenItsTimeComes) {
  XLSIM_ASSERT_OK(AddDomains(host_->state(), 3));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  XLSIM_ASSERT_OK(hv->DestroyDomain(1));
  EXPECT_EQ(hv->GetDomainInfo(1).status().code(), absl::StatusCode::kNotFound);

  host_->state().FreezeClock();
  host_->state().SetDyingTime(absl::Milliseconds(30));
  XLSIM_ASSERT_OK(hv->DestroyDomain(2));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo dying, hv->GetDomainInfo(2));
  EXPECT_TRUE(dying.dying);
  EXPECT_EQ(host_->state().DomainCount(), 3u);  // dom0, 2 and 3
  host_->state().AdvanceClock(absl::Milliseconds(29));
  EXPECT_TRUE(hv->GetDomainInfo(2).ok());
  host_->state().AdvanceClock(absl::Milliseconds(1));
  EXPECT_EQ(hv->GetDomainInfo(2).status().code(), absl::StatusCode::kNotFound);
  std::vector<DomainInfo> all;
  XLSIM_ASSERT_OK(hv->GetAllDomains(&all));
  EXPECT_EQ(all.size(), 2u);  // dom0 and 3
  EXPECT_EQ(host_->state().DomainCount(), 2u);
  // The freed domid can be taken again.
  XLSIM_ASSERT_OK(host_->state().Mutate(
      [](DomainTable& t) { return t.Add(2, DomainConfig{}); }));
  EXPECT_FALSE(hv->GetDomainInfo(2)->dying);

  host_->state().SetDyingTime(absl::InfiniteDuration());
  XLSIM_ASSERT_OK(hv->DestroyDomain(3));
  host_->state().AdvanceClock(absl::Hours(1));
  EXPECT_TRUE(hv->GetDomainInfo(3)->dying) << "a zombie stays";
  XLSIM_ASSERT_OK(host_->state().ReapDomain(3));
  EXPECT_EQ(hv->GetDomainInfo(3).status().code(), absl::StatusCode::kNotFound);
  host_->state().ThawClock();
}

TEST_F(HypervisorTest, ShutdownKeepsTheFirstReason) {
  XLSIM_ASSERT_OK(AddDomains(host_->state(), 1));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  XLSIM_ASSERT_OK(hv->UnpauseDomain(1));
  XLSIM_ASSERT_OK(hv->ShutdownDomain(1, xen::ShutdownReason::kReboot));
  XLSIM_ASSERT_OK(hv->ShutdownDomain(1, xen::ShutdownReason::kCrash));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo info, hv->GetDomainInfo(1));
  EXPECT_TRUE(info.shutdown);
  EXPECT_FALSE(info.running);
  EXPECT_EQ(info.shutdown_code,
            static_cast<uint8_t>(xen::ShutdownReason::kReboot));
  EXPECT_EQ(hv->ShutdownDomain(9, xen::ShutdownReason::kPoweroff).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Calls(HypercallKind::kRemoteShutdown), 3u);
}

// Xen's getdomaininfo ORs d->shutdown_code in whatever the state: a live
// domain's SHUTDOWN_CODE_INVALID reads 255 in the 8-bit field.
TEST_F(HypervisorTest, ALiveDomainsShutdownCodeIsInvalid) {
  XLSIM_ASSERT_OK(AddDomains(host_->state(), 1));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  XLSIM_ASSERT_OK(hv->UnpauseDomain(1));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo info, hv->GetDomainInfo(1));
  EXPECT_FALSE(info.shutdown);
  EXPECT_EQ(info.shutdown_code, xen::kShutdownCodeInvalid);
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo dom0, hv->GetDomainInfo(0));
  EXPECT_EQ(dom0.shutdown_code, xen::kShutdownCodeInvalid);
}

// Before max_vcpus a domain has no vCPU: max_vcpu_id is
// XEN_INVALID_MAX_VCPU_ID and neither running nor blocked is reported.
TEST_F(HypervisorTest, ADomainWithoutVcpusReportsNoSchedulerFlag) {
  XLSIM_ASSERT_OK(host_->state().Mutate([](DomainTable& t) {
    DomainConfig c;
    c.vcpus = 0;
    return t.Add(1, c);
  }));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  XLSIM_ASSERT_OK(hv->UnpauseDomain(1));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo info, hv->GetDomainInfo(1));
  EXPECT_EQ(info.max_vcpu_id, xen::kInvalidMaxVcpuId);
  EXPECT_EQ(info.nr_online_vcpus, 0u);
  EXPECT_FALSE(info.running);
  EXPECT_FALSE(info.blocked);
}

// A paused domain's vCPUs are paused, not blocked (Xen sets blocked only
// for vCPUs that blocked themselves), and not running.
TEST_F(HypervisorTest, APausedDomainIsNeitherRunningNorBlocked) {
  XLSIM_ASSERT_OK(AddDomains(host_->state(), 1));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo created, hv->GetDomainInfo(1));
  EXPECT_TRUE(created.paused);
  EXPECT_FALSE(created.running);
  EXPECT_FALSE(created.blocked);
  XLSIM_ASSERT_OK(hv->UnpauseDomain(1));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo running, hv->GetDomainInfo(1));
  EXPECT_TRUE(running.running);
}

// SCHEDOP_shutdown_code: a running guest sets the code a later shutdown
// reports, keeps running, and the first code given sticks (domain_shutdown).
TEST_F(HypervisorTest, AGuestsShutdownCodeSticksWhileItRuns) {
  XLSIM_ASSERT_OK(AddDomains(host_->state(), 1));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  XLSIM_ASSERT_OK(hv->UnpauseDomain(1));
  XLSIM_ASSERT_OK(host_->state().GuestSetShutdownCode(
      1, static_cast<uint8_t>(xen::ShutdownReason::kCrash)));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo set, hv->GetDomainInfo(1));
  EXPECT_FALSE(set.shutdown);
  EXPECT_TRUE(set.running);
  EXPECT_EQ(set.shutdown_code,
            static_cast<uint8_t>(xen::ShutdownReason::kCrash));
  XLSIM_ASSERT_OK(hv->ShutdownDomain(1, xen::ShutdownReason::kReboot));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo down, hv->GetDomainInfo(1));
  EXPECT_TRUE(down.shutdown);
  EXPECT_EQ(down.shutdown_code,
            static_cast<uint8_t>(xen::ShutdownReason::kCrash));
}

// XEN_DOMCTL_resumedomain: a suspended domain runs again on the same domid
// with the same handle, its code invalid again.
TEST_F(HypervisorTest, ResumeRunsASuspendedDomainAgain) {
  XLSIM_ASSERT_OK(AddDomains(host_->state(), 1));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  XLSIM_ASSERT_OK(hv->UnpauseDomain(1));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo before, hv->GetDomainInfo(1));
  XLSIM_ASSERT_OK(hv->ShutdownDomain(1, xen::ShutdownReason::kSuspend));
  XLSIM_ASSERT_OK(ResumeDomainDomctl(1));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo after, hv->GetDomainInfo(1));
  EXPECT_FALSE(after.shutdown);
  EXPECT_TRUE(after.running);
  EXPECT_EQ(after.shutdown_code, xen::kShutdownCodeInvalid);
  EXPECT_EQ(after.handle, before.handle);
  EXPECT_EQ(ResumeDomainDomctl(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResumeDomainDomctl(9).code(), absl::StatusCode::kNotFound);
}

// A domain as createdomain leaves it (no vCPU, no memory), then each step
// of libxl's build as getdomaininfo shows it.
TEST_F(HypervisorTest, ABuildShowsVcpusAndMemoryComing) {
  DomainConfig bare;
  bare.built = false;
  bare.vcpus = 4;
  bare.domid = 3;
  XLSIM_ASSERT_OK(host_->state().CreateDomain(bare).status());
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo created, hv->GetDomainInfo(3));
  EXPECT_TRUE(created.paused);
  EXPECT_EQ(created.max_vcpu_id, xen::kInvalidMaxVcpuId);
  EXPECT_EQ(created.nr_online_vcpus, 0u);
  EXPECT_EQ(created.tot_pages, 0u);
  // XEN_DOMCTL_max_vcpus: the vCPUs exist, all down.
  XLSIM_ASSERT_OK(host_->state().SetMaxVcpus(3, 4));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo vcpus, hv->GetDomainInfo(3));
  EXPECT_EQ(vcpus.max_vcpu_id, 3u);
  EXPECT_EQ(vcpus.nr_online_vcpus, 0u);
  EXPECT_EQ(host_->state().SetMaxVcpus(3, 2).code(),
            absl::StatusCode::kFailedPrecondition);
  // Memory grows in batches, up to the maximum and no further.
  XLSIM_ASSERT_OK(host_->state().SetMaxMemory(3, 8ull << 20));
  XLSIM_ASSERT_OK(host_->state().PopulateMemory(3, 4ull << 20));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo half, hv->GetDomainInfo(3));
  EXPECT_EQ(half.tot_pages * xen::kPageSize, 4ull << 20);
  EXPECT_EQ(half.max_pages * xen::kPageSize, 8ull << 20);
  XLSIM_ASSERT_OK(host_->state().PopulateMemory(3, 4ull << 20));
  EXPECT_EQ(host_->state().PopulateMemory(3, 4096).code(),
            absl::StatusCode::kResourceExhausted);
  // vCPU 0 once built; the others when the guest runs.
  XLSIM_ASSERT_OK(host_->state().VcpusUp(3, 1));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo built, hv->GetDomainInfo(3));
  EXPECT_EQ(built.nr_online_vcpus, 1u);
  EXPECT_FALSE(built.running || built.blocked) << "paused";
  XLSIM_ASSERT_OK(hv->UnpauseDomain(3));
  XLSIM_ASSERT_OK(host_->state().VcpusUp(3, 4));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo booted, hv->GetDomainInfo(3));
  EXPECT_EQ(booted.nr_online_vcpus, 4u);
  EXPECT_TRUE(booted.running);
  EXPECT_EQ(host_->state().VcpusUp(3, 5).code(),
            absl::StatusCode::kFailedPrecondition);
}

// VIRQ_DOM_EXC goes out where Xen's domain.c sends it: a domain shut down
// (not a suspend signalled on its subscribed event channel), killed, or
// freed at last; never for create, pause, unpause or resume.
TEST_F(HypervisorTest, VirqDomExcOnlyWhereXenSendsIt) {
  HypervisorState& st = host_->state();
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  uint32_t sent = st.DomExcCount();
  auto expect_sent = [&](uint32_t n, const char* what) {
    EXPECT_EQ(st.DomExcCount() - sent, n) << what;
    sent = st.DomExcCount();
  };
  XLSIM_ASSERT_OK(AddDomains(st, 2));
  expect_sent(0, "create");
  XLSIM_ASSERT_OK(hv->UnpauseDomain(1));
  XLSIM_ASSERT_OK(hv->PauseDomain(1));
  XLSIM_ASSERT_OK(hv->UnpauseDomain(1));
  expect_sent(0, "pause and unpause");
  XLSIM_ASSERT_OK(hv->ShutdownDomain(1, xen::ShutdownReason::kSuspend));
  expect_sent(1, "suspend without a suspend event channel");
  XLSIM_ASSERT_OK(ResumeDomainDomctl(1));
  expect_sent(0, "resume");
  XLSIM_ASSERT_OK(SubscribeForSuspendDomctl(1, 17));
  XLSIM_ASSERT_OK(hv->ShutdownDomain(1, xen::ShutdownReason::kSuspend));
  expect_sent(0, "suspend signalled on its event channel");
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo suspended, hv->GetDomainInfo(1));
  EXPECT_TRUE(suspended.shutdown);
  XLSIM_ASSERT_OK(ResumeDomainDomctl(1));
  XLSIM_ASSERT_OK(hv->ShutdownDomain(1, xen::ShutdownReason::kPoweroff));
  expect_sent(1, "poweroff, even with the event channel");
  st.SetDyingTime(absl::InfiniteDuration());
  XLSIM_ASSERT_OK(hv->DestroyDomain(2));
  expect_sent(1, "destroy");
  XLSIM_ASSERT_OK(st.ReapDomain(2));
  expect_sent(1, "the final release");
}

// XEN_DOMCTL_soft_reset: only a shut-down HVM domain; it runs again on the
// same domid with its memory, its code invalid again.
TEST_F(HypervisorTest, SoftResetRunsAShutDownHvmDomainAgain) {
  XLSIM_ASSERT_OK(host_->state().Mutate([](DomainTable& t) {
    DomainConfig pv, hvm;
    hvm.hvm = true;
    if (auto s = t.Add(1, pv); !s.ok()) return s;
    return t.Add(2, hvm);
  }));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  for (Domid d : {1, 2}) XLSIM_ASSERT_OK(hv->UnpauseDomain(d));
  EXPECT_EQ(SoftResetDomctl(2).code(), absl::StatusCode::kInvalidArgument)
      << "not shut down";
  for (Domid d : {1, 2}) {
    XLSIM_ASSERT_OK(hv->ShutdownDomain(d, xen::ShutdownReason::kSoftReset));
  }
  EXPECT_EQ(SoftResetDomctl(1).code(), absl::StatusCode::kInvalidArgument)
      << "PV";
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo before, hv->GetDomainInfo(2));
  XLSIM_ASSERT_OK(SoftResetDomctl(2));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo after, hv->GetDomainInfo(2));
  EXPECT_FALSE(after.shutdown);
  EXPECT_TRUE(after.running);
  EXPECT_EQ(after.shutdown_code, xen::kShutdownCodeInvalid);
  EXPECT_EQ(after.tot_pages, before.tot_pages);
  EXPECT_EQ(after.handle, before.handle);
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo pv, hv->GetDomainInfo(1));
  EXPECT_TRUE(pv.shutdown);
}

// A remote shutdown of dom0 is the host's (hwdom_shutdown halts or reboots
// the machine): the call succeeds, as on Xen, and the simulator records it.
TEST_F(HypervisorTest, RemoteShutdownOfDom0IsAHostHalt) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  EXPECT_EQ(host_->state().host_halts().count, 0u);
  XLSIM_ASSERT_OK(hv->ShutdownDomain(0, xen::ShutdownReason::kPoweroff));
  const HostHalts halts = host_->state().host_halts();
  EXPECT_EQ(halts.count, 1u);
  EXPECT_EQ(halts.last_reason,
            static_cast<uint32_t>(xen::ShutdownReason::kPoweroff));
}

// Xen 4.21 has other domctl and sysctl interface versions (4.18 changed the
// domctl's, 4.21 the sysctl's): a xenlet built for 4.17 gets EACCES and says
// what to do rather than "permission denied".
TEST_F(HypervisorTest, AnotherXensInterfaceVersionIsNamed) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  host_->state().SetInterfaceVersions(0x17, 0x16);
  std::vector<DomainInfo> all;
  absl::Status list = hv->GetAllDomains(&all);
  EXPECT_EQ(list.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(list.message().find("XEN_SYSCTL_INTERFACE_VERSION"),
            std::string::npos)
      << list;
  EXPECT_NE(list.message().find("4.17"), std::string::npos) << list;
  absl::Status one = hv->GetDomainInfo(0).status();
  EXPECT_EQ(one.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(one.message().find("XEN_DOMCTL_INTERFACE_VERSION"),
            std::string::npos)
      << one;
  host_->state().SetInterfaceVersions(0, 0);
  XLSIM_EXPECT_OK(hv->GetAllDomains(&all));
}

// Running and blocked as Xen reports them, on a frozen clock so that the
// answer is exact: a guest's load decides how much of each scheduling
// period its vCPUs run; cpu time (summed over vCPUs) grows only while they
// run; a paused guest's vCPUs neither run nor count.
TEST_F(HypervisorTest, LoadDecidesRunningAndBlockedAndCpuTimeGrowsOnlyRunning) {
  XLSIM_ASSERT_OK(host_->state().Mutate([](DomainTable& t) {
    const uint32_t loads[] = {500, 0, 1000};
    for (Domid d = 1; d <= 3; ++d) {
      DomainConfig c;
      c.vcpus = 2;
      c.load_permille = loads[d - 1];
      if (auto s = t.Add(d, c); !s.ok()) return s;
    }
    return absl::OkStatus();
  }));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  for (Domid d = 1; d <= 3; ++d) XLSIM_ASSERT_OK(hv->UnpauseDomain(d));
  host_->state().FreezeClock();
  // Frozen: nothing moves.
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo a, hv->GetDomainInfo(1));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo b, hv->GetDomainInfo(1));
  EXPECT_EQ(a.cpu_time_ns, b.cpu_time_ns);

  const absl::Duration step = absl::Microseconds(100);  // 100 per period
  int running = 0, blocked = 0;
  DomainInfo prev = a;
  for (int i = 0; i < 100; ++i) {
    host_->state().AdvanceClock(step);
    XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo now, hv->GetDomainInfo(1));
    EXPECT_NE(now.running, now.blocked) << "step " << i;
    running += now.running;
    blocked += now.blocked;
    if (prev.blocked && now.blocked) {
      EXPECT_EQ(now.cpu_time_ns, prev.cpu_time_ns) << "grew while blocked";
    }
    EXPECT_GE(now.cpu_time_ns, prev.cpu_time_ns);
    prev = now;
  }
  EXPECT_EQ(running, 50);
  EXPECT_EQ(blocked, 50);
  // One whole period at half load on 2 vCPUs: 2 x 5 ms.
  EXPECT_EQ(prev.cpu_time_ns - a.cpu_time_ns, 10'000'000u);

  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo idle, hv->GetDomainInfo(2));
  EXPECT_TRUE(idle.blocked);
  EXPECT_FALSE(idle.running);
  EXPECT_EQ(idle.cpu_time_ns, 0u);
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo busy, hv->GetDomainInfo(3));
  EXPECT_TRUE(busy.running);
  EXPECT_FALSE(busy.blocked);

  // Paused: no scheduler flag, and the clock moving adds no cpu time.
  XLSIM_ASSERT_OK(hv->PauseDomain(3));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo paused, hv->GetDomainInfo(3));
  host_->state().AdvanceClock(absl::Milliseconds(50));
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo later, hv->GetDomainInfo(3));
  EXPECT_FALSE(later.running);
  EXPECT_FALSE(later.blocked);
  EXPECT_EQ(later.cpu_time_ns, paused.cpu_time_ns);

  // Thawed after being advanced by hand: time goes on from there.
  host_->state().ThawClock();
  XLSIM_ASSERT_OK_AND_ASSIGN(DomainInfo thawed, hv->GetDomainInfo(1));
  EXPECT_GE(thawed.cpu_time_ns, prev.cpu_time_ns);
}

TEST_F(HypervisorTest, InjectedErrorsHitTheNextCallsOfOneKind) {
  XLSIM_ASSERT_OK(AddDomains(host_->state(), 1));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  host_->state().InjectError(HypercallKind::kGetDomainInfoList, EAGAIN, 2);
  std::vector<DomainInfo> all;
  EXPECT_EQ(xen::StatusErrno(hv->GetAllDomains(&all)), EAGAIN);
  // Other kinds are unaffected.
  XLSIM_EXPECT_OK(hv->GetDomainInfo(1).status());
  EXPECT_EQ(xen::StatusErrno(hv->GetAllDomains(&all)), EAGAIN);
  XLSIM_ASSERT_OK(hv->GetAllDomains(&all));
  EXPECT_EQ(all.size(), 2u);
  EXPECT_EQ(Calls(HypercallKind::kGetDomainInfoList), 3u);

  host_->state().SetDelay(HypercallKind::kPhysInfo, absl::Milliseconds(20));
  absl::Time start = absl::Now();
  XLSIM_ASSERT_OK(hv->GetPhysInfo().status());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(20));
  host_->state().ClearFaults();
}

TEST_F(HypervisorTest, PhysinfoAndVersion) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host_->OpenHypervisor());
  XLSIM_ASSERT_OK_AND_ASSIGN(xen::PhysInfo p, hv->GetPhysInfo());
  EXPECT_EQ(p.nr_cpus, 16u);
  EXPECT_EQ(p.total_bytes, 64ull << 30);
  EXPECT_TRUE(p.cap_hvm);
  XLSIM_ASSERT_OK_AND_ASSIGN(xen::XenVersion v, hv->GetVersion());
  EXPECT_EQ(v.major, 4u);
  EXPECT_EQ(v.minor, 17u);
  EXPECT_EQ(v.extra, ".0-xenlet-sim");
  EXPECT_EQ(Calls(HypercallKind::kPhysInfo), 1u);
  EXPECT_EQ(Calls(HypercallKind::kXenVersion), 3u);
}

}  // namespace
}  // namespace xenlet::sim
