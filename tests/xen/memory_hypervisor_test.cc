#include "xen/testing/memory_hypervisor.h"

#include <cerrno>

#include "gtest/gtest.h"
#include "tests/testing/status_macros.h"
#include "xen/errno_status.h"
#include "xen/testing/faulty_hypervisor.h"

namespace xenlet::xen::testing {
namespace {

TEST(MemoryHypervisorTest, StartsWithDom0Running) {
  MemoryHypervisor h;
  std::vector<DomainInfo> all;
  ASSERT_OK(h.GetAllDomains(&all));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].domid, 0u);
  EXPECT_TRUE(all[0].running);
  EXPECT_FALSE(all[0].paused);
}

TEST(MemoryHypervisorTest, ListsFromADomidUpToACountInDomidOrder) {
  MemoryHypervisor h;
  for (Domid d : {9u, 3u, 5u}) h.Create(MemoryHypervisor::Running(d, d));
  std::vector<DomainInfo> out;
  ASSERT_OK(h.GetDomainInfoList(4, 10, &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].domid, 5u);
  EXPECT_EQ(out[1].domid, 9u);
  ASSERT_OK(h.GetDomainInfoList(0, 2, &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].domid, 3u);
  EXPECT_EQ(h.GetDomainInfoList(kDomidFirstReserved, 1, &out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(h.calls(), 2u);  // the reserved domid is refused before a call
}

TEST(MemoryHypervisorTest, ANewDomainIsPausedUntilTheToolstacksUnpause) {
  MemoryHypervisor h;
  h.Create(MemoryHypervisor::Created(4, 0xab));
  auto info = h.GetDomainInfo(4);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->paused);
  EXPECT_FALSE(info->running);
  EXPECT_EQ(info->max_vcpu_id, kInvalidMaxVcpuId);
  EXPECT_EQ(info->Uuid(), "abababab-abab-abab-abab-abababababab");
  ASSERT_OK(h.UnpauseDomain(4));
  EXPECT_FALSE(h.GetDomainInfo(4)->paused);
  // Xen: unpausing an unpaused domain is EINVAL.
  absl::Status again = h.UnpauseDomain(4);
  EXPECT_EQ(again.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusErrno(again), EINVAL);
}

TEST(MemoryHypervisorTest, PausesNestAndDom0RefusesPauseAndDestroy) {
  MemoryHypervisor h;
  h.Create(MemoryHypervisor::Running(2, 2));
  ASSERT_OK(h.PauseDomain(2));
  ASSERT_OK(h.PauseDomain(2));
  ASSERT_OK(h.UnpauseDomain(2));
  EXPECT_TRUE(h.GetDomainInfo(2)->paused);  // one pause left
  ASSERT_OK(h.UnpauseDomain(2));
  EXPECT_TRUE(h.GetDomainInfo(2)->running);
  EXPECT_EQ(StatusErrno(h.PauseDomain(0)), EINVAL);
  EXPECT_EQ(StatusErrno(h.DestroyDomain(0)), EINVAL);
  EXPECT_EQ(h.PauseDomain(7).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(h.GetDomainInfo(7).status().code(), absl::StatusCode::kNotFound);
}

TEST(MemoryHypervisorTest, TheFirstShutdownCodeSticks) {
  MemoryHypervisor h;
  h.Create(MemoryHypervisor::Running(3, 3));
  ASSERT_OK(h.ShutdownDomain(3, ShutdownReason::kReboot));
  ASSERT_OK(h.ShutdownDomain(3, ShutdownReason::kPoweroff));
  auto info = h.GetDomainInfo(3);
  EXPECT_TRUE(info->shutdown);
  EXPECT_EQ(info->shutdown_code, static_cast<uint8_t>(ShutdownReason::kReboot));
  EXPECT_FALSE(info->running);
  EXPECT_FALSE(h.ShutdownDomain(0, ShutdownReason::kPoweroff).ok());
}

TEST(MemoryHypervisorTest, ADestroyedDomainLeavesOrStaysDying) {
  MemoryHypervisor h;
  h.Create(MemoryHypervisor::Running(3, 3));
  h.Create(MemoryHypervisor::Running(4, 4));
  ASSERT_OK(h.DestroyDomain(3));
  EXPECT_EQ(h.GetDomainInfo(3).status().code(), absl::StatusCode::kNotFound);
  h.SetKeepDying(true);
  ASSERT_OK(h.DestroyDomain(4));
  EXPECT_TRUE(h.GetDomainInfo(4)->dying);
  ASSERT_OK(h.DestroyDomain(4));  // again: still fine
  EXPECT_TRUE(h.Remove(4));
  EXPECT_EQ(h.Domains().size(), 1u);
}

TEST(FaultyHypervisorTest, FailsTheListWithInjectedErrnosThenPasses) {
  MemoryHypervisor memory;
  FaultyHypervisor h(&memory);
  h.FailListWith({EAGAIN, EINTR, EFAULT, ENOMEM});
  std::vector<DomainInfo> out;
  std::vector<int> seen;
  for (int i = 0; i < 4; ++i) {
    absl::Status s = h.GetAllDomains(&out);
    EXPECT_FALSE(s.ok());
    seen.push_back(StatusErrno(s));
  }
  EXPECT_EQ(seen, (std::vector<int>{EAGAIN, EINTR, EFAULT, ENOMEM}));
  ASSERT_OK(h.GetAllDomains(&out));
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(h.list_calls(), 5u);
  EXPECT_EQ(memory.calls(), 1u);  // the failed ones never reached it
  // Everything else passes through: dom0 refuses a pause as Xen does.
  EXPECT_EQ(StatusErrno(h.PauseDomain(0)), EINVAL);
}

}  // namespace
}  // namespace xenlet::xen::testing
