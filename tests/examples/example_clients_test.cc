// The example clients an orchestrator developer copies
// (examples/python/xenlet_model.py, examples/cpp/model_client), each run as
// its own process with --dump against the real xenlet binary on a private
// simulated host: its dumped model must equal the host's ground truth, then
// again after the agent restarts (a new instance) while the domains change,
// which the client must notice (RESYNC_REQUIRED, INSTANCE_CHANGED) and
// recover from by itself: reconnect, resync, converge.
//
// Stand-ins: the simulated host stands for a Xen dom0 (the real xenstored,
// the fake hypervisor under the real libxenctrl, sim/README.md); SIGTERM and
// a new agent process on the same socket stand for `systemctl restart
// xenlet`. The Python variant runs Debian's /usr/bin/python3 with its
// python3-grpcio and python3-protobuf and stubs generated at test time by
// examples/python/generate.sh (Debian's protoc and grpc_python_plugin):
// system tools outside Bazel's graph, as the orchestrator would use them.
//
// Every wait is bounded and driven by the client's own output lines (a dump
// comes at each SYNCED or BOOKMARK: the agent sends a BOOKMARK every second
// on an idle stream here); nothing sleeps to synchronise.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "tests/testing/child_process.h"
#include "tests/testing/subprocess.h"
#include "tools/cpp/runfiles/runfiles.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

extern char** environ;

namespace xenlet {
namespace {

using bazel::tools::cpp::runfiles::Runfiles;

// How long the client may take to show a state: a sweep (0.2 s), a
// BOOKMARK (1 s), and after a restart the client's reconnect backoff.
constexpr absl::Duration kConvergeTimeout = absl::Seconds(60);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using xenlet::testing::Child;

// One model dump of the client: "# model instance=I revision=R domains=N",
// one line per domain, "# end"; and the summary line before it.
struct Dump {
  std::string summary;
  std::string header;
  std::string instance;
  std::vector<std::string> domains;
};

std::string Field(const std::string& line, const std::string& key) {
  for (absl::string_view part : absl::StrSplit(line, ' ')) {
    if (absl::ConsumePrefix(&part, key + "=")) return std::string(part);
  }
  return "";
}

// What the summary line before a dump must say about it: the kind of
// catch-up, the dump's point, its size, and its domains counted by state
// (in the enum's order, only states present).
std::string ExpectedSummary(const std::string& kind, const Dump& dump) {
  std::map<int, int> by_state;
  for (const std::string& line : dump.domains) {
    const std::string state = line.substr(line.rfind(' ') + 1);
    v1::DomainState value;
    if (!v1::DomainState_Parse("DOMAIN_STATE_" + state, &value)) return "";
    ++by_state[value];
  }
  std::string want = absl::StrCat(kind, dump.header.substr(strlen("# model")));
  for (const auto& [state, count] : by_state) {
    absl::StrAppend(&want, " ",
                    v1::DomainState_Name(state).substr(strlen("DOMAIN_STATE_")),
                    "=", count);
  }
  return want;
}

class ExampleClientTest : public ::testing::TestWithParam<std::string> {
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
    socket_ = host_->dir() + "/xenlet.sock";
    agent_log_ = host_->dir() + "/agent.log";
    client_log_ = host_->dir() + "/client.log";

    // The environment of the children, without the simulated host's preload.
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "LD_PRELOAD=")) env_.push_back(*e);
    }
    const std::vector<std::string> flags = {"--socket", socket_, "--dump",
                                            "--bookmark-interval", "1"};
    if (GetParam() == "cpp") {
      client_argv_ = {runfiles->Rlocation("xenlet/examples/cpp/model_client")};
    } else {
      // The stubs, generated the way the example's README says.
      const std::string stubs = host_->dir() + "/stubs";
      testing::ProcessResult generated = testing::RunProcess(
          {runfiles->Rlocation("xenlet/examples/python/generate.sh"), stubs});
      ASSERT_EQ(generated.code, 0) << generated.out;
      client_argv_ = {
          "/usr/bin/python3",
          runfiles->Rlocation("xenlet/examples/python/xenlet_model.py")};
      client_env_.push_back("PYTHONPATH=" + stubs);
    }
    client_argv_.insert(client_argv_.end(), flags.begin(), flags.end());
  }

  void TearDown() override {
    // Whatever failed: every process this test started ends here (and the
    // host's xenstored with host_).
    client_.reset();
    agent_.reset();
  }

  // Starts an agent on the host and waits until it answers; returns its
  // instance id.
  std::string StartAgent() {
    std::vector<std::string> env = env_;
    for (const auto& [key, value] : host_->PreloadEnv()) {
      env.push_back(absl::StrCat(key, "=", value));
    }
    agent_ = Child::Start(
        {agent_binary_, "--socket", socket_, "--sweep-interval", "0.2",
         "--bookmark-interval", "1", "--metrics-address", "127.0.0.1:0"},
        env, agent_log_);
    if (agent_ == nullptr) {
      ADD_FAILURE() << "cannot start " << agent_binary_;
      return "";
    }
    // A fresh channel (none of an earlier agent's reconnect backoff); the
    // call waits for the socket and the server (wait_for_ready).
    auto stub = v1::DomainService::NewStub(grpc::CreateChannel(
        "unix:" + socket_, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::ListDomainsRequest request;
    request.set_page_size(1);
    v1::ListDomainsResponse response;
    grpc::Status status = stub->ListDomains(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message() << "\n"
                             << ReadFile(agent_log_);
    return response.snapshot().instance_id();
  }

  // SIGTERM, as systemd stops it: it must end its streams and exit 0.
  void StopAgent() {
    const int status = agent_->Stop(SIGTERM);
    agent_.reset();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "status " << status << "\n"
        << ReadFile(agent_log_);
  }

  void StartClient() {
    std::vector<std::string> env = env_;
    env.insert(env.end(), client_env_.begin(), client_env_.end());
    client_ = Child::Start(client_argv_, env, client_log_);
    ASSERT_NE(client_, nullptr) << "cannot start " << client_argv_[0];
  }

  sim::CreatedDomain Create(const std::string& name) {
    sim::DomainSpec spec;
    spec.name = name;
    auto created = toolstack_->CreateDomain(spec);
    EXPECT_TRUE(created.ok()) << name << ": " << created.status();
    return created.ok() ? *created : sim::CreatedDomain{};
  }

  // The host as it is, one dump line per domain, in domid order: the
  // hypervisor's domain table (one getdomaininfolist hypercall, a
  // consistent view) and each domain's name from xenstore. Read once the
  // test has stopped changing the host. The state is derived as the agent
  // does; a paused domain is PAUSED, not CREATED: every domain this test
  // pauses was started by the toolstack and seen running by an agent (see
  // the test).
  std::vector<std::string> Truth() {
    std::vector<xen::DomainInfo> infos;
    absl::Status s = toolstack_->hypervisor().GetAllDomains(&infos);
    EXPECT_TRUE(s.ok()) << s;
    std::vector<std::string> lines;
    for (const xen::DomainInfo& info : infos) {
      auto name = toolstack_->xenstore().Read(
          absl::StrCat("/local/domain/", info.domid, "/name"));
      EXPECT_TRUE(name.ok() || absl::IsNotFound(name.status()))
          << name.status();
      const char* state = info.dying      ? "DYING"
                          : info.shutdown ? "SHUTDOWN"
                          : info.paused   ? "PAUSED"
                                          : "RUNNING";
      lines.push_back(absl::StrCat(info.domid, " ", info.Uuid(), " ",
                                   name.ok() && !name->empty() ? *name : "-",
                                   " ", state));
    }
    return lines;
  }

  // Reads the client's output until it dumps a model of agent `instance`
  // that equals the truth. Checks every summary line on the way; records
  // which instances were caught up with a SYNCED.
  void AwaitModel(const std::string& instance) {
    const std::vector<std::string> truth = Truth();
    const absl::Time deadline = absl::Now() + kConvergeTimeout;
    std::optional<Dump> last;
    std::string summary;
    while (true) {
      std::optional<std::string> line = client_->ReadLine(deadline);
      if (!line.has_value()) break;
      if (absl::StartsWith(*line, "SYNCED ") ||
          absl::StartsWith(*line, "BOOKMARK ")) {
        summary = *line;
        if (absl::StartsWith(*line, "SYNCED ")) {
          synced_instances_.push_back(Field(*line, "instance"));
        }
        continue;
      }
      if (!absl::StartsWith(*line, "# model ")) {
        ADD_FAILURE() << "unexpected line: " << *line;
        continue;
      }
      Dump dump;
      dump.summary = summary;
      dump.header = *line;
      dump.instance = Field(*line, "instance");
      while ((line = client_->ReadLine(deadline)).has_value() &&
             *line != "# end") {
        dump.domains.push_back(*line);
      }
      if (!line.has_value()) break;
      const std::string kind = summary.substr(0, summary.find(' '));
      EXPECT_EQ(summary, ExpectedSummary(kind, dump))
          << "the summary does not match the dump that follows it";
      EXPECT_EQ(Field(dump.header, "domains"),
                absl::StrCat(dump.domains.size()));
      last = dump;
      if (dump.instance == instance && dump.domains == truth) return;
    }
    ADD_FAILURE() << GetParam() << " client never showed the host as it is ("
                  << instance << "):\n  " << absl::StrJoin(truth, "\n  ")
                  << "\nlast dump: "
                  << (last ? absl::StrCat(last->summary, "\n", last->header,
                                          "\n  ",
                                          absl::StrJoin(last->domains, "\n  "))
                           : std::string("none"))
                  << "\nclient stderr:\n"
                  << ReadFile(client_log_);
  }

  std::unique_ptr<sim::SimHost> host_;
  std::unique_ptr<sim::Toolstack> toolstack_;
  std::string agent_binary_, socket_, agent_log_, client_log_;
  std::vector<std::string> env_, client_argv_, client_env_;
  std::unique_ptr<Child> agent_, client_;
  std::vector<std::string> synced_instances_;
};

TEST_P(ExampleClientTest, KeepsTheModelAcrossAnAgentRestart) {
  const sim::CreatedDomain before1 = Create("before-1");
  const sim::CreatedDomain before2 = Create("before-2");
  const std::string first = StartAgent();
  ASSERT_FALSE(first.empty());
  StartClient();
  // In the client's listing, or live events after it.
  const sim::CreatedDomain live1 = Create("live-1");
  const sim::CreatedDomain live2 = Create("live-2");
  const sim::CreatedDomain live3 = Create("live-3");
  AwaitModel(first);
  ASSERT_FALSE(HasFailure());

  // Live events for sure: the client holds all of the above.
  ASSERT_TRUE(toolstack_->DestroyDomain(live3.domid).ok());
  // Started, and seen running by the agent: PAUSED (see Truth()).
  ASSERT_TRUE(toolstack_->PauseDomain(before2.domid).ok());
  const sim::CreatedDomain live4 = Create("live-4");
  AwaitModel(first);
  ASSERT_FALSE(HasFailure());

  // The agent restarts; the host changes while it is away ...
  StopAgent();
  Create("while-down");
  ASSERT_TRUE(toolstack_->DestroyDomain(before1.domid).ok());
  ASSERT_TRUE(toolstack_->UnpauseDomain(before2.domid).ok());
  ASSERT_TRUE(toolstack_->PauseDomain(live1.domid).ok());
  const std::string second = StartAgent();
  ASSERT_FALSE(second.empty());
  ASSERT_NE(second, first);
  // ... and once it is back, perhaps before the client is.
  const sim::CreatedDomain after = Create("after-restart");
  ASSERT_TRUE(toolstack_->DestroyDomain(live2.domid).ok());
  // Seen running by the new agent's first sweep: PAUSED.
  ASSERT_TRUE(toolstack_->PauseDomain(live4.domid).ok());
  AwaitModel(second);
  ASSERT_FALSE(HasFailure());

  // It resynced from the inline state the new instance sent: told why,
  // then a SYNCED of the new instance.
  const std::string log = ReadFile(client_log_);
  EXPECT_TRUE(absl::StrContains(log, "RESYNC_REQUIRED (INSTANCE_CHANGED)"))
      << log;
  EXPECT_NE(
      std::find(synced_instances_.begin(), synced_instances_.end(), second),
      synced_instances_.end())
      << log;

  // And it follows the new instance's live events.
  ASSERT_TRUE(toolstack_->DestroyDomain(after.domid).ok());
  Create("last");
  AwaitModel(second);

  // SIGTERM ends it cleanly.
  const int status = client_->Stop(SIGTERM);
  client_.reset();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "status " << status << "\n"
      << ReadFile(client_log_);
}

INSTANTIATE_TEST_SUITE_P(Clients, ExampleClientTest,
                         ::testing::Values("python", "cpp"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xenlet
