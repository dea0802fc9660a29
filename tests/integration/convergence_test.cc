// The convergence test (docs/architecture.md, "What makes an event"): random
// storms of domain lifecycle operations (create, pause, unpause, shutdown with
// every reason, destroy, domid reuse) on a private simulated host, with the
// real model served by an in-process agent, and several WatchDomains clients,
// each keeping its own model of the host:
//   - a plain watcher (initial state, then live events);
//   - watchers that disconnect in the middle of the storm and resume from
//     their last revision: no event duplicated (revisions strictly
//     increase across the resume), none lost (the final model is the truth);
//   - a slow reader whose stream backs up (small queue, small HTTP/2 window,
//     reads held until the storm is over): it gets coalesced events and
//     converges without a RESYNC_REQUIRED;
//   - a watcher resuming against a restarted agent (a new instance): it is
//     told RESYNC_REQUIRED (INSTANCE_CHANGED), gets the state inline and
//     converges through a second storm.
// Once the host is quiet, every watcher's model must equal the agent's
// snapshot and the ground truth: the hypervisor's domain table (domids,
// uuids, paused/shutdown/dying flags, shutdown reasons) and xenstore (names
// and the tracked keys). On the way, no watcher may see a revision twice or
// skip one (unless coalescing merged it), a transition that does not follow
// from the state it holds, or a domain under another domain's name. The
// operation sequence comes from the seed; the test waits for conditions with
// bounds, never sleeps to synchronise.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agent/server.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "store/domain_model.h"
#include "tests/testing/status_macros.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/watch_client.h"
#include "xen/libxenstore_client.h"
#include "xen/xenstore.h"

namespace xenlet {
namespace {

using testing::DiffModels;
using testing::WatchClient;
using testing::WatchClientOptions;
using testing::WatchClientState;

using Model = std::map<uint32_t, v1::Domain>;

// xenstored slows down with every introduced domain: keep the host small.
constexpr size_t kMaxAlive = 40;
// The keys the model tracks (XenstoreWatcherOptions' default).
const char* const kTrackedKeys[] = {"name", "memory/target",
                                    "control/shutdown"};

constexpr xen::ShutdownReason kReasons[] = {
    xen::ShutdownReason::kPoweroff, xen::ShutdownReason::kReboot,
    xen::ShutdownReason::kSuspend,  xen::ShutdownReason::kCrash,
    xen::ShutdownReason::kWatchdog, xen::ShutdownReason::kSoftReset,
};

// What the test's toolstack did to a domain that is still there.
struct SimDomain {
  std::string uuid;
  bool started = false;  // unpaused at least once
  int pauses = 0;        // the controller pause count the test added
  bool shutdown = false;
  int epoch = 0;  // the agent that saw it born (see Storm::epoch)
};

enum OpKind {
  kCreate,
  kCreatePaused,  // built but not started (xl create -p)
  kCreateReuse,   // on a domid freed earlier
  kPause,
  kUnpause,
  kShutdown,
  kDestroy,
  kRecreate,  // destroy, then at once a new domain on the same domid
  kOpKinds,
};
const char* const kOpNames[] = {"create",  "create-paused", "create-reuse",
                                "pause",   "unpause",       "shutdown",
                                "destroy", "recreate"};

// Random lifecycle operations through the toolstack simulator, chosen from
// the seed and from what exists (so that each is valid).
class Storm {
 public:
  Storm(uint32_t seed, sim::Toolstack* toolstack)
      : rng_(seed), toolstack_(toolstack) {}

  absl::Status Step() {
    const OpKind kind = Pick();
    ++counts_[kind];
    log_.push_back(kOpNames[kind]);
    switch (kind) {
      case kCreate:
      case kCreatePaused:
      case kCreateReuse:
      case kRecreate: {
        if (kind == kRecreate) {
          const uint32_t domid =
              PickWhere([](const SimDomain&) { return true; });
          log_.back() += absl::StrCat(" ", domid);
          if (auto s = toolstack_->DestroyDomain(domid); !s.ok()) {
            return Failed(s);
          }
          alive_.erase(domid);
          freed_.insert(domid);
          reuse_ = domid;
        }
        sim::DomainSpec spec;
        spec.start = kind != kCreatePaused;
        spec.memory_mib = 64 + 64 * Uniform(4);
        spec.vcpus = 1 + Uniform(4);
        spec.hvm = Uniform(2) == 1;
        if (kind == kCreateReuse) {
          auto it = freed_.begin();
          std::advance(it, Uniform(freed_.size()));
          spec.domid = *it;
        } else if (kind == kRecreate) {
          spec.domid = reuse_;
        }
        spec.name = absl::StrCat("storm-", ++created_);
        auto created = toolstack_->CreateDomain(spec);
        if (!created.ok()) return Failed(created.status());
        freed_.erase(created->domid);
        names_[created->uuid] =
            absl::StrCat(created->name, " on domid ", created->domid);
        SimDomain& d = alive_[created->domid];
        d = SimDomain{};
        d.uuid = created->uuid;
        d.started = spec.start;
        d.epoch = epoch;
        log_.back() += absl::StrCat(" ", created->domid);
        return absl::OkStatus();
      }
      case kPause: {
        const uint32_t domid = PickWhere(
            [](const SimDomain& d) { return d.pauses < 3 && !d.shutdown; });
        log_.back() += absl::StrCat(" ", domid);
        if (auto s = toolstack_->PauseDomain(domid); !s.ok()) return Failed(s);
        ++alive_[domid].pauses;
        return absl::OkStatus();
      }
      case kUnpause: {
        const uint32_t domid = PickWhere([](const SimDomain& d) {
          return (d.pauses > 0 || !d.started) && !d.shutdown;
        });
        log_.back() += absl::StrCat(" ", domid);
        if (auto s = toolstack_->UnpauseDomain(domid); !s.ok()) {
          return Failed(s);
        }
        SimDomain& d = alive_[domid];
        if (!d.started) {
          d.started = true;  // the toolstack's own, first unpause
        } else {
          --d.pauses;
        }
        return absl::OkStatus();
      }
      case kShutdown: {
        const uint32_t domid =
            // A paused guest would answer only once unpaused.
            PickWhere([](const SimDomain& d) {
              return !d.shutdown && d.started && d.pauses == 0;
            });
        // Every reason in turn, so that each storm has all of them.
        const xen::ShutdownReason reason =
            kReasons[shutdowns_++ % std::size(kReasons)];
        log_.back() +=
            absl::StrCat(" ", domid, " ", xen::ShutdownReasonName(reason));
        if (auto s = toolstack_->ShutdownDomain(domid, reason); !s.ok()) {
          return Failed(s);
        }
        alive_[domid].shutdown = true;
        return absl::OkStatus();
      }
      case kDestroy: {
        const uint32_t domid = PickWhere([](const SimDomain&) { return true; });
        log_.back() += absl::StrCat(" ", domid);
        if (auto s = toolstack_->DestroyDomain(domid); !s.ok()) {
          return Failed(s);
        }
        alive_.erase(domid);
        freed_.insert(domid);
        return absl::OkStatus();
      }
      case kOpKinds:
        break;
    }
    return absl::InternalError("no operation");
  }

  const std::map<uint32_t, SimDomain>& alive() const { return alive_; }
  // "<name> on domid <domid>" for every domain created, by uuid.
  const std::map<std::string, std::string>& names() const { return names_; }
  int count(OpKind kind) const { return counts_[kind]; }
  int shutdowns() const { return shutdowns_; }
  std::string Summary() const {
    std::vector<std::string> parts;
    for (int k = 0; k < kOpKinds; ++k) {
      parts.push_back(absl::StrCat(kOpNames[k], "=", counts_[k]));
    }
    return absl::StrJoin(parts, " ");
  }
  // The last operations, for a failure message.
  std::string Tail(size_t n) const {
    size_t from = log_.size() > n ? log_.size() - n : 0;
    return absl::StrJoin(log_.begin() + from, log_.end(), "; ");
  }

  // Which agent is running (the test bumps it when it restarts the agent).
  int epoch = 1;

 private:
  uint32_t Uniform(size_t n) {
    return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_);
  }

  template <typename Pred>
  bool Any(Pred pred) const {
    for (const auto& [domid, d] : alive_) {
      if (pred(d)) return true;
    }
    return false;
  }

  template <typename Pred>
  uint32_t PickWhere(Pred pred) {
    std::vector<uint32_t> candidates;
    for (const auto& [domid, d] : alive_) {
      if (pred(d)) candidates.push_back(domid);
    }
    return candidates[Uniform(candidates.size())];
  }

  OpKind Pick() {
    // Weights, zero for what is impossible now.
    int weights[kOpKinds] = {};
    const bool room = alive_.size() < kMaxAlive;
    weights[kCreate] = room ? (alive_.size() < 8 ? 40 : 20) : 0;
    weights[kCreatePaused] = room ? 4 : 0;
    weights[kCreateReuse] = room && !freed_.empty() ? 10 : 0;
    weights[kPause] =
        Any([](const SimDomain& d) { return d.pauses < 3 && !d.shutdown; }) ? 14
                                                                            : 0;
    weights[kUnpause] = Any([](const SimDomain& d) {
      return (d.pauses > 0 || !d.started) && !d.shutdown;
    })
                            ? 14
                            : 0;
    weights[kShutdown] = Any([](const SimDomain& d) {
      return !d.shutdown && d.started && d.pauses == 0;
    })
                             ? 12
                             : 0;
    weights[kDestroy] = alive_.empty() ? 0 : 12;
    weights[kRecreate] = alive_.empty() ? 0 : 8;
    std::discrete_distribution<int> pick(std::begin(weights),
                                         std::end(weights));
    return static_cast<OpKind>(pick(rng_));
  }

  absl::Status Failed(const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat(log_.back(), ": ", s.message()));
  }

  std::mt19937 rng_;
  sim::Toolstack* const toolstack_;
  std::map<uint32_t, SimDomain> alive_;
  std::map<std::string, std::string> names_;
  std::set<uint32_t> freed_;
  int counts_[kOpKinds] = {};
  int created_ = 0;
  int shutdowns_ = 0;
  uint32_t reuse_ = 0;
  std::vector<std::string> log_;
};

// One domain as the host itself has it.
struct TruthDomain {
  std::string uuid;
  bool paused = false;
  bool shutdown = false;
  bool dying = false;
  v1::ShutdownReason reason = v1::SHUTDOWN_REASON_UNSPECIFIED;
  std::map<std::string, std::string> keys;  // tracked keys present
};
using Truth = std::map<uint32_t, TruthDomain>;

// The hypervisor's domain table (one getdomaininfolist, as a consistent
// view) and each domain's tracked xenstore keys. Read once the host is
// quiet: nothing changes between the two.
absl::StatusOr<Truth> ReadTruth(xen::Hypervisor& hypervisor,
                                xen::XenstoreClient& xenstore) {
  std::vector<xen::DomainInfo> infos;
  if (auto s = hypervisor.GetAllDomains(&infos); !s.ok()) return s;
  Truth truth;
  for (const xen::DomainInfo& info : infos) {
    TruthDomain& t = truth[info.domid];
    t.uuid = info.Uuid();
    t.paused = info.paused;
    t.shutdown = info.shutdown;
    t.dying = info.dying;
    if (info.shutdown) {
      // Xen's SHUTDOWN_* 0..5 are the API's 1..6.
      t.reason = static_cast<v1::ShutdownReason>(info.shutdown_code + 1);
    }
    for (const char* key : kTrackedKeys) {
      auto value =
          xenstore.Read(absl::StrCat(xen::DomainPath(info.domid), "/", key));
      if (value.ok()) {
        t.keys[key] = *value;
      } else if (value.status().code() != absl::StatusCode::kNotFound) {
        return value.status();
      }
    }
  }
  return truth;
}

// How a model (the agent's or a watcher's) differs from the truth, one line
// per difference. A paused domain may be CREATED or PAUSED: the agent learns
// of pause and unpause only from sweeps, so a domain unpaused and paused
// again between two of them never ran as far as it can tell. One the
// toolstack never unpaused, born while this agent watched, must be CREATED.
std::vector<std::string> DiffTruth(const Truth& truth, const Model& model,
                                   const std::map<uint32_t, SimDomain>& sim,
                                   int epoch) {
  std::vector<std::string> out;
  for (const auto& [domid, d] : model) {
    if (!truth.contains(domid)) {
      out.push_back(absl::StrCat(
          "domid ", domid, " is not on the host: ", d.ShortDebugString()));
    }
  }
  for (const auto& [domid, t] : truth) {
    auto it = model.find(domid);
    if (it == model.end()) {
      out.push_back(
          absl::StrCat("domid ", domid, " (", t.uuid, ") is missing"));
      continue;
    }
    const v1::Domain& d = it->second;
    std::vector<std::string> wrong;
    if (d.uuid() != t.uuid) wrong.push_back(absl::StrCat("uuid ", t.uuid));
    if (d.flags().paused() != t.paused) {
      wrong.push_back(absl::StrCat("paused ", t.paused));
    }
    if (d.flags().shutdown() != t.shutdown) {
      wrong.push_back(absl::StrCat("shutdown ", t.shutdown));
    }
    if (d.flags().dying() != t.dying) {
      wrong.push_back(absl::StrCat("dying ", t.dying));
    }
    if (d.shutdown_reason() != t.reason) {
      wrong.push_back(
          absl::StrCat("shutdown_reason ", v1::ShutdownReason_Name(t.reason)));
    }
    std::set<v1::DomainState> states;
    if (t.dying) {
      states = {v1::DOMAIN_STATE_DYING};
    } else if (t.shutdown) {
      states = {v1::DOMAIN_STATE_SHUTDOWN};
    } else if (t.paused) {
      auto s = sim.find(domid);
      if (s != sim.end() && !s->second.started && s->second.epoch == epoch) {
        states = {v1::DOMAIN_STATE_CREATED};
      } else {
        states = {v1::DOMAIN_STATE_CREATED, v1::DOMAIN_STATE_PAUSED};
      }
    } else {
      states = {v1::DOMAIN_STATE_RUNNING};
    }
    if (!states.contains(d.state())) {
      std::vector<std::string> names;
      for (auto s : states) names.push_back(v1::DomainState_Name(s));
      wrong.push_back(absl::StrCat("state ", absl::StrJoin(names, "|")));
    }
    auto name = t.keys.find("name");
    const std::string want_name = name == t.keys.end() ? "" : name->second;
    if (d.name() != want_name) {
      wrong.push_back(absl::StrCat("name \"", want_name, "\""));
    }
    std::map<std::string, std::string> keys(d.xenstore().begin(),
                                            d.xenstore().end());
    if (keys != t.keys) {
      std::vector<std::string> kv;
      for (const auto& [k, v] : t.keys) kv.push_back(absl::StrCat(k, "=", v));
      wrong.push_back(absl::StrCat("xenstore {", absl::StrJoin(kv, ", "), "}"));
    }
    if (!wrong.empty()) {
      out.push_back(absl::StrCat("domid ", domid, " should have ",
                                 absl::StrJoin(wrong, ", "),
                                 "; has: ", d.ShortDebugString()));
    }
  }
  return out;
}

// Events that showed a domain (by uuid) under a name that is not its own:
// one line per wrong name.
std::vector<std::string> MisnamedEvents(const Storm& storm,
                                        const WatchClientState& s) {
  std::vector<std::string> out;
  for (const auto& [uuid, names] : s.names_by_uuid) {
    auto it = storm.names().find(uuid);
    if (it == storm.names().end()) continue;  // dom0
    const std::string own = it->second.substr(0, it->second.find(' '));
    for (const std::string& name : names) {
      if (name != own) {
        out.push_back(
            absl::StrCat(uuid, " (", it->second, ") was seen named ", name));
      }
    }
  }
  return out;
}

Model SnapshotModel(const store::Snapshot& snapshot) {
  Model out;
  snapshot.domains.ForEach([&](const store::DomainPtr& d) {
    out[d->domid()] = store::FreshDomain(snapshot, *d);
  });
  return out;
}

std::string Lines(const std::vector<std::string>& lines, size_t max = 12) {
  std::vector<std::string> shown(lines.begin(),
                                 lines.begin() + std::min(max, lines.size()));
  std::string out = absl::StrJoin(shown, "\n  ");
  if (lines.size() > max) {
    absl::StrAppend(&out, "\n  ... and ", lines.size() - max, " more");
  }
  return "\n  " + out;
}

// The agent under test: the model on the host, served over a unix socket.
struct Agent {
  std::unique_ptr<xen::Hypervisor> hypervisor;
  std::unique_ptr<store::DomainModel> model;
  std::unique_ptr<agent::AgentServer> server;
};

class ConvergenceTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    auto host = sim::SimHost::Start();
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    // The storm reuses domids at once (without libxl's 60 s rule): the
    // agent must tell a domain from the one before it on the same domid.
    auto toolstack = host_->NewToolstack(absl::ZeroDuration());
    ASSERT_TRUE(toolstack.ok()) << toolstack.status();
    toolstack_ = std::move(*toolstack);
    auto hypervisor = host_->OpenHypervisor();
    ASSERT_TRUE(hypervisor.ok()) << hypervisor.status();
    truth_hypervisor_ = std::move(*hypervisor);
    auto xenstore = host_->ConnectXenstore();
    ASSERT_TRUE(xenstore.ok()) << xenstore.status();
    truth_xenstore_ = std::move(*xenstore);
  }

  void TearDown() override {
    for (auto& w : watchers_) w->Stop();
    watchers_.clear();
    StopAgent();
    truth_xenstore_.reset();
    truth_hypervisor_.reset();
    toolstack_.reset();
    host_.reset();
  }

  // xenstore_timeout: the agent's bound on each xenstore request
  // (--xenstore-timeout); zero: none.
  void StartAgent(absl::Duration xenstore_timeout = absl::ZeroDuration()) {
    Agent a;
    auto hypervisor = host_->OpenHypervisor();
    ASSERT_TRUE(hypervisor.ok()) << hypervisor.status();
    a.hypervisor = std::move(*hypervisor);
    store::ModelOptions model_options;
    model_options.sweep_interval = absl::Milliseconds(100);
    model_options.watcher.reconnect_initial = absl::Milliseconds(10);
    model_options.watcher.reconnect_max = absl::Milliseconds(200);
    const std::string xenstored = host_->socket_path();
    a.model = std::make_unique<store::DomainModel>(
        a.hypervisor.get(),
        [xenstored, xenstore_timeout] {
          return xen::OpenLibxenstoreClient(
              {xenstored, nullptr, xenstore_timeout});
        },
        model_options);
    ASSERT_OK(a.model->Start());
    agent::ServerOptions options;
    options.listeners.unix_socket = socket_;
    // A small queue per stream, so that a slow reader overflows it.
    options.domains.watch.queue_capacity = 8;
    auto server = agent::AgentServer::Start(options, {&a.model->store()});
    ASSERT_TRUE(server.ok()) << server.status();
    a.server = std::move(*server);
    agent_ = std::move(a);
  }

  void StopAgent() {
    if (agent_.server) agent_.server->Shutdown(absl::Seconds(1));
    if (agent_.model) agent_.model->Stop();
    agent_.server.reset();
    agent_.model.reset();
    agent_.hypervisor.reset();
  }

  store::DomainStore& store() { return agent_.model->store(); }

  WatchClient* AddWatcher(const std::string& name,
                          WatchClientOptions options = {}) {
    options.name = name;
    options.target = "unix:" + socket_;
    watchers_.push_back(std::make_unique<WatchClient>(options));
    watchers_.back()->Start();
    return watchers_.back().get();
  }

  void StopWatcher(WatchClient* watcher) {
    watcher->Stop();
    for (auto it = watchers_.begin(); it != watchers_.end(); ++it) {
      if (it->get() == watcher) {
        watchers_.erase(it);
        return;
      }
    }
  }

  // True once the agent's store is past `revision` (bounded polling: the
  // store has no blocking wait, and sweeps run every 100 ms).
  bool WaitForStorePast(uint64_t revision) {
    const absl::Time deadline = absl::Now() + absl::Seconds(3);
    while (store().snapshot()->revision <= revision) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  // True once pred holds for the agent's xenstore watcher (bounded polling:
  // the watcher has no blocking wait on its state).
  bool WaitForWatcher(
      const std::function<bool(const store::XenstoreWatcher&)>& pred) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (!pred(agent_.model->watcher())) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  std::vector<uint32_t> ModelDomids() {
    std::vector<uint32_t> out;
    store().snapshot()->domains.ForEach(
        [&](const store::DomainPtr& d) { out.push_back(d->domid()); });
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<uint32_t> HypervisorDomids() {
    std::vector<xen::DomainInfo> infos;
    EXPECT_OK(truth_hypervisor_->GetAllDomains(&infos));
    std::vector<uint32_t> out;
    for (const auto& info : infos) out.push_back(info.domid);
    return out;
  }
  // True once the agent holds exactly the domids the hypervisor does
  // (bounded polling: sweeps run every 100 ms).
  bool WaitForModelDomids() {
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    while (ModelDomids() != HypervisorDomids()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  // Runs `ops` operations of the storm; actions[i] run before operation i,
  // the leftovers after the last.
  void RunStorm(Storm& storm, int ops,
                std::map<int, std::vector<std::function<void()>>> actions) {
    for (int i = 0; i < ops; ++i) {
      for (auto& action : actions[i]) action();
      actions.erase(i);
      const absl::Status s = storm.Step();
      ASSERT_TRUE(s.ok()) << s << "\nlast operations: " << storm.Tail(10);
    }
    for (auto& [i, list] : actions) {
      for (auto& action : list) action();
    }
  }

  // Once the storm is over: waits (bounded) until the agent's snapshot is
  // the ground truth, then until every watcher has caught up with that
  // snapshot's revision, and checks each watcher's model against both.
  void ExpectConverged(const Storm& storm,
                       const std::vector<WatchClient*>& watchers) {
    // No path of the toolstack simulator or of the agent ever asked Xen to
    // shut dom0 down (on Xen that halts the host).
    EXPECT_EQ(host_->state().host_halts().count, 0u)
        << "dom0 was shut down (reason "
        << host_->state().host_halts().last_reason << ")";
    auto truth = ReadTruth(*truth_hypervisor_, *truth_xenstore_);
    ASSERT_TRUE(truth.ok()) << truth.status();
    std::vector<std::string> diff;
    std::shared_ptr<const store::Snapshot> snapshot;
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    while (true) {
      snapshot = store().snapshot();
      diff = DiffTruth(*truth, SnapshotModel(*snapshot), storm.alive(),
                       storm.epoch);
      if (diff.empty() || absl::Now() > deadline) break;
      // Bounded polling for a condition: sweeps run every 100 ms.
      absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_TRUE(diff.empty())
        << "the agent's model never matched the host:" << Lines(diff)
        << "\nlast operations: " << storm.Tail(12);
    const Model agent_model = SnapshotModel(*snapshot);
    const std::string instance = store().instance_id();
    for (WatchClient* w : watchers) {
      SCOPED_TRACE(w->name());
      EXPECT_TRUE(w->WaitForRevision(instance, snapshot->revision))
          << w->name() << " never reached revision " << snapshot->revision
          << " of " << instance << "; at " << w->state().instance_id << "/"
          << w->state().revision;
      const WatchClientState s = w->state();
      EXPECT_TRUE(s.violations.empty()) << Lines(s.violations);
      EXPECT_EQ(s.unexplained_gaps, 0u) << "events lost";
      const std::vector<std::string> against_agent =
          DiffModels(agent_model, s.domains);
      EXPECT_TRUE(against_agent.empty())
          << w->name() << " differs from the agent's snapshot at revision "
          << snapshot->revision << ":" << Lines(against_agent);
      // No event ever showed a domain under another domain's name (the keys
      // of a new domain on a reused domid, read before the sweep that finds
      // it, once renamed the domain it replaced).
      const std::vector<std::string> misnamed = MisnamedEvents(storm, s);
      EXPECT_TRUE(misnamed.empty()) << Lines(misnamed);
      const std::vector<std::string> against_truth =
          DiffTruth(*truth, s.domains, storm.alive(), storm.epoch);
      EXPECT_TRUE(against_truth.empty())
          << w->name() << " differs from the host:" << Lines(against_truth);
    }
  }

  testing::TempDir dir_;
  const std::string socket_ = dir_.File("xenlet.sock");
  std::unique_ptr<sim::SimHost> host_;
  std::unique_ptr<sim::Toolstack> toolstack_;
  std::unique_ptr<xen::Hypervisor> truth_hypervisor_;
  std::unique_ptr<xen::XenstoreClient> truth_xenstore_;
  Agent agent_;
  std::vector<std::unique_ptr<WatchClient>> watchers_;
};

TEST_P(ConvergenceTest, EveryWatcherConvergesOnTheHost) {
  const uint32_t seed = GetParam();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  const absl::Time start = absl::Now();
  std::mt19937 schedule_rng(seed ^ 0x5eed);
  Storm storm(seed, toolstack_.get());
  // A few domains before the agent starts: its initial state.
  storm.epoch = 0;
  for (int i = 0; i < 5; ++i) ASSERT_OK(storm.Step());
  storm.epoch = 1;
  ASSERT_NO_FATAL_FAILURE(StartAgent());

  WatchClient* plain = AddWatcher("plain");
  WatchClient* resumer1 = AddWatcher("resumer-1");
  WatchClient* resumer2 = AddWatcher("resumer-2");
  WatchClientOptions slow_options;
  slow_options.hold_reads = true;
  slow_options.window_bytes = 4096;
  WatchClient* slow = AddWatcher("slow", slow_options);
  WatchClient* restarted = AddWatcher("restart");
  for (WatchClient* w : {plain, resumer1, resumer2, slow, restarted}) {
    ASSERT_TRUE(w->WaitUntil([](const WatchClientState& s) { return s.live; }))
        << w->name() << " never got its SYNCED";
  }

  // Phase 1: the storm, with the resumers disconnecting and resuming.
  const int kOps = 150;
  std::map<int, std::vector<std::function<void()>>> actions;
  for (WatchClient* w : {resumer1, resumer2}) {
    int at = 3;
    for (int cycle = 0; cycle < 3; ++cycle) {
      at += 5 + schedule_rng() % 25;
      const int back = at + 1 + schedule_rng() % 8;  // ops while disconnected
      actions[at].push_back([w] { w->Disconnect(); });
      actions[back].push_back([this, w] {
        // The agent reflects the toolstack's operations asynchronously: wait
        // until it has an event the resumer missed, so that the resume has
        // something to replay however slow the machine is.
        // Bounded: the operations meanwhile may have changed nothing the
        // agent shows (a second pause), and then there is nothing to wait
        // for.
        WaitForStorePast(w->state().revision);
        w->Reconnect();
      });
      at = back;
    }
  }
  ASSERT_NO_FATAL_FAILURE(RunStorm(storm, kOps, std::move(actions)));
  slow->ReleaseReads();
  ASSERT_NO_FATAL_FAILURE(
      ExpectConverged(storm, {plain, resumer1, resumer2, slow, restarted}));

  // Every reason, domid reuse, every kind of operation happened.
  EXPECT_GE(storm.shutdowns(), 6) << storm.Summary();
  EXPECT_GT(storm.count(kCreateReuse) + storm.count(kRecreate), 0)
      << storm.Summary();
  EXPECT_GT(storm.count(kPause), 0) << storm.Summary();
  EXPECT_GT(storm.count(kUnpause), 0) << storm.Summary();
  EXPECT_GT(storm.count(kDestroy), 0) << storm.Summary();
  // The resumers resumed (and got events replayed), without a resync.
  uint64_t replayed = 0;
  for (WatchClient* w : {resumer1, resumer2}) {
    const WatchClientState s = w->state();
    EXPECT_EQ(s.resumes, 3) << w->name();
    EXPECT_TRUE(s.resyncs.empty()) << w->name();
    replayed += s.replayed;
  }
  EXPECT_GT(replayed, 0u);
  // The slow reader was coalesced and never told to resync.
  const WatchClientState slow_state = slow->state();
  EXPECT_GT(slow_state.coalesced, 0u)
      << "the slow reader's queue never overflowed (" << slow_state.events
      << " events)";
  EXPECT_TRUE(slow_state.resyncs.empty());
  EXPECT_EQ(slow_state.streams, 1);
  EXPECT_EQ(plain->state().streams, 1);
  EXPECT_TRUE(plain->state().resyncs.empty());
  for (WatchClient* w : {plain, resumer1, resumer2, slow, restarted}) {
    const WatchClientState s = w->state();
    std::printf(
        "seed %u, %s: %llu events (%llu coalesced, %llu replayed), %d "
        "streams, at revision %llu\n",
        seed, w->name().c_str(), static_cast<unsigned long long>(s.events),
        static_cast<unsigned long long>(s.coalesced),
        static_cast<unsigned long long>(s.replayed), s.streams,
        static_cast<unsigned long long>(s.revision));
  }

  // Phase 2: the agent restarts (a new instance) while domains keep
  // changing; the "restart" watcher resumes with the old instance's point.
  const std::string old_instance = store().instance_id();
  for (WatchClient* w : {plain, resumer1, resumer2, slow}) StopWatcher(w);
  restarted->HoldReconnect();
  const int ends = restarted->state().stream_ends;
  StopAgent();
  ASSERT_TRUE(restarted->WaitUntil(
      [&](const WatchClientState& s) { return s.stream_ends > ends; }));
  EXPECT_EQ(restarted->state().last_end_code, grpc::StatusCode::UNAVAILABLE)
      << restarted->state().last_end_message;
  for (int i = 0; i < 6; ++i) ASSERT_OK(storm.Step());
  storm.epoch = 2;
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NE(store().instance_id(), old_instance);
  restarted->Reconnect();
  WatchClient* fresh = AddWatcher("plain-2");
  for (WatchClient* w : {restarted, fresh}) {
    ASSERT_TRUE(w->WaitUntil([&](const WatchClientState& s) {
      return s.live && s.instance_id == store().instance_id();
    })) << w->name()
        << " never synced with the new agent";
  }
  const WatchClientState resynced = restarted->state();
  ASSERT_EQ(resynced.resyncs.size(), 1u);
  EXPECT_EQ(resynced.resyncs[0], v1::RESYNC_REASON_INSTANCE_CHANGED);
  ASSERT_NO_FATAL_FAILURE(RunStorm(storm, 40, {}));
  ASSERT_NO_FATAL_FAILURE(ExpectConverged(storm, {restarted, fresh}));
  EXPECT_EQ(restarted->state().resyncs.size(), 1u);

  const absl::Duration took = absl::Now() - start;
  std::printf(
      "seed %u: %s; %zu domains at the end; slow reader: %llu events,"
      " %llu coalesced; took %s\n",
      seed, storm.Summary().c_str(), storm.alive().size() + 1,
      static_cast<unsigned long long>(slow_state.events),
      static_cast<unsigned long long>(slow_state.coalesced),
      absl::FormatDuration(took).c_str());
}

// xenstored dies and comes back (an empty store, which the toolstack
// rebuilds) three times in the middle of a storm, and once stops answering
// altogether (SIGSTOP) until the agent has noticed. The agent reconnects,
// resyncs, and its instance never changes: every watcher converges on the
// host without being told to resync, without a lost or duplicated event,
// and without a DELETED for a domain that was not destroyed.
TEST_P(ConvergenceTest, EveryWatcherConvergesThroughXenstoredFaults) {
  const uint32_t seed = GetParam();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937 schedule_rng(seed ^ 0xfa17);
  Storm storm(seed, toolstack_.get());
  storm.epoch = 0;
  for (int i = 0; i < 5; ++i) ASSERT_OK(storm.Step());
  storm.epoch = 1;
  constexpr absl::Duration kBound = absl::Seconds(1);
  ASSERT_NO_FATAL_FAILURE(StartAgent(kBound));
  const std::string instance = store().instance_id();
  WatchClient* plain = AddWatcher("plain");
  WatchClient* resumer = AddWatcher("resumer");
  for (WatchClient* w : {plain, resumer}) {
    ASSERT_TRUE(w->WaitUntil([](const WatchClientState& s) { return s.live; }))
        << w->name() << " never got its SYNCED";
  }

  // A restart: the toolstack and the test's own connection reconnect, and
  // the toolstack writes every domain's keys again.
  int restarts = 0;
  auto restart = [&] {
    const uint64_t reconnects = agent_.model->watcher().stats().reconnects;
    ASSERT_OK(host_->RestartXenstored());
    ++restarts;
    ASSERT_OK(toolstack_->ReconnectXenstore());
    std::map<std::string, std::string> names;
    for (const auto& [uuid, named] : storm.names()) {
      names[uuid] = named.substr(0, named.find(' '));
    }
    ASSERT_OK(toolstack_->RestoreDomains(names));
    auto xenstore = host_->ConnectXenstore();
    ASSERT_TRUE(xenstore.ok()) << xenstore.status();
    truth_xenstore_ = std::move(*xenstore);
    ASSERT_TRUE(WaitForWatcher([&](const store::XenstoreWatcher& w) {
      return w.stats().reconnects > reconnects;
    })) << "the agent never reconnected after restart "
        << restarts;
  };
  // A xenstored that stops answering: the agent's bound finds it, and the
  // hypervisor still answers for every domain meanwhile.
  bool stopped_seen = false;
  auto stop_and_continue = [&] {
    // The agent caught up first (connected after any restart, holding what
    // the hypervisor holds), so that what changes during the stop is the
    // stop's doing.
    ASSERT_TRUE(WaitForWatcher([](const store::XenstoreWatcher& w) {
      return w.state() == store::XenstoreState::kConnected;
    }));
    ASSERT_TRUE(WaitForModelDomids());
    const pid_t pid = host_->xenstored()->pid();
    const uint64_t reconnects = agent_.model->watcher().stats().reconnects;
    ASSERT_EQ(kill(pid, SIGSTOP), 0);
    const absl::Time stopped = absl::Now();
    const bool noticed = WaitForWatcher([&](const store::XenstoreWatcher& w) {
      return w.stats().reconnects > reconnects;
    });
    const absl::Duration took = absl::Now() - stopped;
    // Sweeps went on meanwhile (every 100 ms): nothing was dropped.
    const std::vector<uint32_t> held = ModelDomids();
    ASSERT_EQ(kill(pid, SIGCONT), 0);
    ASSERT_TRUE(noticed) << "a stopped xenstored was never noticed";
    EXPECT_EQ(held, HypervisorDomids())
        << "the model changed while xenstored was stopped";
    // Within the bound and the keep-alive's third of it: far less than
    // the wait (without a bound it is never noticed).
    EXPECT_LT(took, 10 * kBound) << "noticed after " << took;
    stopped_seen = true;
    ASSERT_TRUE(WaitForWatcher([](const store::XenstoreWatcher& w) {
      return w.state() == store::XenstoreState::kConnected;
    })) << "the agent never reconnected after SIGCONT";
  };

  constexpr int kOps = 120;
  std::map<int, std::vector<std::function<void()>>> actions;
  std::set<int> used;
  auto pick = [&] {
    int at;
    do {
      at = 10 + static_cast<int>(schedule_rng() % (kOps - 20));
    } while (!used.insert(at).second);
    return at;
  };
  std::vector<int> restarts_at;
  for (int i = 0; i < 3; ++i) {
    restarts_at.push_back(pick());
    actions[restarts_at.back()].push_back(restart);
  }
  actions[pick()].push_back(stop_and_continue);
  // The resumer is away across the first restart.
  const int away = restarts_at.front() - 2;
  actions[away].push_back([resumer] { resumer->Disconnect(); });
  actions[away + 5].push_back([this, resumer] {
    WaitForStorePast(resumer->state().revision);
    resumer->Reconnect();
  });
  ASSERT_NO_FATAL_FAILURE(RunStorm(storm, kOps, std::move(actions)));
  // An ASSERT in an action ends the action only.
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(restarts, 3);
  EXPECT_TRUE(stopped_seen);
  ASSERT_TRUE(WaitForWatcher([](const store::XenstoreWatcher& w) {
    return w.state() == store::XenstoreState::kConnected;
  }));
  ASSERT_NO_FATAL_FAILURE(ExpectConverged(storm, {plain, resumer}));

  EXPECT_EQ(store().instance_id(), instance);
  EXPECT_GE(agent_.model->watcher().stats().reconnects, 4u);
  for (WatchClient* w : {plain, resumer}) {
    const WatchClientState s = w->state();
    EXPECT_TRUE(s.resyncs.empty()) << w->name() << " was told to resync";
    // A DELETED only for a domain the storm destroyed, and only once.
    for (const auto& [uuid, deletions] : s.deletions_by_uuid) {
      EXPECT_EQ(deletions, 1) << w->name() << ": " << uuid;
      for (const auto& [domid, d] : storm.alive()) {
        EXPECT_NE(d.uuid, uuid) << w->name() << " was told domid " << domid
                                << " was deleted, and it never was";
      }
    }
  }
  EXPECT_EQ(plain->state().streams, 1);
  EXPECT_EQ(resumer->state().resumes, 1);
  std::printf("seed %u, xenstored faults: %s; %llu reconnects\n", seed,
              storm.Summary().c_str(),
              static_cast<unsigned long long>(
                  agent_.model->watcher().stats().reconnects));
}

// Seeds 1..5, or those of $XENLET_CONVERGENCE_SEEDS (comma-separated), to
// replay a failure or explore more:
//   bazel test //tests/integration:convergence_test
//     --test_env=XENLET_CONVERGENCE_SEEDS=17,18,19   (one command line)
std::vector<uint32_t> Seeds() {
  std::vector<uint32_t> seeds;
  if (const char* env = std::getenv("XENLET_CONVERGENCE_SEEDS")) {
    for (absl::string_view part : absl::StrSplit(env, ',', absl::SkipEmpty())) {
      uint32_t seed;
      if (absl::SimpleAtoi(part, &seed)) seeds.push_back(seed);
    }
  }
  if (seeds.empty()) seeds = {1, 2, 3, 4, 5};
  return seeds;
}

INSTANTIATE_TEST_SUITE_P(Seeds, ConvergenceTest, ::testing::ValuesIn(Seeds()),
                         [](const ::testing::TestParamInfo<uint32_t>& info) {
                           return absl::StrCat("seed_", info.param);
                         });

}  // namespace
}  // namespace xenlet
