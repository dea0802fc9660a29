// The differential ground-truth test: random sequences of hypercalls and
// toolstack actions on a simulated host (pause and unpause in every state,
// shutdown with each reason, shutdown codes set by running guests, resume,
// soft reset, xl's reactions to a shutdown (reboot: the same UUID on a new
// domid), destroy with no, short and endless dying phases, domid reuse,
// and the real xl's pause, unpause, shutdown and destroy), with the agent
// (model and gRPC server) running beside them and two watchers, one of
// which disconnects and resumes mid-sequence. The simulated clock moves
// only when the test advances it (a few ms per step); at each quiet point
// the model sweeps once, and every field of
// every domain must equal what the hypervisor answers to an independent
// getdomaininfolist through the real libxenctrl path (flags, paused and
// shutdown whatever the state, running and blocked; shutdown reason only
// while shut down; vCPUs; cpu time; memory): in the model, in ListDomains,
// and (the fields events carry) in each watcher's model; and every tracked
// xenstore key must equal xenstore's. Seeds come from
// $XENLET_GROUND_TRUTH_SEEDS (default 1,2,3) and are printed on failure. A
// second test drives the host with Debian's real xl (list, pause,
// shutdown, unpause, destroy) and checks the same.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/server.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "store/domain_model.h"
#include "tests/testing/status_macros.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/watch_client.h"
#include "xen/xenstore.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet {
namespace {

// Debian's xl, from xen-utils-4.17.
constexpr char kXl[] = "/usr/lib/xen-4.17/bin/xl";

constexpr int kSteps = 240;
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

// Which fields to compare: all, or those events carry (a watcher's model:
// volatile fields are refreshed in snapshots without events).
enum class Fields { kAll, kStable };

// Every field the hypervisor decides, as the model should show it.
std::vector<std::string> Differences(const xen::DomainInfo& h,
                                     const v1::Domain& m,
                                     Fields fields = Fields::kAll) {
  std::vector<std::string> out;
  const bool all = fields == Fields::kAll;
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
  if (all) {
    check("flags.running", h.running, m.flags().running());
    check("flags.blocked", h.blocked, m.flags().blocked());
  }
  check("flags.hap", h.hap, m.flags().hap());
  check("flags.debugged", h.debugged, m.flags().debugged());
  check("flags.xenstore_domain", h.xenstore_domain,
        m.flags().xenstore_domain());
  // Xen's SHUTDOWN_* 0..5 are the API's 1..6, shown only while shut down.
  const int reason = h.shutdown ? h.shutdown_code + 1 : 0;
  check("shutdown_reason", reason, static_cast<int>(m.shutdown_reason()));
  if (all) check("vcpus_online", h.nr_online_vcpus, m.vcpus_online());
  check("vcpus_max",
        h.max_vcpu_id == xen::kInvalidMaxVcpuId ? 0u : h.max_vcpu_id + 1,
        m.vcpus_max());
  if (all) {
    check("cpu_time_ns", h.cpu_time_ns, m.cpu_time_ns());
    check("memory.current_bytes", h.tot_pages * xen::kPageSize,
          m.memory().current_bytes());
    check("memory.shared_bytes", h.shr_pages * xen::kPageSize,
          m.memory().shared_bytes());
    check("memory.outstanding_bytes", h.outstanding_pages * xen::kPageSize,
          m.memory().outstanding_bytes());
  }
  check("memory.max_bytes", h.max_pages * xen::kPageSize,
        m.memory().max_bytes());
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

// The xenstore keys the agent tracks by default, for the key comparison.
constexpr const char* kTrackedKeys[] = {"name", "memory/target",
                                        "control/shutdown"};

class GroundTruthBase : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = sim::SimHost::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    host_ = std::move(*started);
    // The simulated clock stands still except where the test advances it,
    // so that volatile fields compare exactly and a dying domain's end
    // comes at a step the seed decides (a seed replays its run).
    host_->state().FreezeClock();
    // Domids are reused at once (no libxl 60 s rule), to test reuse.
    auto toolstack = host_->NewToolstack(absl::ZeroDuration());
    ASSERT_TRUE(toolstack.ok()) << toolstack.status();
    toolstack_ = std::move(*toolstack);
    for (auto* hv : {&truth_, &agent_hypervisor_}) {
      auto opened = host_->OpenHypervisor();
      ASSERT_TRUE(opened.ok()) << opened.status();
      *hv = std::move(*opened);
    }
    auto xs = host_->ConnectXenstore();
    ASSERT_TRUE(xs.ok()) << xs.status();
    truth_xenstore_ = std::move(*xs);
    store::ModelOptions options;
    options.sweep_interval = absl::Milliseconds(200);
    sim::SimHost* host = host_.get();
    model_ = std::make_unique<store::DomainModel>(
        agent_hypervisor_.get(), [host] { return host->ConnectXenstore(); },
        options);
    ASSERT_OK(model_->Start());
    agent::ServerOptions server_options;
    server_options.listeners.unix_socket = dir_.File("xenlet.sock");
    auto server = agent::AgentServer::Start(server_options, {&model_->store()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = v1::DomainService::NewStub(
        grpc::CreateChannel("unix:" + server_options.listeners.unix_socket,
                            grpc::InsecureChannelCredentials()));
    for (const char* name : {"steady", "resumer"}) {
      testing::WatchClientOptions w;
      w.name = name;
      w.target = "unix:" + server_options.listeners.unix_socket;
      watchers_.push_back(std::make_unique<testing::WatchClient>(w));
      watchers_.back()->Start();
    }
  }

  void TearDown() override {
    for (auto& w : watchers_) w->Stop();
    watchers_.clear();
    stub_.reset();
    if (server_) server_->Shutdown(absl::Seconds(1));
    server_.reset();
    if (model_) model_->Stop();
    model_.reset();
    agent_hypervisor_.reset();
    truth_xenstore_.reset();
    truth_.reset();
    toolstack_.reset();
    host_.reset();
  }

  testing::WatchClient& resumer() { return *watchers_[1]; }

  // Every domain ListDomains answers, page by page.
  absl::StatusOr<std::vector<v1::Domain>> ListDomains() {
    std::vector<v1::Domain> out;
    v1::ListDomainsRequest request;
    for (;;) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(10));
      v1::ListDomainsResponse response;
      grpc::Status s = stub_->ListDomains(&context, request, &response);
      if (!s.ok()) return absl::UnknownError(s.error_message());
      out.insert(out.end(), response.domains().begin(),
                 response.domains().end());
      if (response.next_page_token().empty()) return out;
      request.set_page_token(response.next_page_token());
    }
  }

  // The tracked keys of a live domain, from xenstore ("" when absent).
  std::map<std::string, std::string> TruthKeys(uint32_t domid) {
    std::map<std::string, std::string> keys;
    for (const char* key : kTrackedKeys) {
      auto value =
          truth_xenstore_->Read(absl::StrCat(xen::DomainPath(domid), "/", key));
      if (value.ok()) keys[key] = *value;
    }
    return keys;
  }

  // Differences between a model's view of the domains and the truth.
  static void CompareDomains(const std::string& who,
                             const std::vector<xen::DomainInfo>& infos,
                             const std::map<uint32_t, v1::Domain>& domains,
                             Fields fields, std::vector<std::string>* out) {
    for (const xen::DomainInfo& info : infos) {
      auto it = domains.find(info.domid);
      if (it == domains.end()) {
        out->push_back(absl::StrCat(who, ": domid ", info.domid, " missing"));
        continue;
      }
      for (const std::string& diff : Differences(info, it->second, fields)) {
        out->push_back(absl::StrCat(who, ": domid ", info.domid, ": ", diff));
      }
    }
    for (const auto& [held, d] : domains) {
      const uint32_t domid = held;  // clang-14 cannot capture a binding
      if (!absl::c_any_of(infos, [&](const xen::DomainInfo& i) {
            return i.domid == domid;
          })) {
        out->push_back(
            absl::StrCat(who, ": domid ", domid, " is not on the host"));
      }
    }
  }

  // Sweeps once (the clock is frozen) and compares the model, ListDomains and
  // every watcher with the hypervisor, and the model's tracked keys with
  // xenstore; one line per difference.
  std::vector<std::string> CompareAtQuietPoint() {
    std::vector<std::string> out;
    absl::Status swept = model_->sweeper().SweepNow(store::SweepCause::kResync);
    if (!swept.ok()) out.push_back(absl::StrCat("sweep: ", swept.ToString()));
    std::vector<xen::DomainInfo> infos;
    absl::Status read = truth_->GetAllDomains(&infos);
    if (!read.ok()) out.push_back(absl::StrCat("truth: ", read.ToString()));
    auto snapshot = model_->store().snapshot();
    std::map<uint32_t, v1::Domain> model;
    snapshot->domains.ForEach([&](const store::DomainPtr& d) {
      model[d->domid()] = store::FreshDomain(*snapshot, *d);
    });
    CompareDomains("model", infos, model, Fields::kAll, &out);

    // Keys reach the model through xenstore watches, which may still be on
    // their way: wait (bounded) until they match, then report.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    std::vector<std::string> key_diffs;
    for (;;) {
      key_diffs.clear();
      auto now = model_->store().snapshot();
      for (const xen::DomainInfo& info : infos) {
        if (info.domid == 0 || info.dying) continue;
        auto d = now->domains.Get(info.domid);
        if (!d) continue;
        const std::map<std::string, std::string> truth = TruthKeys(info.domid);
        const std::map<std::string, std::string> have(d->xenstore().begin(),
                                                      d->xenstore().end());
        if (truth != have) {
          key_diffs.push_back(absl::StrCat(
              "model: domid ", info.domid, " keys {",
              absl::StrJoin(have, ", ", absl::PairFormatter("=")),
              "} (xenstore: {",
              absl::StrJoin(truth, ", ", absl::PairFormatter("=")), "})"));
        }
        auto name = truth.find("name");
        if (name != truth.end() && d->name() != name->second) {
          key_diffs.push_back(
              absl::StrCat("model: domid ", info.domid, " name ", d->name()));
        }
      }
      if (key_diffs.empty() || absl::Now() > deadline) break;
      // Bounded polling for a condition: watch events are asynchronous.
      absl::SleepFor(absl::Milliseconds(5));
    }
    out.insert(out.end(), key_diffs.begin(), key_diffs.end());

    auto listed = ListDomains();
    if (!listed.ok()) {
      out.push_back(absl::StrCat("ListDomains: ", listed.status().ToString()));
    } else {
      std::map<uint32_t, v1::Domain> by_domid;
      for (const v1::Domain& d : *listed) by_domid[d.domid()] = d;
      CompareDomains("ListDomains", infos, by_domid, Fields::kAll, &out);
    }
    const std::string instance = model_->store().instance_id();
    const uint64_t revision = model_->store().snapshot()->revision;
    for (auto& w : watchers_) {
      if (!w->WaitForRevision(instance, revision)) {
        out.push_back(
            absl::StrCat(w->name(), " never reached revision ", revision));
        continue;
      }
      const testing::WatchClientState s = w->state();
      for (const std::string& v : s.violations) {
        out.push_back(absl::StrCat(w->name(), ": ", v));
      }
      if (s.unexplained_gaps) {
        out.push_back(
            absl::StrCat(w->name(), ": ", s.unexplained_gaps, " events lost"));
      }
      CompareDomains(w->name(), infos, s.domains, Fields::kStable, &out);
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<sim::SimHost> host_;
  std::unique_ptr<sim::Toolstack> toolstack_;
  std::unique_ptr<xen::Hypervisor> truth_;
  std::unique_ptr<xen::XenstoreClient> truth_xenstore_;
  std::unique_ptr<xen::Hypervisor> agent_hypervisor_;
  std::unique_ptr<store::DomainModel> model_;
  std::unique_ptr<agent::AgentServer> server_;
  std::unique_ptr<v1::DomainService::Stub> stub_;
  std::vector<std::unique_ptr<testing::WatchClient>> watchers_;
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
  bool resumer_connected = true;
  for (int step = 0; step < kSteps; ++step) {
    host_->state().AdvanceClock(absl::Milliseconds(1 + uniform(20)));
    // The resumer goes away and comes back mid-sequence, resuming from its
    // last point; it is connected at every quiet point.
    if (step % kQuietEvery != 0 && uniform(5) == 0) {
      if (resumer_connected) {
        resumer().Disconnect();
      } else {
        resumer().Reconnect();
      }
      resumer_connected = !resumer_connected;
    }
    if (step % kQuietEvery == 0) {
      if (!resumer_connected) resumer().Reconnect();
      resumer_connected = true;
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
    const uint32_t op = domids.empty() ? 0 : uniform(14);
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
      // Freed domids still dying are not free yet.
      std::erase_if(freed,
                    [&](uint32_t d) { return host_->state().Info(d).ok(); });
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
    } else if (op == 9) {
      // libxl's soft reset: HVM only (Xen refuses a PV one).
      what = absl::StrCat("soft-reset ", domid);
      if (info->dying) continue;
      // A guest that kexecs shuts itself down with soft_reset first.
      if (!info->shutdown) {
        s = toolstack_->ShutdownDomain(domid, xen::ShutdownReason::kSoftReset);
      }
      if (s.ok()) s = toolstack_->SoftResetDomain(domid);
      if (!info->hvm && s.code() == absl::StatusCode::kInvalidArgument) {
        s = absl::OkStatus();
      }
    } else if (op == 10) {
      // A guest reboots (or otherwise shuts down) and xl reacts as
      // xl_vmcontrol.c does: reboot re-creates it under a new domid with
      // the same UUID while the old one may still be dying.
      if (info->dying) continue;
      if (!info->shutdown) {
        // A paused guest cannot reboot itself: Xen's remote shutdown then.
        s = info->paused ? toolstack_->hypervisor().ShutdownDomain(
                               domid, xen::ShutdownReason::kReboot)
                         : toolstack_->ShutdownDomain(
                               domid, xen::ShutdownReason::kReboot);
        if (!s.ok()) {
          what = absl::StrCat("xl-react ", domid);
          log.push_back(what);
          ASSERT_TRUE(s.ok()) << "seed " << seed << ": " << what << ": " << s;
        }
      }
      auto reaction = toolstack_->ReactToShutdown(domid);
      s = reaction.status();
      if (!info->hvm && s.code() == absl::StatusCode::kInvalidArgument) {
        s = absl::OkStatus();  // a PV soft reset: Xen refuses it, xl fails
      }
      what = absl::StrCat("xl-react ", domid);
      if (reaction.ok() && reaction->restarted) {
        absl::StrAppend(&what, " -> ", reaction->restarted->domid);
        freed.push_back(domid);
      }
    } else if (op == 11) {
      // How long the next destroys stay dying: none, a while, or for ever
      // (a zombie, until reaped).
      const absl::Duration dying[] = {absl::ZeroDuration(),
                                      absl::Milliseconds(30),
                                      absl::InfiniteDuration()};
      const uint32_t which = uniform(3);
      what = absl::StrCat("dying-time ", absl::FormatDuration(dying[which]));
      host_->state().SetDyingTime(dying[which]);
    } else if (op == 12) {
      if (!info->dying) continue;
      what = absl::StrCat("reap ", domid);
      s = host_->state().ReapDomain(domid);
      if (s.ok()) freed.push_back(domid);
    } else if (op == 13) {
      // Debian's real xl, as a second toolstack.
      if (access(kXl, X_OK) != 0 || info->dying) continue;
      const char* const actions[] = {"pause", "unpause", "shutdown", "destroy"};
      std::string action = actions[uniform(4)];
      if (action == "shutdown" && (info->paused || info->shutdown)) {
        continue;  // a paused guest answers only once unpaused
      }
      what = absl::StrCat("xl-", action, " ", domid);
      std::vector<std::string> argv = {kXl, action};
      if (action == "shutdown") argv.push_back("-w");
      argv.push_back(absl::StrCat(domid));
      testing::ProcessResult xl =
          testing::RunProcess(argv, host_->PreloadEnv());
      const bool refused = action == "unpause" && !info->paused;
      if (xl.code != 0 && !refused) {
        s = absl::InternalError(absl::StrCat("xl: ", xl.out));
      }
      if (action == "destroy" && xl.code == 0) freed.push_back(domid);
    } else {
      what = absl::StrCat("destroy ", domid);
      s = toolstack_->DestroyDomain(domid);
      if (s.ok()) freed.push_back(domid);
    }
    if (s.code() == absl::StatusCode::kNotFound && info.ok() && info->dying) {
      s = absl::OkStatus();  // its dying time ran out meanwhile: it is gone
    }
    log.push_back(what);
    ++done[what.substr(0, what.find(' '))];
    ASSERT_TRUE(s.ok()) << "seed " << seed << ": " << what << ": " << s;
  }
  if (!resumer_connected) resumer().Reconnect();
  const std::vector<std::string> diff = CompareAtQuietPoint();
  EXPECT_TRUE(diff.empty())
      << "seed " << seed << ", at the end:\n  " << absl::StrJoin(diff, "\n  ");
  for (const char* kind :
       {"create", "pause", "unpause", "shutdown", "shutdown-code", "resume",
        "load", "destroy", "soft-reset", "xl-react", "dying-time"}) {
    EXPECT_GT(done[kind], 0) << "seed " << seed << " never did " << kind;
  }
  // The resumer resumed from its points, and the steady watcher never
  // needed a new stream.
  EXPECT_GT(resumer().state().resumes, 0) << "seed " << seed;
  EXPECT_EQ(watchers_[0]->state().streams, 1) << "seed " << seed;
  EXPECT_GE(quiet_points, kSteps / kQuietEvery);
  std::printf(
      "seed %u: %s; %d quiet points; resumer: %d resumes, %llu "
      "replayed\n",
      seed, absl::StrJoin(done, " ", absl::PairFormatter("=")).c_str(),
      quiet_points, resumer().state().resumes,
      static_cast<unsigned long long>(resumer().state().replayed));
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
