// ControlService on a simulated host: batches mixing good, missing,
// duplicate, dom0 and reused-domid selectors; pause and unpause with their
// "already" answers; shutdown with each reason answered by the simulated
// guests; the cooperative-then-forced path against guests that ignore
// control/shutdown; destroy as libxl does. Nothing ever shuts down or
// destroys dom0 (the simulated host records a halt if anything does).
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "agent/server.h"
#include "gtest/gtest.h"
#include "metrics/control_metrics.h"
#include "prometheus/registry.h"
#include "sim/sim_host.h"
#include "store/domain_model.h"
#include "tests/testing/status_macros.h"
#include "tests/testing/temp_dir.h"
#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/exit_codes.h"
#include "xen/xenstore.h"
#include "xenlet/v1/control_service.grpc.pb.h"

namespace xenlet {
namespace {

class ControlTest : public ::testing::Test {
 protected:
  // control_reaches_xenstore=false: ControlService's xenstore connection
  // fails (the model's still works), as with xenstored's quota reached.
  void Start(bool simulated_guests, bool control_reaches_xenstore = true) {
    sim::SimHostOptions options;
    options.simulated_guests = simulated_guests;
    auto host = sim::SimHost::Start(options);
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    auto toolstack = host_->NewToolstack(absl::ZeroDuration());
    ASSERT_TRUE(toolstack.ok()) << toolstack.status();
    toolstack_ = std::move(*toolstack);
    for (auto* hv : {&model_hypervisor_, &control_hypervisor_, &truth_}) {
      auto opened = host_->OpenHypervisor();
      ASSERT_TRUE(opened.ok()) << opened.status();
      *hv = std::move(*opened);
    }
    sim::SimHost* h = host_.get();
    store::ModelOptions model_options;
    model_options.sweep_interval = absl::Milliseconds(100);
    model_ = std::make_unique<store::DomainModel>(
        model_hypervisor_.get(), [h] { return h->ConnectXenstore(); },
        model_options);
    ASSERT_OK(model_->Start());
    agent::ServerOptions server_options;
    server_options.listeners.unix_socket = dir_.File("xenlet.sock");
    server_options.control.enabled = true;
    agent::Backends backends;
    backends.store = &model_->store();
    backends.model = model_.get();
    backends.xenstore = [h, control_reaches_xenstore]()
        -> absl::StatusOr<std::unique_ptr<xen::XenstoreClient>> {
      if (!control_reaches_xenstore) {
        return absl::UnavailableError("xenstored refused the connection");
      }
      return h->ConnectXenstore();
    };
    backends.control_hypervisor = control_hypervisor_.get();
    backends.control_metrics = &control_metrics_;
    auto server = agent::AgentServer::Start(server_options, backends);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = v1::ControlService::NewStub(grpc::CreateChannel(
        "unix:" + server_->unix_socket(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    // Whatever a test did, no request made xenlet shut dom0 down.
    if (host_) EXPECT_EQ(host_->state().host_halts().count, 0u);
    stub_.reset();
    if (server_) server_->Shutdown(absl::Seconds(1));
    server_.reset();
    if (model_) model_->Stop();
    model_.reset();
  }

  // A running domain the model holds, with its name (keys come through
  // xenstore watches, after the sweep).
  sim::CreatedDomain Create(const std::string& name,
                            std::optional<xen::Domid> domid = std::nullopt) {
    sim::DomainSpec spec;
    spec.name = name;
    spec.domid = domid;
    auto created = toolstack_->CreateDomain(spec);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return {};
    Sync();
    EXPECT_TRUE(WaitForModel([&](const store::Snapshot& s) {
      auto d = s.domains.Get(created->domid);
      return d && d->name() == name && d->uuid() == created->uuid &&
             !d->flags().paused();
    })) << name
        << " never reached the model";
    return *created;
  }

  // Waits (bounded) on the store's commits until pred holds.
  bool WaitForModel(const std::function<bool(const store::Snapshot&)>& pred) {
    store::WatchBegin watch = model_->store().Watch({}, {});
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    bool held = false;
    while (!(held = pred(*model_->store().snapshot())) &&
           absl::Now() < deadline) {
      while (watch.subscription->Pop()) {
      }
      auto woken = std::make_shared<absl::Notification>();
      if (watch.subscription->WaitForEvents([woken] { woken->Notify(); })) {
        woken->WaitForNotificationWithDeadline(deadline);
      }
    }
    model_->store().Unwatch(watch.subscription);
    return held;
  }

  // The model catches up with the hypervisor (and, through the sweep it
  // waits for, with the keys read so far).
  void Sync() {
    ASSERT_OK(model_->sweeper().SweepNow(store::SweepCause::kResync));
  }

  xen::DomainInfo Info(xen::Domid domid) {
    auto info = truth_->GetDomainInfo(domid);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? *info : xen::DomainInfo{};
  }

  template <typename Request>
  v1::ControlResponse Call(grpc::Status (v1::ControlService::Stub::*method)(
                               grpc::ClientContext*, const Request&,
                               v1::ControlResponse*),
                           const Request& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    v1::ControlResponse response;
    grpc::Status status = ((*stub_).*method)(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.results_size(),
              [&] { return static_cast<int>(request.selectors_size()); }());
    return response;
  }

  // xenlet_control_actions_total{method, outcome, forced="false"}.
  double Counted(const std::string& method, const std::string& outcome) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != "xenlet_control_actions_total") continue;
      for (const auto& metric : family.metric) {
        std::map<std::string, std::string> labels;
        for (const auto& l : metric.label) labels[l.name] = l.value;
        if (labels["method"] == method && labels["outcome"] == outcome &&
            labels["forced"] == "false") {
          return metric.counter.value;
        }
      }
    }
    return 0;
  }

  prometheus::Registry registry_;
  metrics::ControlMetrics control_metrics_{registry_};
  testing::TempDir dir_;
  std::unique_ptr<sim::SimHost> host_;
  std::unique_ptr<sim::Toolstack> toolstack_;
  std::unique_ptr<xen::Hypervisor> model_hypervisor_, control_hypervisor_,
      truth_;
  std::unique_ptr<store::DomainModel> model_;
  std::unique_ptr<agent::AgentServer> server_;
  std::unique_ptr<v1::ControlService::Stub> stub_;
};

v1::DomainSelector ByDomid(uint32_t domid, std::string expect_uuid = "") {
  v1::DomainSelector s;
  s.set_domid(domid);
  s.set_expect_uuid(expect_uuid);
  return s;
}
v1::DomainSelector ByUuid(const std::string& uuid) {
  v1::DomainSelector s;
  s.set_uuid(uuid);
  return s;
}
v1::DomainSelector ByName(const std::string& name) {
  v1::DomainSelector s;
  s.set_name(name);
  return s;
}

TEST_F(ControlTest, PauseBatchGetsOneResultPerSelector) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  const sim::CreatedDomain a = Create("a");
  const sim::CreatedDomain b = Create("b");
  v1::PauseDomainsRequest request;
  *request.add_selectors() = ByDomid(a.domid);
  *request.add_selectors() = ByUuid(b.uuid);
  *request.add_selectors() = ByDomid(999);
  *request.add_selectors() = ByDomid(0);
  *request.add_selectors() = ByName("a");  // a again
  *request.add_selectors() = ByName("nope");
  v1::ControlResponse r =
      Call(&v1::ControlService::Stub::PauseDomains, request);
  ASSERT_EQ(r.results_size(), 6);
  const v1::ControlOutcome want[] = {
      v1::CONTROL_OUTCOME_DONE,      v1::CONTROL_OUTCOME_DONE,
      v1::CONTROL_OUTCOME_NOT_FOUND, v1::CONTROL_OUTCOME_REFUSED,
      v1::CONTROL_OUTCOME_REFUSED,   v1::CONTROL_OUTCOME_NOT_FOUND};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(r.results(i).outcome(), want[i])
        << i << ": " << r.results(i).status().message();
  }
  EXPECT_EQ(r.results(1).domid(), b.domid);
  EXPECT_EQ(r.results(2).status().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(r.results(3).status().message().find("dom0"), std::string::npos);
  EXPECT_NE(r.results(4).status().message().find("selectors[0]"),
            std::string::npos)
      << r.results(4).status().message();
  EXPECT_TRUE(Info(a.domid).paused);
  EXPECT_TRUE(Info(b.domid).paused);
  EXPECT_FALSE(Info(0).paused);
  // Counted item by item.
  EXPECT_EQ(Counted("PauseDomains", "done"), 2);
  EXPECT_EQ(Counted("PauseDomains", "not_found"), 2);
  EXPECT_EQ(Counted("PauseDomains", "refused"), 2);

  // Paused once, whatever the retry: the second time is ALREADY.
  Sync();
  v1::PauseDomainsRequest again;
  *again.add_selectors() = ByDomid(a.domid);
  EXPECT_EQ(
      Call(&v1::ControlService::Stub::PauseDomains, again).results(0).outcome(),
      v1::CONTROL_OUTCOME_ALREADY);
  uint32_t pauses = 0;
  host_->state().Read(
      [&](sim::DomainTable& t) { pauses = t.Domain(a.domid).pause_count; });
  EXPECT_EQ(pauses, 1u);
  v1::UnpauseDomainsRequest unpause;
  *unpause.add_selectors() = ByDomid(a.domid);
  EXPECT_EQ(Call(&v1::ControlService::Stub::UnpauseDomains, unpause)
                .results(0)
                .outcome(),
            v1::CONTROL_OUTCOME_DONE);
  EXPECT_FALSE(Info(a.domid).paused);
  Sync();
  EXPECT_EQ(Call(&v1::ControlService::Stub::UnpauseDomains, unpause)
                .results(0)
                .outcome(),
            v1::CONTROL_OUTCOME_ALREADY);
}

// A retry with the same request_id gets the first answer and acts on
// nothing: the domain is paused once, though the second call would have
// been ALREADY had it acted.
TEST_F(ControlTest, ARetriedRequestIdActsOnce) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  const sim::CreatedDomain d = Create("once");
  v1::PauseDomainsRequest request;
  *request.add_selectors() = ByDomid(d.domid);
  request.set_request_id("orchestrator-42");
  v1::ControlResponse first =
      Call(&v1::ControlService::Stub::PauseDomains, request);
  EXPECT_EQ(first.results(0).outcome(), v1::CONTROL_OUTCOME_DONE);
  Sync();
  v1::ControlResponse retry =
      Call(&v1::ControlService::Stub::PauseDomains, request);
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  uint32_t pauses = 0;
  host_->state().Read(
      [&](sim::DomainTable& t) { pauses = t.Domain(d.domid).pause_count; });
  EXPECT_EQ(pauses, 1u);
  // The same id for another method is a mistake, said as such.
  v1::UnpauseDomainsRequest other;
  *other.add_selectors() = ByDomid(d.domid);
  other.set_request_id("orchestrator-42");
  grpc::ClientContext context;
  v1::ControlResponse response;
  grpc::Status status = stub_->UnpauseDomains(&context, other, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("request_id"), std::string::npos);
  EXPECT_TRUE(Info(d.domid).paused);
}

// No request of any kind, forced or not, by any selector, acts on dom0:
// the simulated host would record a remote shutdown of dom0 as a host halt
// (checked in TearDown), and dom0 stays unpaused and alive.
TEST_F(ControlTest, NothingEverActsOnDom0) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  const std::string dom0_uuid = "00000000-0000-0000-0000-000000000000";
  std::vector<v1::DomainSelector> dom0 = {ByDomid(0), ByUuid(dom0_uuid),
                                          ByDomid(0, dom0_uuid)};
  // dom0's name, if the host gives it one.
  auto xs = host_->ConnectXenstore();
  ASSERT_TRUE(xs.ok());
  if (auto name = (*xs)->Read("/local/domain/0/name"); name.ok()) {
    dom0.push_back(ByName(*name));
    ASSERT_TRUE(WaitForModel([&](const store::Snapshot& s) {
      auto d = s.domains.Get(0);
      return d && d->name() == *name;
    })) << "dom0's name never reached the model";
  }
  auto expect_refused = [](const v1::ControlResponse& r) {
    for (const auto& result : r.results()) {
      EXPECT_EQ(result.outcome(), v1::CONTROL_OUTCOME_REFUSED)
          << result.DebugString();
    }
  };
  v1::PauseDomainsRequest pause;
  v1::UnpauseDomainsRequest unpause;
  v1::DestroyDomainsRequest destroy;
  for (const v1::DomainSelector& s : dom0) {
    *pause.add_selectors() = s;
    *unpause.add_selectors() = s;
    *destroy.add_selectors() = s;
  }
  expect_refused(Call(&v1::ControlService::Stub::PauseDomains, pause));
  expect_refused(Call(&v1::ControlService::Stub::UnpauseDomains, unpause));
  expect_refused(Call(&v1::ControlService::Stub::DestroyDomains, destroy));
  for (v1::ShutdownMode mode :
       {v1::SHUTDOWN_MODE_POWEROFF, v1::SHUTDOWN_MODE_REBOOT,
        v1::SHUTDOWN_MODE_SUSPEND}) {
    for (bool force : {false, true}) {
      v1::ShutdownDomainsRequest shutdown;
      for (const v1::DomainSelector& s : dom0) *shutdown.add_selectors() = s;
      shutdown.set_mode(mode);
      shutdown.set_force(force);
      shutdown.mutable_timeout()->set_seconds(force ? 0 : 1);
      expect_refused(
          Call(&v1::ControlService::Stub::ShutdownDomains, shutdown));
    }
  }
  const xen::DomainInfo info = Info(0);
  EXPECT_FALSE(info.paused || info.shutdown || info.dying);
  EXPECT_FALSE((*xs)->Read("/local/domain/0/control/shutdown").ok() &&
               !(*xs)->Read("/local/domain/0/control/shutdown")->empty())
      << "a shutdown request was written for dom0";
}

// Every item of a control call is one audit line naming the caller, the
// method, the selector, the domain and the outcome. (The agent logs to
// stderr; the test points its fd 2 at a file for the call.)
TEST_F(ControlTest, EachItemIsAnAuditLineNamingTheCaller) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  const sim::CreatedDomain d = Create("audited");
  const std::string path = dir_.File("stderr.log");
  const int saved = dup(2);
  const int file = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(file, 0);
  ASSERT_EQ(dup2(file, 2), 2);
  v1::PauseDomainsRequest request;
  *request.add_selectors() = ByName("audited");
  *request.add_selectors() = ByDomid(999);
  request.set_request_id("audit-1");
  Call(&v1::ControlService::Stub::PauseDomains, request);
  dup2(saved, 2);
  close(saved);
  close(file);
  std::ifstream in(path);
  std::vector<std::string> audit;
  for (std::string line; std::getline(in, line);) {
    if (line.find(" audit ") != std::string::npos) audit.push_back(line);
  }
  ASSERT_EQ(audit.size(), 2u);
  for (const char* want :
       {"caller=\"unix:uid=", "method=PauseDomains", "request_id=audit-1",
        "selector=name:audited", "outcome=done"}) {
    EXPECT_NE(audit[0].find(want), std::string::npos)
        << want << ": " << audit[0];
  }
  EXPECT_NE(audit[0].find(absl::StrCat("domid=", d.domid)), std::string::npos)
      << audit[0];
  EXPECT_NE(audit[1].find("outcome=not_found"), std::string::npos) << audit[1];
}

// The events an action causes carry who asked; a change another toolstack
// makes carries nobody.
TEST_F(ControlTest, EventsSayWhoAskedForThem) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  const sim::CreatedDomain d = Create("watched");
  store::WatchBegin watch = model_->store().Watch({}, {});
  v1::PauseDomainsRequest pause;
  *pause.add_selectors() = ByDomid(d.domid);
  Call(&v1::ControlService::Stub::PauseDomains, pause);
  Sync();
  ASSERT_OK(toolstack_->UnpauseDomain(d.domid));  // another toolstack
  Sync();
  v1::DestroyDomainsRequest destroy;
  *destroy.add_selectors() = ByDomid(d.domid);
  Call(&v1::ControlService::Stub::DestroyDomains, destroy);
  Sync();
  std::map<v1::Transition, std::string> initiator;
  while (auto e = watch.subscription->Pop()) {
    if (e->event && e->event->domid == d.domid) {
      initiator[e->event->transition] = e->event->initiator;
    }
  }
  model_->store().Unwatch(watch.subscription);
  ASSERT_TRUE(initiator.contains(v1::TRANSITION_PAUSED));
  ASSERT_TRUE(initiator.contains(v1::TRANSITION_UNPAUSED));
  EXPECT_NE(initiator[v1::TRANSITION_PAUSED], "");
  EXPECT_EQ(initiator[v1::TRANSITION_UNPAUSED], "");
  // The destroy's DYING and DESTROYED (whichever the sweeps saw).
  bool destroy_seen = false;
  for (v1::Transition t : {v1::TRANSITION_DYING, v1::TRANSITION_DESTROYED}) {
    if (initiator.contains(t)) {
      destroy_seen = true;
      EXPECT_EQ(initiator[t], initiator[v1::TRANSITION_PAUSED]);
    }
  }
  EXPECT_TRUE(destroy_seen);
  EXPECT_EQ(model_->initiators().pending(), 0u)
      << "an expectation outlived its events";
}

// Xen's state decides what is already so, not the model's (which hears of
// a pause only at its next sweep): a pause then an unpause at once both act.
TEST_F(ControlTest, APauseThenAnUnpauseAtOnceBothAct) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  const sim::CreatedDomain d = Create("quick");
  for (int i = 0; i < 5; ++i) {
    v1::PauseDomainsRequest pause;
    *pause.add_selectors() = ByDomid(d.domid);
    EXPECT_EQ(Call(&v1::ControlService::Stub::PauseDomains, pause)
                  .results(0)
                  .outcome(),
              v1::CONTROL_OUTCOME_DONE);
    EXPECT_TRUE(Info(d.domid).paused);
    v1::UnpauseDomainsRequest unpause;
    *unpause.add_selectors() = ByDomid(d.domid);
    EXPECT_EQ(Call(&v1::ControlService::Stub::UnpauseDomains, unpause)
                  .results(0)
                  .outcome(),
              v1::CONTROL_OUTCOME_DONE);
    EXPECT_FALSE(Info(d.domid).paused);
  }
}

// A domid the caller knew as one domain now names another: refused.
TEST_F(ControlTest, AReusedDomidIsNotTheDomainTheCallerMeant) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  const sim::CreatedDomain old_one = Create("old", 5);
  ASSERT_OK(toolstack_->DestroyDomain(5));
  const sim::CreatedDomain new_one = Create("new", 5);
  ASSERT_NE(old_one.uuid, new_one.uuid);
  v1::DestroyDomainsRequest request;
  *request.add_selectors() = ByDomid(5, old_one.uuid);
  v1::ControlResponse r =
      Call(&v1::ControlService::Stub::DestroyDomains, request);
  EXPECT_EQ(r.results(0).outcome(), v1::CONTROL_OUTCOME_REFUSED);
  EXPECT_NE(r.results(0).status().message().find("reused"), std::string::npos);
  EXPECT_FALSE(Info(5).dying) << "the new domain was destroyed";
  // With the right UUID it goes.
  request.mutable_selectors(0)->set_expect_uuid(new_one.uuid);
  EXPECT_EQ(Call(&v1::ControlService::Stub::DestroyDomains, request)
                .results(0)
                .outcome(),
            v1::CONTROL_OUTCOME_DONE);
}

TEST_F(ControlTest, DestroyTakesTheDomainAndItsKeysButNeverDom0) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  const sim::CreatedDomain d = Create("doomed");
  v1::DestroyDomainsRequest request;
  *request.add_selectors() = ByName("doomed");
  *request.add_selectors() = ByDomid(0);
  v1::ControlResponse r =
      Call(&v1::ControlService::Stub::DestroyDomains, request);
  EXPECT_EQ(r.results(0).outcome(), v1::CONTROL_OUTCOME_DONE);
  EXPECT_EQ(r.results(1).outcome(), v1::CONTROL_OUTCOME_REFUSED);
  auto info = truth_->GetDomainInfo(d.domid);
  EXPECT_TRUE(!info.ok() || info->dying);
  auto xs = host_->ConnectXenstore();
  ASSERT_TRUE(xs.ok());
  EXPECT_EQ((*xs)->Read(xen::DomainPath(d.domid)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ((*xs)->Read("/vm/" + d.uuid).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(Info(0).dying);
}

// Cooperative: the request word, answered by the (simulated) guest.
TEST_F(ControlTest, ShutdownWithEachReasonIsAnsweredByTheGuest) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  for (auto [mode, reason] :
       std::vector<std::pair<v1::ShutdownMode, xen::ShutdownReason>>{
           {v1::SHUTDOWN_MODE_POWEROFF, xen::ShutdownReason::kPoweroff},
           {v1::SHUTDOWN_MODE_REBOOT, xen::ShutdownReason::kReboot},
           {v1::SHUTDOWN_MODE_SUSPEND, xen::ShutdownReason::kSuspend}}) {
    SCOPED_TRACE(v1::ShutdownMode_Name(mode));
    const sim::CreatedDomain d = Create(v1::ShutdownMode_Name(mode));
    v1::ShutdownDomainsRequest request;
    *request.add_selectors() = ByDomid(d.domid);
    *request.add_selectors() = ByDomid(0);
    request.set_mode(mode);
    request.mutable_timeout()->set_seconds(10);
    v1::ControlResponse r =
        Call(&v1::ControlService::Stub::ShutdownDomains, request);
    EXPECT_EQ(r.results(0).outcome(), v1::CONTROL_OUTCOME_DONE)
        << r.results(0).status().message();
    EXPECT_FALSE(r.results(0).forced());
    EXPECT_EQ(r.results(1).outcome(), v1::CONTROL_OUTCOME_REFUSED);
    const xen::DomainInfo info = Info(d.domid);
    EXPECT_TRUE(info.shutdown);
    EXPECT_EQ(info.shutdown_code, static_cast<uint8_t>(reason));
  }
}

// Guests that ignore control/shutdown: without force the request times
// out (FAILED, DEADLINE_EXCEEDED); with force Xen's remote shutdown does it.
TEST_F(ControlTest, AnIgnoredRequestTimesOutOrIsForced) {
  ASSERT_NO_FATAL_FAILURE(Start(/*simulated_guests=*/false));
  const sim::CreatedDomain deaf = Create("deaf");
  v1::ShutdownDomainsRequest request;
  *request.add_selectors() = ByDomid(deaf.domid);
  request.mutable_timeout()->set_nanos(200 * 1000 * 1000);
  v1::ControlResponse r =
      Call(&v1::ControlService::Stub::ShutdownDomains, request);
  EXPECT_EQ(r.results(0).outcome(), v1::CONTROL_OUTCOME_FAILED);
  EXPECT_EQ(r.results(0).status().code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_FALSE(Info(deaf.domid).shutdown);

  request.set_force(true);
  request.set_mode(v1::SHUTDOWN_MODE_REBOOT);
  r = Call(&v1::ControlService::Stub::ShutdownDomains, request);
  EXPECT_EQ(r.results(0).outcome(), v1::CONTROL_OUTCOME_DONE)
      << r.results(0).status().message();
  EXPECT_TRUE(r.results(0).forced());
  const xen::DomainInfo info = Info(deaf.domid);
  EXPECT_TRUE(info.shutdown);
  EXPECT_EQ(info.shutdown_code,
            static_cast<uint8_t>(xen::ShutdownReason::kReboot));
  // Shut down already: nothing more to do.
  Sync();
  EXPECT_EQ(Call(&v1::ControlService::Stub::ShutdownDomains, request)
                .results(0)
                .outcome(),
            v1::CONTROL_OUTCOME_ALREADY);
}

// Without xenstore the guest cannot be asked. A forced shutdown then goes
// straight to Xen's: it does not wait out the timeout (far past the call's
// 30 s deadline) for a request never made. An unforced one fails at once
// and leaves no expectation behind that would name its caller as the
// initiator of a change someone else makes.
TEST_F(ControlTest, ARequestThatCannotBeWrittenIsForcedAtOnceOrFails) {
  ASSERT_NO_FATAL_FAILURE(Start(/*simulated_guests=*/true,
                                /*control_reaches_xenstore=*/false));
  const sim::CreatedDomain d = Create("unreachable");
  v1::ShutdownDomainsRequest request;
  *request.add_selectors() = ByDomid(d.domid);
  request.mutable_timeout()->set_seconds(600);
  v1::ControlResponse r =
      Call(&v1::ControlService::Stub::ShutdownDomains, request);
  EXPECT_EQ(r.results(0).outcome(), v1::CONTROL_OUTCOME_FAILED);
  EXPECT_EQ(r.results(0).status().code(), grpc::StatusCode::UNAVAILABLE)
      << r.results(0).status().message();
  EXPECT_FALSE(Info(d.domid).shutdown);
  EXPECT_EQ(model_->initiators().pending(), 0u);

  request.set_force(true);
  r = Call(&v1::ControlService::Stub::ShutdownDomains, request);
  EXPECT_EQ(r.results(0).outcome(), v1::CONTROL_OUTCOME_DONE)
      << r.results(0).status().message();
  EXPECT_TRUE(r.results(0).forced());
  const xen::DomainInfo info = Info(d.domid);
  EXPECT_TRUE(info.shutdown);
  EXPECT_EQ(info.shutdown_code,
            static_cast<uint8_t>(xen::ShutdownReason::kPoweroff));
}

// xenletctl's control verbs against the real agent: a table per selector,
// exit code 3 unless every one is done or already so, and destroy's
// confirmation prompt.
TEST_F(ControlTest, XenletctlActsAndAsksBeforeDestroying) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  const sim::CreatedDomain d = Create("cli");
  ctl::GlobalOptions global;
  global.connection.socket = server_->unix_socket();
  std::istringstream no_input;
  {
    ctl::ControlOptions pause;
    pause.verb = "pause";
    pause.selectors = {absl::StrCat(d.domid, "@", d.uuid), "name:cli", "0"};
    std::ostringstream out, err;
    EXPECT_EQ(ctl::RunControl(global, pause, no_input, out, err),
              ctl::kExitNegative)
        << err.str();
    EXPECT_NE(out.str().find("done"), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("refused"), std::string::npos) << out.str();
    EXPECT_TRUE(Info(d.domid).paused);
  }
  {
    ctl::ControlOptions destroy;
    destroy.verb = "destroy";
    destroy.selectors = {"name:cli"};
    std::istringstream answer_no("n\n");
    std::ostringstream out, err;
    EXPECT_EQ(ctl::RunControl(global, destroy, answer_no, out, err),
              ctl::kExitUsage);
    EXPECT_NE(err.str().find("cannot be undone"), std::string::npos);
    EXPECT_FALSE(Info(d.domid).dying) << "destroyed without a yes";
    std::istringstream answer_yes("y\n");
    std::ostringstream out2, err2;
    EXPECT_EQ(ctl::RunControl(global, destroy, answer_yes, out2, err2),
              ctl::kExitOk)
        << err2.str() << out2.str();
    auto info = truth_->GetDomainInfo(d.domid);
    EXPECT_TRUE(!info.ok() || info->dying);
  }
}

}  // namespace
}  // namespace xenlet
