// The publisher's order of operations, against the real agent server (a
// DomainStore the test writes, served over a unix socket as xenlet serves
// it) and an in-memory sink that stands in for NATS JetStream here (the
// real one is tested against a real nats-server in tests/fleet): every
// live event stored once under <instance>:<revision>, with no gap; the
// domains bucket equal to the agent's model; and that still holds across
// sink outages, a fault between any two steps, a restart of the publisher
// and a restart of the agent (the only case that resyncs).
#include "fleet/publisher/publisher.h"

#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "agent/server.h"
#include "fleet/fleet_names.h"
#include "fleet/testing/memory_sink.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "store/domain_store.h"
#include "tests/testing/temp_dir.h"

namespace xenlet::fleet {
namespace {

using testing::MemorySink;

constexpr absl::Duration kBound = absl::Seconds(30);  // a safety net

std::string UuidFor(uint32_t domid, int generation) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "00000000-0000-4000-%04x-%012x", generation,
                domid);
  return buf;
}

store::Change MakeChange(xenlet::v1::EventType type,
                         xenlet::v1::Transition transition, uint32_t domid,
                         int generation, xenlet::v1::DomainState state) {
  store::Change c;
  c.type = type;
  c.transition = transition;
  c.domid = domid;
  c.domain = std::make_unique<xenlet::v1::Domain>();
  c.domain->set_domid(domid);
  c.domain->set_uuid(UuidFor(domid, generation));
  c.domain->set_name(absl::StrCat("d", domid, "-", generation));
  c.domain->set_state(state);
  c.detected = absl::Now();
  return c;
}

// The agent: a store served by the real server, which the test can restart
// as a new instance (another store, the same socket).
class Agent {
 public:
  Agent(const std::string& socket, const std::string& instance,
        size_t event_log_capacity = 10000)
      : store_(std::make_unique<store::DomainStore>(
            store::StoreOptions{instance, event_log_capacity})) {
    agent::ServerOptions options;
    options.listeners.unix_socket = socket;
    auto server = agent::AgentServer::Start(options, {store_.get()});
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  ~Agent() { server_->Shutdown(absl::Seconds(1)); }

  uint64_t Commit(std::vector<store::Change> changes) {
    return store_->Commit(std::move(changes));
  }
  store::DomainStore& store() { return *store_; }

 private:
  std::unique_ptr<store::DomainStore> store_;
  std::unique_ptr<agent::AgentServer> server_;
};

class PublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_ = dir_.File("xenlet.sock");
    agent_ = std::make_unique<Agent>(socket_, "instance-a");
  }
  void TearDown() override { StopPublisher(); }

  void StartPublisher() {
    PublisherOptions options;
    options.host = "h1";
    options.bookmark_interval = absl::Seconds(1);
    options.checkpoint_interval = absl::ZeroDuration();
    options.backoff_initial = absl::Milliseconds(10);
    options.backoff_max = absl::Milliseconds(100);
    options.version = "test";
    publisher_ = std::make_unique<Publisher>(
        options,
        grpc::CreateChannel("unix:" + socket_,
                            grpc::InsecureChannelCredentials()),
        &sink_);
    run_done_ = std::make_shared<absl::Notification>();
    thread_ = std::thread([this, done = run_done_] {
      run_status_ = publisher_->Run();
      done->Notify();
    });
  }
  // Starts it and waits until it is live at the agent's revision: what the
  // test commits afterwards are live events, not its initial state.
  void StartLive() {
    StartPublisher();
    const std::string point = absl::StrCat(agent_->store().instance_id(), ":",
                                           agent_->store().revision());
    ASSERT_TRUE(sink_.Await(
        [&](const MemorySink::State& s) {
          auto it = s.health.find("h1");
          fleet::v1::HostHealth h;
          return it != s.health.end() &&
                 google::protobuf::util::JsonStringToMessage(it->second, &h)
                     .ok() &&
                 h.state() == fleet::v1::HostHealth::STATE_LIVE &&
                 absl::StrCat(h.resume().instance_id(), ":",
                              h.resume().revision()) == point;
        },
        kBound));
  }
  void StopPublisher() {
    if (!publisher_) return;
    publisher_->Stop();
    thread_.join();
    publisher_.reset();
  }

  // Adds domains [first, first + count) of a generation, as running.
  void Boot(uint32_t first, uint32_t count, int generation = 0) {
    std::vector<store::Change> changes;
    for (uint32_t d = first; d < first + count; ++d) {
      changes.push_back(MakeChange(
          xenlet::v1::EVENT_TYPE_ADDED, xenlet::v1::TRANSITION_CREATED, d,
          generation, xenlet::v1::DOMAIN_STATE_CREATED));
    }
    agent_->Commit(std::move(changes));
    for (uint32_t d = first; d < first + count; ++d) {
      std::vector<store::Change> started;
      started.push_back(MakeChange(
          xenlet::v1::EVENT_TYPE_MODIFIED, xenlet::v1::TRANSITION_STARTED, d,
          generation, xenlet::v1::DOMAIN_STATE_RUNNING));
      agent_->Commit(std::move(started));
    }
  }
  void Destroy(uint32_t domid, int generation = 0) {
    std::vector<store::Change> changes;
    changes.push_back(MakeChange(
        xenlet::v1::EVENT_TYPE_DELETED, xenlet::v1::TRANSITION_DESTROYED, domid,
        generation, xenlet::v1::DOMAIN_STATE_DESTROYED));
    agent_->Commit(std::move(changes));
  }

  // The agent's model as the sink's domains bucket should hold it.
  std::map<std::string, std::string> ExpectedDomains() {
    std::map<std::string, std::string> out;
    auto snapshot = agent_->store().snapshot();
    snapshot->domains.ForEach([&](const store::DomainPtr& d) {
      out[DomainKey("h1", d->uuid(), d->domid())] = absl::StrCat(
          d->name(), " ", xenlet::v1::DomainState_Name(d->state()));
    });
    return out;
  }
  static std::map<std::string, std::string> Held(
      const MemorySink::State& state) {
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : state.domains) {
      xenlet::v1::Domain d;
      if (!google::protobuf::util::JsonStringToMessage(value, &d).ok()) {
        out[key] = "unparsable: " + value;
        continue;
      }
      out[key] =
          absl::StrCat(d.name(), " ", xenlet::v1::DomainState_Name(d.state()));
    }
    return out;
  }

  // Waits until the sink holds the agent's model and every event up to the
  // agent's revision.
  void ExpectConverged(const std::string& why) {
    const uint64_t revision = agent_->store().revision();
    const std::string last_id =
        MessageId("h1", agent_->store().instance_id(), revision);
    const auto expected = ExpectedDomains();
    const bool converged = sink_.Await(
        [&](const MemorySink::State& s) {
          return Held(s) == expected && !s.events.empty() &&
                 s.events.back().id == last_id;
        },
        kBound);
    const MemorySink::State s = sink_.state();
    ASSERT_TRUE(converged) << why << ": " << s.events.size() << " events, last "
                           << (s.events.empty() ? "none" : s.events.back().id)
                           << ", want " << last_id << "; " << Held(s).size()
                           << " domains held, want " << expected.size();
  }

  // Every stored event of an instance, each once, revisions without a gap
  // from the first stored to `last`.
  void ExpectEveryEventOnce(const std::string& instance, uint64_t first,
                            uint64_t last) {
    std::vector<uint64_t> revisions;
    for (const MemorySink::Event& e : sink_.state().events) {
      EXPECT_EQ(e.subject, "xenlet.events.h1");
      auto id = ParseMessageId(e.id);
      ASSERT_TRUE(id.has_value()) << e.id;
      EXPECT_EQ(id->host, "h1");
      if (id->instance_id != instance) continue;
      revisions.push_back(id->revision);
    }
    ASSERT_EQ(revisions.size(), last - first + 1)
        << "events of " << instance << " from " << first << " to " << last;
    for (size_t i = 0; i < revisions.size(); ++i) {
      EXPECT_EQ(revisions[i], first + i) << "at " << i;
    }
  }

  fleet::v1::HostHealth Health() {
    fleet::v1::HostHealth h;
    const auto state = sink_.state();
    auto it = state.health.find("h1");
    if (it != state.health.end()) {
      EXPECT_TRUE(
          google::protobuf::util::JsonStringToMessage(it->second, &h).ok());
    }
    return h;
  }

  xenlet::testing::TempDir dir_;
  std::string socket_;
  std::unique_ptr<Agent> agent_;
  MemorySink sink_;
  std::unique_ptr<Publisher> publisher_;
  std::thread thread_;
  absl::Status run_status_;
  std::shared_ptr<absl::Notification> run_done_;
};

TEST_F(PublisherTest, StateThenEveryLiveEventOnce) {
  Boot(1, 3);  // revisions 1..6: the initial state, not events
  StartPublisher();
  ASSERT_TRUE(sink_.Await(
      [](const MemorySink::State& s) { return s.domains.size() == 3; },
      kBound));
  EXPECT_TRUE(sink_.state().events.empty());
  Boot(4, 2);  // 7..10
  Destroy(2);  // 11
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("live"));
  ExpectEveryEventOnce("instance-a", 7, 11);
  const auto events = sink_.state().events;
  EXPECT_NE(events.back().payload.find("\"type\":\"io.xenlet.domain."
                                       "destroyed\""),
            std::string::npos)
      << events.back().payload;
  EXPECT_EQ(publisher_->stats().resyncs, 0u);
  StopPublisher();
  const auto health = Health();
  EXPECT_EQ(health.state(), fleet::v1::HostHealth::STATE_STOPPED);
  EXPECT_EQ(health.resume().instance_id(), "instance-a");
  EXPECT_EQ(health.resume().revision(), 11u);
  EXPECT_EQ(health.events_published_total(), 5u);
  EXPECT_TRUE(health.has_last_heard());
}

// NATS unreachable: the publisher stops reading the agent's stream and,
// once the sink answers, resumes from its last applied point: the agent's
// log replays every event, none coalesced, none lost, none twice.
TEST_F(PublisherTest, SinkOutageResumesWithoutGapsOrDuplicates) {
  ASSERT_NO_FATAL_FAILURE(StartLive());
  Boot(1, 2);
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("before"));
  sink_.Break();
  Boot(3, 40);
  for (uint32_t d = 1; d <= 10; ++d) Destroy(d);
  ASSERT_TRUE(sink_.Await(
      [](const MemorySink::State& s) { return s.failed_calls >= 3; }, kBound));
  sink_.Heal();
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("after the outage"));
  ExpectEveryEventOnce("instance-a", 1, agent_->store().revision());
  EXPECT_EQ(sink_.state().duplicates, 0u);
  const PublisherStats stats = publisher_->stats();
  EXPECT_GE(stats.sink_failures, 1u);
  EXPECT_EQ(stats.resyncs, 0u);
}

// A fault at every step in turn (the event, the key, the health): each is
// redone from the last applied point, and the result is the same.
TEST_F(PublisherTest, AFaultBetweenAnyTwoStepsIsRepaired) {
  ASSERT_NO_FATAL_FAILURE(StartLive());
  Boot(1, 1);
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("before"));
  for (int step = 0; step < 8; ++step) {
    sink_.FailNext(1 + step % 3);
    Boot(10 + step * 2, 2);
    Destroy(10 + step * 2);
    ASSERT_NO_FATAL_FAILURE(ExpectConverged(absl::StrCat("step ", step)));
  }
  ExpectEveryEventOnce("instance-a", 1, agent_->store().revision());
  EXPECT_EQ(publisher_->stats().resyncs, 0u);
}

// A restarted publisher resumes from the point in the host's health: what
// happened while it was down is replayed from the agent's log, no resync.
TEST_F(PublisherTest, ARestartedPublisherResumes) {
  ASSERT_NO_FATAL_FAILURE(StartLive());
  Boot(1, 5);
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("first"));
  StopPublisher();
  Boot(6, 5);
  Destroy(3);
  Destroy(7);
  StartPublisher();
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("after the restart"));
  ExpectEveryEventOnce("instance-a", 1, agent_->store().revision());
  EXPECT_EQ(publisher_->stats().resyncs, 0u);
  EXPECT_EQ(sink_.state().duplicates, 0u);
}

// A restarted agent is a new instance: the publisher is told to resync,
// publishes the new instance's whole history from its log, and drops the
// keys of domains that history never mentions (destroyed while the agent
// was down); a domid reused by a new domain is a new key.
TEST_F(PublisherTest, ARestartedAgentResyncs) {
  ASSERT_NO_FATAL_FAILURE(StartLive());
  Boot(1, 4);
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("first instance"));
  agent_.reset();
  agent_ = std::make_unique<Agent>(socket_, "instance-b");
  // The new agent's model: domains 1 and 2 kept, 3 and 4 gone, 5 new, and
  // domid 4 reused by a new domain.
  Boot(1, 2);
  Boot(4, 2, /*generation=*/1);
  ASSERT_TRUE(sink_.Await(
      [&](const MemorySink::State& s) { return Held(s) == ExpectedDomains(); },
      kBound));
  Boot(9, 1);
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("second instance"));
  // The new instance's whole history, from its first revision.
  ExpectEveryEventOnce("instance-b", 1, agent_->store().revision());
  EXPECT_EQ(publisher_->stats().resyncs, 1u);
  EXPECT_EQ(Health().resyncs_total(), 1u);
}

// NATS fails in the middle of a restarted agent's history: the replay goes
// on in the next session, and at its end the keys of domains destroyed
// while the agent was down are still deleted.
TEST_F(PublisherTest, AFailureInTheMiddleOfAHistoryStillReconciles) {
  ASSERT_NO_FATAL_FAILURE(StartLive());
  Boot(1, 6);
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("first instance"));
  agent_.reset();
  sink_.FailOneAfter(8);  // a few events into the replay
  agent_ = std::make_unique<Agent>(socket_, "instance-d");
  Boot(1, 3);  // 4, 5 and 6 were destroyed while the agent was down
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("second instance"));
  ExpectEveryEventOnce("instance-d", 1, agent_->store().revision());
  EXPECT_GE(publisher_->stats().sink_failures, 1u);
  EXPECT_EQ(publisher_->stats().resyncs, 1u);
}

// A restarted agent whose history has already left its event log: the
// publisher falls back to its current state (keys only, no events), still
// one resync, and events of the new instance follow from there.
TEST_F(PublisherTest, ARestartedAgentWithALongHistoryResyncsFromItsState) {
  ASSERT_NO_FATAL_FAILURE(StartLive());
  Boot(1, 4);
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("first instance"));
  agent_.reset();
  agent_ = std::make_unique<Agent>(socket_, "instance-c",
                                   /*event_log_capacity=*/8);
  Boot(1, 2);
  Boot(20, 10, /*generation=*/2);  // 24 revisions: the first 16 are gone
  const uint64_t snapshot = agent_->store().revision();
  ASSERT_TRUE(sink_.Await(
      [&](const MemorySink::State& s) { return Held(s) == ExpectedDomains(); },
      kBound));
  Destroy(20, 2);
  ASSERT_NO_FATAL_FAILURE(ExpectConverged("after the snapshot"));
  ExpectEveryEventOnce("instance-c", snapshot + 1, agent_->store().revision());
  EXPECT_EQ(publisher_->stats().resyncs, 1u);
}

// Two publishers with one host id: the sink says another writer has the
// host's health, and the publisher stops at once with that error rather
// than fight over the keys.
TEST_F(PublisherTest, GivesUpWhenAnotherPublisherHasTheHost) {
  Boot(1, 2);
  ASSERT_NO_FATAL_FAILURE(StartLive());
  sink_.StealHealth();
  Boot(3, 1);  // a change: its checkpoint writes the health
  // Run returns by itself.
  ASSERT_TRUE(run_done_->WaitForNotificationWithTimeout(kBound));
  thread_.join();
  EXPECT_EQ(run_status_.code(), absl::StatusCode::kAborted) << run_status_;
  publisher_.reset();
}

}  // namespace
}  // namespace xenlet::fleet
