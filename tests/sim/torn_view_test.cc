// A walk of the domain list made of several getdomaininfolist calls (chunks
// of 2, as the pre-2022 bindings did) while another thread creates and
// destroys domains returns a set of domains that never existed at any
// instant; one full-range call never does, because the hypervisor answers
// it under one lock.
//
// Deterministic check: the writer records every state it leaves the table
// in (inside the same locked update), so "torn" means "not in that
// history". A per-call delay injected into getdomaininfolist widens the
// window between chunks; both loops are bounded by counts, not time.
#include <atomic>
#include <map>
#include <random>
#include <thread>
#include <unordered_set>

#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "tests/sim/test_util.h"

namespace xenlet::sim {
namespace {

using xen::HypercallKind;

constexpr int kSlots = 48;                // domains come and go at these domids
constexpr int kMaxMutations = 4'000'000;  // bounds the writer
constexpr int kWalks = 40;
constexpr int kFullRangeCalls = 200;

TEST(TornViewTest, ChunkedWalkTearsFullRangeCallDoesNot) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto host,
                             SimHost::Start({.start_xenstored = false}));
  HypervisorState& state = host->state();

  // Random domids across the whole range, one bit each in a state mask.
  std::mt19937 rng(20261125);
  std::map<Domid, int> slot_of;
  std::vector<Domid> domid_of;
  while (static_cast<int>(domid_of.size()) < kSlots) {
    Domid d = std::uniform_int_distribution<Domid>(1, xen::kMaxDomid)(rng);
    if (slot_of.emplace(d, domid_of.size()).second) domid_of.push_back(d);
  }
  uint64_t initial = 0;
  XLSIM_ASSERT_OK(state.Mutate([&](DomainTable& t) {
    for (int i = 0; i < kSlots; i += 2) {
      if (auto s = t.Add(domid_of[i], {}); !s.ok()) return s;
      initial |= 1ull << i;
    }
    return absl::OkStatus();
  }));

  std::atomic<bool> stop{false};
  std::atomic<int> mutations{0};
  std::vector<uint64_t> history = {initial};
  std::thread writer([&] {
    std::mt19937 wrng(7);
    uint64_t mask = initial;
    for (int i = 0; i < kMaxMutations && !stop.load(); ++i) {
      int slot = std::uniform_int_distribution<int>(0, kSlots - 1)(wrng);
      Domid d = domid_of[slot];
      absl::Status s = state.Mutate([&](DomainTable& t) {
        if (t.Present(d)) {
          t.Remove(d);
        } else if (auto added = t.Add(d, {}); !added.ok()) {
          return added;
        }
        mask ^= 1ull << slot;
        return absl::OkStatus();
      });
      if (!s.ok()) break;
      history.push_back(mask);  // exactly what the table held after the update
      mutations.fetch_add(1);
    }
  });

  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host->OpenHypervisor());
  state.SetDelay(HypercallKind::kGetDomainInfoList, absl::Microseconds(200));
  auto mask_of = [&](const std::vector<xen::DomainInfo>& list, uint64_t* m) {
    for (const auto& info : list) {
      if (info.domid == 0) continue;
      auto it = slot_of.find(info.domid);
      if (it == slot_of.end()) return false;
      *m |= 1ull << it->second;
    }
    return true;
  };

  std::vector<uint64_t> walked;
  const uint64_t calls0 = state.Counts().Get(HypercallKind::kGetDomainInfoList);
  for (int w = 0; w < kWalks; ++w) {
    uint64_t m = 0;
    Domid first = 0;
    std::vector<xen::DomainInfo> chunk;
    do {
      XLSIM_ASSERT_OK(hv->GetDomainInfoList(first, 2, &chunk));
      ASSERT_TRUE(mask_of(chunk, &m));
      if (!chunk.empty()) first = chunk.back().domid + 1;
    } while (chunk.size() == 2 && first < xen::kDomidFirstReserved);
    walked.push_back(m);
  }
  const uint64_t calls1 = state.Counts().Get(HypercallKind::kGetDomainInfoList);

  std::vector<uint64_t> full;
  const int mutations_before_full = mutations.load();
  for (int i = 0; i < kFullRangeCalls; ++i) {
    std::vector<xen::DomainInfo> all;
    XLSIM_ASSERT_OK(hv->GetAllDomains(&all));
    uint64_t m = 0;
    ASSERT_TRUE(mask_of(all, &m));
    full.push_back(m);
  }
  const uint64_t calls2 = state.Counts().Get(HypercallKind::kGetDomainInfoList);
  const int mutations_during_full = mutations.load() - mutations_before_full;
  stop = true;
  writer.join();
  state.ClearFaults();

  // The table kept changing while the full-range calls were made.
  EXPECT_GT(mutations_during_full, 0);
  EXPECT_EQ(calls2 - calls1, static_cast<uint64_t>(kFullRangeCalls));
  EXPECT_GT(calls1 - calls0, static_cast<uint64_t>(kWalks));

  const std::unordered_set<uint64_t> existed(history.begin(), history.end());
  int torn_walks = 0;
  for (uint64_t m : walked) torn_walks += !existed.count(m);
  int torn_full = 0;
  for (uint64_t m : full) torn_full += !existed.count(m);
  std::cout << history.size() - 1 << " mutations; " << torn_walks << " of "
            << kWalks << " chunked walks torn (" << (calls1 - calls0)
            << " hypercalls); " << torn_full << " of " << kFullRangeCalls
            << " full-range calls torn\n";
  EXPECT_GT(torn_walks, 0) << "no chunked walk returned a torn view";
  EXPECT_EQ(torn_full, 0) << "a full-range call returned a torn view";
}

}  // namespace
}  // namespace xenlet::sim
