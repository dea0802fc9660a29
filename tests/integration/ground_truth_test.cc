// The differential ground-truth test: random sequences of hypercalls and
// toolstack actions on a simulated host (pause and unpause in every state,
// remote shutdown with each reason, shutdown codes set by running guests,
// resume, destroy, domid reuse), with the agent's model running beside
// them. At each quiet point the simulated clock is frozen, the model sweeps
// once, and every field of every domain in the model must equal what the
// hypervisor answers to an independent getdomaininfolist through the real
// libxenctrl path: flags (paused and shutdown whatever the state, running
// and blocked), shutdown reason only while shut down, vCPUs, cpu time and
// memory. Seeds come from $XENLET_GROUND_TRUTH_SEEDS (default 1,2,3) and
// are printed on failure. A second test drives the host with Debian's real
// xl (list, pause, shutdown, unpause, destroy) and checks the same.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "store/domain_model.h"
#include "tests/testing/status_macros.h"
#include "tests/testing/subprocess.h"
#include "xen/xenstore.h"

namespace xenlet {
namespace {

// Debian's xl, from xen-utils-4.17.
constexpr char kXl[] = "/usr/lib/xen-4.17/bin/xl";

constexpr int kSteps = 120;
constexpr int kQuietEvery = 6;
constexpr size_t kMaxDomains = 12;

constexpr xen::ShutdownReason kReasons[] = {
    xen::ShutdownReason::kPoweroff, xen::ShutdownReason::kReboot,
    xen::ShutdownReason::kSuspend,  xen::ShutdownReason::kCrash,
    xen::ShutdownReason::kWatchdog, xen::ShutdownReason::kSoftReset,
};

std::vector<uint32_t> Seeds() {
  std::vector<uint32_t> seeds = {1, 2, 3};
  if (const char* env = std::getenv("XENLET_GROUND_TRUTH_SEEDS")) {
    seeds.clear();
    for (absl::string_view part : absl::StrSplit(env, ',')) {
      uint32_t seed;
      if (absl::SimpleAtoi(part, &seed)) seeds.push_back(seed);
    }
  }
  return seeds;
}

// Every field the hypervisor decides, as the model should show it.
std::vector<std::string> Differences(const xen::DomainInfo& h,
                                     const v1::Domain& m) {
  std::vector<std::string> out;
  auto check = [&](const char* field, auto want, auto have) {
    if (want != have) {
      out.push_back(
          absl::StrCat(field, " ", have, " (hypervisor: ", want, ")"));
    }
  };
  check("uuid", h.Uuid(), m.uuid());
  check("flags.hvm", h.hvm, m.flags().hvm());
  check("flags.dying", h.dying, m.flags().dying());
  check("flags.shutdown", h.shutdown, m.flags().shutdown());
  check("flags.paused", h.paused, m.flags().paused());
  check("flags.running", h.running, m.flags().running());
  check("flags.blocked", h.blocked, m.flags().blocked());
  check("flags.hap", h.hap, m.flags().hap());
  check("flags.debugged", h.debugged, m.flags().debugged());
  check("flags.xenstore_domain", h.xenstore_domain,
        m.flags().xenstore_domain());
  // Xen's SHUTDOWN_* 0..5 are the API's 1..6, shown only while shut down.
  const int reason = h.shutdown ? h.shutdown_code + 1 : 0;
  check("shutdown_reason", reason, static_cast<int>(m.shutdown_reason()));
  check("vcpus_online", h.nr_online_vcpus, m.vcpus_online());
  check("vcpus_max",
        h.max_vcpu_id == xen::kInvalidMaxVcpuId ? 0u : h.max_vcpu_id + 1,
        m.vcpus_max());
  check("cpu_time_ns", h.cpu_time_ns, m.cpu_time_ns());
  check("memory.current_bytes", h.tot_pages * xen::kPageSize,
        m.memory().current_bytes());
  check("memory.max_bytes", h.max_pages * xen::kPageSize,
        m.memory().max_bytes());
  check("memory.shared_bytes", h.shr_pages * xen::kPageSize,
        m.memory().shared_bytes());
  check("memory.outstanding_bytes", h.outstanding_pages * xen::kPageSize,
        m.memory().outstanding_bytes());
  check("cpupool", h.cpupool, m.cpupool());
  check("ssidref", h.ssidref, m.ssidref());
  // The state follows from the flags (CREATED or PAUSED for a paused
  // domain, depending on whether it has run, which the flags do not say).
  v1::DomainState state = m.state();
  bool state_ok;
  if (h.dying) {
    state_ok = state == v1::DOMAIN_STATE_DYING;
  } else if (h.shutdown) {
    state_ok = state == v1::DOMAIN_STATE_SHUTDOWN;
  } else if (h.paused) {
    state_ok =
        state == v1::DOMAIN_STATE_PAUSED || state == v1::DOMAIN_STATE_CREATED;
  } else {
    state_ok = state == v1::DOMAIN_STATE_RUNNING;
  }
  if (!state_ok) {
    out.push_back(absl::StrCat("state ", v1::DomainState_Name(state)));
  }
  return out;
}

class GroundTruthBase : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = sim::SimHost::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    host_ = std::move(*started);
    // Domids are reused at once (no libxl 60 s rule), to test reuse.
    auto toolstack = host_->NewToolstack(absl::ZeroDuration());
    ASSERT_TRUE(toolstack.ok()) << toolstack.status();
    toolstack_ = std::move(*toolstack);
    for (auto* hv : {&truth_, &agent_hypervisor_}) {
      auto opened = host_->OpenHypervisor();
      ASSERT_TRUE(opened.ok()) << opened.status();
      *hv = std::move(*opened);
    }
    store::ModelOptions options;
    options.sweep_interval = absl::Milliseconds(200);
    sim::SimHost* host = host_.get();
    model_ = std::make_unique<store::DomainModel>(
        agent_hypervisor_.get(), [host] { return host->ConnectXenstore(); },
        options);
    ASSERT_OK(model_->Start());
  }

  void TearDown() override {
    if (model_) model_->Stop();
    model_.reset();
    agent_hypervisor_.reset();
    truth_.reset();
    toolstack_.reset();
    host_.reset();
  }

  // Freezes the clock, sweeps once and compares; one line per difference.
  std::vector<std::string> CompareAtQuietPoint() {
    host_->state().FreezeClock();
    std::vector<std::string> out;
    absl::Status swept = model_->sweeper().SweepNow(store::SweepCause::kResync);
    if (!swept.ok()) out.push_back(absl::StrCat("sweep: ", swept.ToString()));
    std::vector<xen::DomainInfo> infos;
    absl::Status read = truth_->GetAllDomains(&infos);
    if (!read.ok()) out.push_back(absl::StrCat("truth: ", read.ToString()));
    auto snapshot = model_->store().snapshot();
    std::map<uint32_t, bool> seen;
    for (const xen::DomainInfo& info : infos) {
      seen[info.domid] = true;
      auto d = snapshot->domains.Get(info.domid);
      if (!d) {
        out.push_back(absl::StrCat("domid ", info.domid, " missing"));
        continue;
      }
      for (const std::string& diff : Differences(info, *d)) {
        out.push_back(absl::StrCat("domid ", info.domid, ": ", diff));
      }
    }
    snapshot->domains.ForEach([&](const store::DomainPtr& d) {
      if (!seen.contains(d->domid())) {
        out.push_back(
            absl::StrCat("domid ", d->domid(), " is not on the host"));
      }
    });
    host_->state().ThawClock();
    return out;
  }

  std::unique_ptr<sim::SimHost> host_;
  std::unique_ptr<sim::Toolstack> toolstack_;
  std::unique_ptr<xen::Hypervisor> truth_;
  std::unique_ptr<xen::Hypervisor> agent_hypervisor_;
  std::unique_ptr<store::DomainModel> model_;
};

class GroundTruthTest : public GroundTruthBase,
                        public ::testing::WithParamInterface<uint32_t> {};

TEST_P(GroundTruthTest, ModelEqualsTheHypervisorInEveryField) {
  const uint32_t seed = GetParam();
  std::mt19937 rng(seed);
  auto uniform = [&](uint32_t n) {
    return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng);
  };
  std::vector<std::string> log;
  std::vector<uint32_t> freed;
  int quiet_points = 0;
  std::map<std::string, int> done;  // operations by kind
  for (int step = 0; step < kSteps; ++step) {
    if (step % kQuietEvery == 0) {
      ++quiet_points;
      const std::vector<std::string> diff = CompareAtQuietPoint();
      ASSERT_TRUE(diff.empty())
          << "seed " << seed << ", before step " << step << ":\n  "
          << absl::StrJoin(diff, "\n  ") << "\nlast operations: "
          << absl::StrJoin(log.size() > 12 ? log.end() - 12 : log.begin(),
                           log.end(), "; ");
    }
    std::vector<uint32_t> domids;
    for (uint32_t d : host_->state().Domids()) {
      if (d != 0) domids.push_back(d);
    }
    const uint32_t op = domids.empty() ? 0 : uniform(9);
    const uint32_t domid = domids.empty() ? 0 : domids[uniform(domids.size())];
    auto info = domids.empty() ? absl::StatusOr<xen::DomainInfo>()
                               : truth_->GetDomainInfo(domid);
    std::string what;
    absl::Status s;
    if (op == 0 && domids.size() < kMaxDomains) {
      sim::DomainSpec spec;
      spec.vcpus = 1 + uniform(4);
      spec.memory_mib = 64 * (1 + uniform(4));
      spec.hvm = uniform(2) == 1;
      spec.load_permille = std::vector<uint32_t>{0, 50, 500, 1000}[uniform(4)];
      spec.start = uniform(4) != 0;
      if (!freed.empty() && uniform(3) == 0) {  // a reused domid
        spec.domid = freed[uniform(freed.size())];
      }
      auto created = toolstack_->CreateDomain(spec);
      s = created.status();
      if (created.ok()) {
        std::erase(freed, created->domid);
        what = absl::StrCat("create ", created->domid, " load ",
                            spec.load_permille, spec.start ? "" : " paused");
      }
    } else if (op == 0 || !info.ok()) {
      continue;
    } else if (op <= 2) {
      // Pause in every state: running, paused, shut down, dying.
      what = absl::StrCat("pause ", domid);
      s = toolstack_->PauseDomain(domid);
      if (s.code() == absl::StatusCode::kResourceExhausted ||
          s.code() == absl::StatusCode::kOutOfRange) {
        s = absl::OkStatus();  // EOVERFLOW past 255: a valid answer
      }
    } else if (op == 3) {
      what = absl::StrCat("unpause ", domid);
      s = toolstack_->UnpauseDomain(domid);
      if (!info->paused && s.code() == absl::StatusCode::kInvalidArgument) {
        s = absl::OkStatus();  // EINVAL when not paused, as Xen answers
      }
    } else if (op == 4) {
      const xen::ShutdownReason reason = kReasons[uniform(6)];
      what = absl::StrCat("shutdown ", domid, " ",
                          xen::ShutdownReasonName(reason));
      if (info->dying) continue;
      if (info->paused) {
        // A paused guest cannot answer a request: the remote shutdown
        // hypercall instead, which Xen takes in any state.
        what += " (remote)";
        s = toolstack_->hypervisor().ShutdownDomain(domid, reason);
      } else {
        s = toolstack_->ShutdownDomain(domid, reason);
      }
    } else if (op == 5) {
      const xen::ShutdownReason reason = kReasons[uniform(6)];
      what = absl::StrCat("shutdown-code ", domid, " ",
                          xen::ShutdownReasonName(reason));
      s = toolstack_->GuestSetShutdownCode(domid, reason);
    } else if (op == 6) {
      what = absl::StrCat("resume ", domid);
      if (info->dying) continue;
      s = toolstack_->ResumeDomain(domid);
    } else if (op == 7) {
      what = absl::StrCat("load ", domid);
      s = host_->state().SetLoad(domid, uniform(1001));
    } else {
      what = absl::StrCat("destroy ", domid);
      s = toolstack_->DestroyDomain(domid);
      if (s.ok()) freed.push_back(domid);
    }
    log.push_back(what);
    ++done[what.substr(0, what.find(' '))];
    ASSERT_TRUE(s.ok()) << "seed " << seed << ": " << what << ": " << s;
  }
  const std::vector<std::string> diff = CompareAtQuietPoint();
  EXPECT_TRUE(diff.empty())
      << "seed " << seed << ", at the end:\n  " << absl::StrJoin(diff, "\n  ");
  for (const char* kind : {"create", "pause", "unpause", "shutdown",
                           "shutdown-code", "resume", "load", "destroy"}) {
    EXPECT_GT(done[kind], 0) << "seed " << seed << " never did " << kind;
  }
  EXPECT_GE(quiet_points, kSteps / kQuietEvery);
  // Nothing in the sequence, nor the agent, shut dom0 (the host) down.
  EXPECT_EQ(host_->state().host_halts().count, 0u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, GroundTruthTest, ::testing::ValuesIn(Seeds()));

// Runs Debian's real xl (libxl 4.17) on the host.
testing::ProcessResult RunXl(const sim::SimHost& host,
                             const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kXl};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunProcess(argv, host.PreloadEnv());
}

// The real xl as a second toolstack: what it does, the model follows, field
// for field. xl list shows the simulator's domains; xl pause, unpause and
// destroy act through the real libxl and libxenctrl on the fake hypervisor
// and the real xenstored.
TEST_F(GroundTruthBase, TheRealXlIsASecondToolstack) {
  if (access(kXl, X_OK) != 0) GTEST_SKIP() << kXl << " is not installed";
  std::vector<uint32_t> domids;
  for (int i = 0; i < 3; ++i) {
    sim::DomainSpec spec;
    spec.name = absl::StrCat("xl-", i);
    spec.vcpus = 1 + i;
    auto created = toolstack_->CreateDomain(spec);
    ASSERT_TRUE(created.ok()) << created.status();
    domids.push_back(created->domid);
  }
  testing::ProcessResult list = RunXl(*host_, {"list"});
  ASSERT_EQ(list.code, 0) << list.out;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(absl::StrContains(list.out, absl::StrCat("xl-", i)))
        << list.out;
  }
  const std::string first = absl::StrCat(domids[0]);
  const std::string second = absl::StrCat(domids[1]);
  testing::ProcessResult pause = RunXl(*host_, {"pause", first});
  ASSERT_EQ(pause.code, 0) << pause.out;
  // A shut-down domain paused by xl: the flag must reach the model.
  ASSERT_OK(
      toolstack_->ShutdownDomain(domids[1], xen::ShutdownReason::kSuspend));
  testing::ProcessResult pause2 = RunXl(*host_, {"pause", second});
  ASSERT_EQ(pause2.code, 0) << pause2.out;
  std::vector<std::string> diff = CompareAtQuietPoint();
  ASSERT_TRUE(diff.empty()) << absl::StrJoin(diff, "\n");
  EXPECT_TRUE(
      model_->store().snapshot()->domains.Get(domids[1])->flags().paused());

  // xl shutdown writes control/shutdown; the simulated guest answers it.
  const std::string third = absl::StrCat(domids[2]);
  testing::ProcessResult shutdown = RunXl(*host_, {"shutdown", "-w", third});
  ASSERT_EQ(shutdown.code, 0) << shutdown.out;
  auto down = truth_->GetDomainInfo(domids[2]);
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_TRUE(down->shutdown);
  EXPECT_EQ(down->shutdown_code,
            static_cast<uint8_t>(xen::ShutdownReason::kPoweroff));

  testing::ProcessResult unpause = RunXl(*host_, {"unpause", first});
  ASSERT_EQ(unpause.code, 0) << unpause.out;
  testing::ProcessResult destroy = RunXl(*host_, {"destroy", second});
  ASSERT_EQ(destroy.code, 0) << destroy.out;
  diff = CompareAtQuietPoint();
  ASSERT_TRUE(diff.empty()) << absl::StrJoin(diff, "\n");
  auto snapshot = model_->store().snapshot();
  EXPECT_EQ(snapshot->domains.Get(domids[1]), nullptr) << "xl destroyed it";
  EXPECT_EQ(snapshot->domains.Get(domids[0])->state(),
            v1::DOMAIN_STATE_RUNNING);
  // libxl removed the domain's paths, as the simulator's toolstack does.
  auto xs = host_->ConnectXenstore();
  ASSERT_TRUE(xs.ok()) << xs.status();
  EXPECT_EQ((*xs)->Read(xen::DomainPath(domids[1])).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ((*xs)->Read(absl::StrCat("/libxl/", domids[1])).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->state().host_halts().count, 0u);
}

std::vector<std::string> TracedRequests(const sim::SimHost& host,
                                        size_t* from) {
  auto requests = host.TracedRequests(from);
  EXPECT_TRUE(requests.ok()) << requests.status();
  return requests.ok() ? *requests : std::vector<std::string>{};
}

// What a destroy removes, in order, with the domain's own numbers and UUID
// replaced. Left out: dom0's backend directories (which of their parents
// are left empty, and so removed, depends on which domain goes first) and
// the paths under the domain's directory (removed with it).
std::vector<std::string> RemovedPaths(const std::vector<std::string>& requests,
                                      uint32_t domid, const std::string& uuid) {
  std::vector<std::string> out;
  for (const std::string& r : requests) {
    if (!absl::StartsWith(r, "RM (")) continue;
    std::string path = r.substr(4, r.find(' ', 4) - 4);
    // Backends: which parents are left empty depends on the order.
    if (absl::StartsWith(path, "/local/domain/0/backend")) continue;
    path = absl::StrReplaceAll(path, {{uuid, "UUID"}});
    path = absl::StrReplaceAll(
        path, {{absl::StrCat("/local/domain/", domid), "/local/domain/N"},
               {absl::StrCat("/libxl/", domid), "/libxl/N"}});
    if (absl::StartsWith(path, "/local/domain/N/")) continue;
    out.push_back(path);
  }
  return out;
}

// xenstored's trace of a destroy by the simulator's toolstack and one by
// the real libxl (xl destroy): the same paths removed in the same order,
// and neither sends XS_RELEASE (xenstored releases the domain itself).
TEST(DestroyTraceTest, TheSimulatorDestroysAsLibxlDoes) {
  if (access(kXl, X_OK) != 0) GTEST_SKIP() << kXl << " is not installed";
  sim::SimHostOptions options;
  options.trace = true;
  // The simulated backends close the vif as netback would (otherwise both
  // toolstacks wait libxl's 10 s for it); their requests are no RMs.
  auto host = sim::SimHost::Start(options);
  ASSERT_TRUE(host.ok()) << host.status();
  auto toolstack = (*host)->NewToolstack();
  ASSERT_TRUE(toolstack.ok()) << toolstack.status();
  auto by_sim = (*toolstack)->CreateDomain({});
  auto by_xl = (*toolstack)->CreateDomain({});
  ASSERT_TRUE(by_sim.ok() && by_xl.ok());
  size_t line = 0;
  TracedRequests(**host, &line);
  ASSERT_OK((*toolstack)->DestroyDomain(by_sim->domid));
  const std::vector<std::string> sim_requests = TracedRequests(**host, &line);
  testing::ProcessResult xl = testing::RunProcess(
      {kXl, "destroy", absl::StrCat(by_xl->domid)}, (*host)->PreloadEnv());
  ASSERT_EQ(xl.code, 0) << xl.out;
  const std::vector<std::string> xl_requests = TracedRequests(**host, &line);

  const std::vector<std::string> sim_removed =
      RemovedPaths(sim_requests, by_sim->domid, by_sim->uuid);
  const std::vector<std::string> xl_removed =
      RemovedPaths(xl_requests, by_xl->domid, by_xl->uuid);
  EXPECT_EQ(sim_removed, xl_removed)
      << "simulator: " << absl::StrJoin(sim_requests, "; ")
      << "\nlibxl: " << absl::StrJoin(xl_requests, "; ");
  // Each device's libxl record (and its parents, once empty), then the
  // domain's three directories.
  EXPECT_EQ(xl_removed,
            (std::vector<std::string>{
                "/libxl/N/device/console/0", "/libxl/N/device/console",
                "/libxl/N/device/vif/0", "/libxl/N/device/vif",
                "/libxl/N/device", "/vm/UUID", "/local/domain/N", "/libxl/N"}));
  for (const auto* requests : {&sim_requests, &xl_requests}) {
    for (const std::string& r : *requests) {
      EXPECT_FALSE(absl::StartsWith(r, "RELEASE")) << r;
    }
  }
}

}  // namespace
}  // namespace xenlet
