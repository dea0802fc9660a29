// xenlet-publish end to end, on one host: the real agent on a simulated
// host, a real nats-server (one node; the three-node cluster and the
// network cuts are the fleet harness's), and the xenlet-publish binary
// between them. The domains bucket converges to the hypervisor's ground
// truth, and the event stream holds every change of each agent instance
// once, without a gap, across a restart of the agent (the publisher
// resyncs: it publishes the new instance's history), of the NATS server
// and of the publisher itself (neither resyncs).
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "fleet/fleet_names.h"
#include "fleet/nats/connection.h"
#include "fleet/nats/jetstream.h"
#include "fleet/nats/key_value.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "tests/fleet/nats_server.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tools/cpp/runfiles/runfiles.h"
#include "xenlet/fleet/v1/fleet.pb.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

extern char** environ;

namespace xenlet::fleet {
namespace {

using bazel::tools::cpp::runfiles::Runfiles;
using xenlet::testing::Child;

constexpr absl::Duration kBound = absl::Seconds(60);  // a safety net

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class PublishE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = sim::SimHost::Start();
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    auto toolstack = host_->NewToolstack();
    ASSERT_TRUE(toolstack.ok()) << toolstack.status();
    toolstack_ = std::move(*toolstack);
    std::string error;
    std::unique_ptr<Runfiles> runfiles(Runfiles::CreateForTest(&error));
    ASSERT_NE(runfiles, nullptr) << error;
    agent_binary_ = runfiles->Rlocation("xenlet/agent/xenlet");
    publish_binary_ =
        runfiles->Rlocation("xenlet/fleet/publisher/xenlet-publish");
    socket_ = host_->dir() + "/xenlet.sock";
    for (char** e = environ; *e; ++e) {
      if (std::string_view(*e).rfind("LD_PRELOAD=", 0) != 0) {
        env_.push_back(*e);
      }
    }
    server_ = testing::NatsServer::Start({.dir = dir_.path()});
    ASSERT_NE(server_, nullptr);
    nats::ConnectionOptions options;
    options.servers = {server_->url()};
    options.reconnect_wait = absl::Milliseconds(100);
    auto connection = nats::Connection::Open(options);
    ASSERT_TRUE(connection.ok()) << connection.status();
    connection_ = std::move(*connection);
  }

  void TearDown() override {
    publisher_.reset();
    agent_.reset();
  }

  void StartAgent() {
    std::vector<std::string> env = env_;
    for (const auto& [key, value] : host_->PreloadEnv()) {
      env.push_back(absl::StrCat(key, "=", value));
    }
    agent_ = Child::Start({agent_binary_, "--socket", socket_,
                           "--sweep-interval", "0.2", "--metrics-address", ""},
                          env, host_->dir() + "/agent.log");
    ASSERT_NE(agent_, nullptr);
    // Ready when it answers (the call waits for the socket: wait_for_ready).
    auto stub = xenlet::v1::DomainService::NewStub(grpc::CreateChannel(
        "unix:" + socket_, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(absl::ToChronoTime(absl::Now() + kBound));
    xenlet::v1::ListDomainsRequest request;
    xenlet::v1::ListDomainsResponse response;
    ASSERT_TRUE(stub->ListDomains(&context, request, &response).ok())
        << ReadFile(host_->dir() + "/agent.log");
  }
  void StopAgent() {
    const int status = agent_->Stop(SIGTERM);
    agent_.reset();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }

  void StartPublisher() {
    publisher_ = Child::Start(
        {publish_binary_, "--socket", socket_, "-s", server_->url(),
         "--host-id", "h1", "--replicas", "1", "--checkpoint-interval", "0",
         "--bookmark-interval", "1", "--metrics-address", ""},
        env_, dir_.File("publish.log"));
    ASSERT_NE(publisher_, nullptr);
    // Live at the agent's instance: what the test changes from now on
    // reaches the publisher as events, not as part of its initial state.
    // The publisher says so in its health key: watch it. (Opening the
    // bucket creates it if the publisher has not yet; the publisher then
    // binds to it as it is.)
    const std::string instance = AgentPoint().instance_id();
    auto kv = nats::KeyValue::Open(*connection_, {.name = "xenlet-hosts"});
    ASSERT_TRUE(kv.ok()) << kv.status();
    auto watcher = (*kv)->Watch("h1");
    ASSERT_TRUE(watcher.ok()) << watcher.status();
    const absl::Time deadline = absl::Now() + kBound;
    while (absl::Now() < deadline) {
      auto item = (*watcher)->Next(deadline - absl::Now());
      ASSERT_TRUE(item.ok()) << item.status();
      fleet::v1::HostHealth health;
      if (item->kind == nats::WatchItem::kEntry &&
          google::protobuf::util::JsonStringToMessage(item->entry.value,
                                                      &health)
              .ok() &&
          health.state() == fleet::v1::HostHealth::STATE_LIVE &&
          health.resume().instance_id() == instance) {
        return;
      }
    }
    FAIL() << "the publisher is not live\n"
           << ReadFile(dir_.File("publish.log"));
  }
  void StopPublisher() {
    const int status = publisher_->Stop(SIGTERM);
    publisher_.reset();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << status << "\n"
        << ReadFile(dir_.File("publish.log"));
  }

  // The hypervisor's domains, as the keys and names the bucket must hold.
  std::map<std::string, std::string> Truth() {
    std::vector<xen::DomainInfo> infos;
    EXPECT_TRUE(toolstack_->hypervisor().GetAllDomains(&infos).ok());
    std::map<std::string, std::string> out;
    for (const xen::DomainInfo& info : infos) {
      auto name = names_.find(info.domid);
      out[DomainKey("h1", info.Uuid(), info.domid)] =
          name != names_.end() && name->second.first == info.Uuid()
              ? name->second.second
              : "";
    }
    return out;
  }
  std::map<std::string, std::string> Bucket(nats::KeyValue& kv) {
    std::map<std::string, std::string> out;
    auto keys = kv.Keys("h1.>");
    if (!keys.ok()) return {{"error", keys.status().ToString()}};
    for (const std::string& key : *keys) {
      auto entry = kv.Get(key);
      if (!entry.ok() || !entry->has_value()) continue;
      xenlet::v1::Domain d;
      (void)google::protobuf::util::JsonStringToMessage((*entry)->value, &d);
      auto name = names_.find(d.domid());
      out[key] = name != names_.end() && name->second.first == d.uuid()
                     ? d.name()
                     : "";
    }
    return out;
  }

  // Waits until the bucket equals the ground truth and the publisher has
  // stored every event of the agent's current instance.
  void ExpectConverged(const std::string& why) {
    auto kv = nats::KeyValue::Open(*connection_, {.name = "xenlet-domains"});
    ASSERT_TRUE(kv.ok()) << kv.status();
    auto watcher = (*kv)->Watch(">");
    ASSERT_TRUE(watcher.ok()) << watcher.status();
    const absl::Time deadline = absl::Now() + kBound;
    std::map<std::string, std::string> truth, held;
    while (absl::Now() < deadline) {
      truth = Truth();
      held = Bucket(**kv);
      if (held == truth && AllEventsStored()) return;
      // Woken by the next change of the bucket (or after a second, for the
      // hypervisor's side and the event stream, which say nothing).
      (void)(*watcher)->Next(absl::Seconds(1));
    }
    ADD_FAILURE() << why << ": the bucket holds " << held.size()
                  << " domains, the host " << truth.size() << "\n"
                  << ReadFile(dir_.File("publish.log"));
  }

  // The agent's instance and revision (a listing's snapshot).
  xenlet::v1::ResumePoint AgentPoint() {
    auto stub = xenlet::v1::DomainService::NewStub(grpc::CreateChannel(
        "unix:" + socket_, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    xenlet::v1::ListDomainsRequest request;
    request.set_page_size(1);
    xenlet::v1::ListDomainsResponse response;
    EXPECT_TRUE(stub->ListDomains(&context, request, &response).ok());
    return response.snapshot();
  }

  // Every stored event of h1, per instance: revisions in order.
  std::map<std::string, std::vector<uint64_t>> StoredEvents() {
    std::map<std::string, std::vector<uint64_t>> out;
    auto messages =
        nats::ReadAll(*connection_, "XENLET_EVENTS", "xenlet.events.h1");
    if (!messages.ok()) return out;
    for (const nats::StoredMessage& m : *messages) {
      auto id = ParseMessageId(m.msg_id);
      if (!id) continue;
      out[id->instance_id].push_back(id->revision);
    }
    return out;
  }
  bool AllEventsStored() {
    const xenlet::v1::ResumePoint point = AgentPoint();
    auto events = StoredEvents();
    auto it = events.find(point.instance_id());
    return it != events.end() && !it->second.empty() &&
           it->second.back() == point.revision();
  }
  // Each revision once, in order, without a gap, from `first` (0: from
  // wherever the publisher began).
  void ExpectEveryEventOnce(const std::string& instance, uint64_t first) {
    const std::vector<uint64_t> revisions = StoredEvents()[instance];
    ASSERT_FALSE(revisions.empty()) << instance;
    if (first == 0) first = revisions.front();
    for (size_t i = 0; i < revisions.size(); ++i) {
      ASSERT_EQ(revisions[i], first + i) << instance << " at " << i;
    }
  }

  void Create(const std::string& name) {
    sim::DomainSpec spec;
    spec.name = name;
    auto created = toolstack_->CreateDomain(spec);
    ASSERT_TRUE(created.ok()) << created.status();
    names_[created->domid] = {created->uuid, name};
    domids_.push_back(created->domid);
  }

  fleet::v1::HostHealth Health() {
    fleet::v1::HostHealth h;
    auto kv = nats::KeyValue::Open(*connection_, {.name = "xenlet-hosts"});
    if (!kv.ok()) return h;
    auto entry = (*kv)->Get("h1");
    if (entry.ok() && entry->has_value()) {
      (void)google::protobuf::util::JsonStringToMessage((*entry)->value, &h);
    }
    return h;
  }

  xenlet::testing::TempDir dir_;
  std::unique_ptr<sim::SimHost> host_;
  std::unique_ptr<sim::Toolstack> toolstack_;
  std::string agent_binary_, publish_binary_, socket_;
  std::vector<std::string> env_;
  std::unique_ptr<xenlet::testing::NatsServer> server_;
  std::unique_ptr<nats::Connection> connection_;
  std::unique_ptr<Child> agent_, publisher_;
  std::map<uint32_t, std::pair<std::string, std::string>> names_;
  std::vector<uint32_t> domids_;
};

TEST_F(PublishE2eTest, EveryChangeOnceAcrossRestarts) {
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  for (int i = 0; i < 3; ++i) Create(absl::StrCat("before-", i));
  ASSERT_NO_FATAL_FAILURE(StartPublisher());
  for (int i = 0; i < 3; ++i) Create(absl::StrCat("live-", i));
  ASSERT_TRUE(toolstack_->DestroyDomain(domids_[0]).ok());
  ASSERT_TRUE(toolstack_->PauseDomain(domids_[1]).ok());
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("first instance"));
  const std::string first = AgentPoint().instance_id();

  // The agent restarts, and the host changes while it is away: the
  // publisher publishes the new instance's whole history and drops the
  // key of the domain destroyed meanwhile.
  StopAgent();
  ASSERT_TRUE(toolstack_->DestroyDomain(domids_[2]).ok());
  Create("while-down");
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  const std::string second = AgentPoint().instance_id();
  ASSERT_NE(first, second);
  Create("after-restart");
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("second instance"));

  // NATS restarts (same store): the publisher resumes, no resync.
  ASSERT_TRUE(server_->Stop());
  Create("while-nats-down");
  ASSERT_TRUE(server_->Restart());
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("after NATS restarted"));

  // The publisher restarts: it resumes from its point, no resync.
  StopPublisher();
  EXPECT_EQ(Health().state(), fleet::v1::HostHealth::STATE_STOPPED);
  Create("while-publisher-down");
  ASSERT_NO_FATAL_FAILURE(StartPublisher());
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("after the publisher restarted"));

  // The first instance from where the publisher began (its initial state
  // is no event); the second from its first revision: its whole history.
  ExpectEveryEventOnce(first, 0);
  ExpectEveryEventOnce(second, 1);
  EXPECT_EQ(StoredEvents().size(), 2u);
  const fleet::v1::HostHealth health = Health();
  EXPECT_EQ(health.resyncs_total(), 1u) << health.DebugString();
  EXPECT_EQ(health.resume().instance_id(), second);
  StopPublisher();
}

// A second xenlet-publish with the same --host-id: one of the two finds
// the host's health written by the other and stops with exit status 1
// and a publish_conflict error; the other goes on.
TEST_F(PublishE2eTest, TwoPublishersWithOneHostIdOneStops) {
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(StartPublisher());
  auto second = Child::Start(
      {publish_binary_, "--socket", socket_, "-s", server_->url(), "--host-id",
       "h1", "--replicas", "1", "--checkpoint-interval", "0",
       "--bookmark-interval", "1", "--metrics-address", ""},
      env_, dir_.File("second.log"));
  ASSERT_NE(second, nullptr);
  // Each writes its health at least every bookmark (1 s); the first write
  // on a revision the other moved on ends that one. Wait for either to
  // exit (pidfds), bounded.
  // Debian 12's <sys/pidfd.h> lacks extern "C"; call the kernel directly.
  const int fds[2] = {
      static_cast<int>(syscall(SYS_pidfd_open, publisher_->pid(), 0)),
      static_cast<int>(syscall(SYS_pidfd_open, second->pid(), 0))};
  ASSERT_GE(fds[0], 0);
  ASSERT_GE(fds[1], 0);
  pollfd polls[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
  const int ready = poll(polls, 2, absl::ToInt64Milliseconds(kBound));
  close(fds[0]);
  close(fds[1]);
  ASSERT_GT(ready, 0) << "both publishers still run";
  const bool first_stopped = publisher_->Exited();
  std::unique_ptr<Child>& stopped = first_stopped ? publisher_ : second;
  std::unique_ptr<Child>& survivor = first_stopped ? second : publisher_;
  const std::string log =
      ReadFile(dir_.File(first_stopped ? "publish.log" : "second.log"));
  const int status = stopped->Wait(absl::Seconds(10));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status << "\n"
                                                             << log;
  EXPECT_NE(log.find("publish_conflict"), std::string::npos) << log;
  EXPECT_NE(log.find("--host-id h1"), std::string::npos) << log;
  EXPECT_FALSE(survivor->Exited());
  stopped.reset();
  survivor->Stop(SIGTERM);
  survivor.reset();
}

}  // namespace
}  // namespace xenlet::fleet
