// The xenlet binary as an operator runs it, on a simulated host: it serves
// the model over its unix socket, and on SIGTERM or SIGINT it ends open
// watch streams with a status, removes its socket and exits 0.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "tools/cpp/runfiles/runfiles.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

extern char** environ;

namespace xenlet {
namespace {

using bazel::tools::cpp::runfiles::Runfiles;

class AgentProcessTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    auto host = sim::SimHost::Start();
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    std::string error;
    std::unique_ptr<Runfiles> runfiles(Runfiles::CreateForTest(&error));
    ASSERT_NE(runfiles, nullptr) << error;
    binary_ = runfiles->Rlocation("xenlet/agent/xenlet");
    socket_ = host_->dir() + "/xenlet.sock";
    log_ = host_->dir() + "/agent.log";
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Starts xenlet under the simulated host's preload; waits for SERVING.
  void StartAgent() {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      if (std::string_view(*e).rfind("LD_PRELOAD=", 0) != 0) {
        env_strings.push_back(*e);
      }
    }
    for (const auto& [k, v] : host_->PreloadEnv()) {
      env_strings.push_back(absl::StrCat(k, "=", v));
    }
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = {
        binary_, "--socket",          socket_,      "--sweep-interval",
        "0.2",   "--metrics-address", "127.0.0.1:0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_EQ(posix_spawn(&pid_, binary_.c_str(), &actions, nullptr,
                          argv.data(), envp.data()),
              0);
    posix_spawn_file_actions_destroy(&actions);
    channel_ = grpc::CreateChannel("unix:" + socket_,
                                   grpc::InsecureChannelCredentials());
    // Connect waits until the socket exists and the server answers.
    ASSERT_TRUE(channel_->WaitForConnected(std::chrono::system_clock::now() +
                                           std::chrono::seconds(20)))
        << Log();
    auto health = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(&context, {}, &response).ok()) << Log();
    ASSERT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
  }

  std::string Log() {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::unique_ptr<sim::SimHost> host_;
  std::string binary_, socket_, log_;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_P(AgentProcessTest, ServesTheModelAndShutsDownCleanly) {
  auto toolstack = host_->NewToolstack();
  ASSERT_TRUE(toolstack.ok()) << toolstack.status();
  sim::DomainSpec spec;
  spec.name = "before-start";
  ASSERT_TRUE((*toolstack)->CreateDomain(spec).ok());
  StartAgent();

  auto stub = v1::DomainService::NewStub(channel_);
  grpc::ClientContext watch_context;
  v1::WatchDomainsRequest request;
  request.set_initial_state(true);
  auto reader = stub->WatchDomains(&watch_context, request);
  v1::WatchDomainsResponse event;
  bool seen_existing = false;
  while (reader->Read(&event) && event.type() != v1::EVENT_TYPE_SYNCED) {
    if (event.domain().domid() == 1) seen_existing = true;
  }
  ASSERT_EQ(event.type(), v1::EVENT_TYPE_SYNCED);
  EXPECT_TRUE(seen_existing);

  // A domain booted now arrives on the open stream.
  spec.name = "after-start";
  auto created = (*toolstack)->CreateDomain(spec);
  ASSERT_TRUE(created.ok());
  bool seen_new = false;
  while (!seen_new && reader->Read(&event)) {
    seen_new = event.domain().domid() == created->domid &&
               event.type() == v1::EVENT_TYPE_ADDED;
  }
  ASSERT_TRUE(seen_new);

  ASSERT_EQ(kill(pid_, GetParam()), 0);
  while (reader->Read(&event)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid_, &wstatus, 0), pid_);
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(wstatus)) << Log();
  EXPECT_EQ(WEXITSTATUS(wstatus), 0) << Log();
  EXPECT_FALSE(std::filesystem::exists(socket_));
  EXPECT_NE(Log().find("shutting_down"), std::string::npos) << Log();
}

INSTANTIATE_TEST_SUITE_P(Signals, AgentProcessTest,
                         ::testing::Values(SIGTERM, SIGINT));

}  // namespace
}  // namespace xenlet
