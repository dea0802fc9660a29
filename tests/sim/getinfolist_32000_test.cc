// The whole domid space on the hypervisor side: 32000 domains, no xenstore
// keys. The real xc_domain_getinfolist returns all of them in one hypercall.
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "tests/sim/test_util.h"
#include "xen/xenctrl_hypervisor.h"

extern "C" {
#include <xenctrl.h>
}

namespace xenlet::sim {
namespace {

TEST(GetInfoList32000Test, OneHypercallReturnsEveryDomain) {
  constexpr uint32_t kDomains = 32000;
  XLSIM_ASSERT_OK_AND_ASSIGN(auto host,
                             SimHost::Start({.start_xenstored = false}));
  XLSIM_ASSERT_OK(host->state().Mutate([](DomainTable& t) {
    for (Domid d = 1; d <= kDomains; ++d) {
      if (auto s = t.Add(d, {}); !s.ok()) return s;
    }
    return absl::OkStatus();
  }));
  xc_interface* xch = xc_interface_open(nullptr, nullptr, 0);
  ASSERT_NE(xch, nullptr);
  std::vector<xc_domaininfo_t> buf(xen::kDomidFirstReserved);
  const auto before =
      host->state().Counts().Get(xen::HypercallKind::kGetDomainInfoList);
  int n = xc_domain_getinfolist(xch, 0, xen::kDomidFirstReserved, buf.data());
  const auto after =
      host->state().Counts().Get(xen::HypercallKind::kGetDomainInfoList);
  xc_interface_close(xch);
  ASSERT_EQ(n, static_cast<int>(kDomains) + 1);
  EXPECT_EQ(after - before, 1u);
  EXPECT_EQ(buf[kDomains].domain, kDomains);

  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host->OpenHypervisor());
  std::vector<xen::DomainInfo> all;
  XLSIM_ASSERT_OK(hv->GetAllDomains(&all));
  EXPECT_EQ(all.size(), kDomains + 1);
  EXPECT_EQ(host->state().Counts().Get(xen::HypercallKind::kGetDomainInfoList),
            after + 1);
}

}  // namespace
}  // namespace xenlet::sim
