// The xenlet binary as an operator runs it, on a simulated host: it serves
// the model over its unix socket, and on SIGTERM or SIGINT it ends open
// watch streams with a status, removes its socket and exits 0. On SIGHUP it
// reloads its TLS files, and open streams stay up.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "tests/metrics/metrics_test_util.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"
#include "tests/testing/tls_client.h"
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
  void StartAgent(const std::vector<std::string>& extra_args = {}) {
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
    args.insert(args.end(), extra_args.begin(), extra_args.end());
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

  // Bounded polling of the log for a line the agent writes.
  bool WaitForLog(const std::string& text) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      if (Log().find(text) != std::string::npos) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  // The number after key in the agent's log (waiting for it); 0 if none.
  int LoggedNumber(const std::string& key) {
    if (!WaitForLog(key)) return 0;
    const std::string log = Log();
    const size_t at = log.find(key) + key.size();
    int value = 0;
    if (!absl::SimpleAtoi(log.substr(at, log.find_first_of(" \n", at) - at),
                          &value)) {
      return 0;
    }
    return value;
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

using AgentReloadTest = AgentProcessTest;

TEST_F(AgentReloadTest, SighupReloadsCertificatesAndKeepsStreamsOpen) {
  xenlet::testing::TempDir tls_dir, old_dir, new_dir;
  xenlet::testing::TestCa old_ca(old_dir.path(), "old-ca");
  xenlet::testing::TestCa new_ca(new_dir.path(), "new-ca");
  const std::string cert = tls_dir.File("server.pem");
  const std::string key = tls_dir.File("server.key");
  auto install = [&](const std::string& from_cert,
                     const std::string& from_key) {
    for (const auto& [from, to] :
         {std::pair{from_cert, cert}, std::pair{from_key, key}}) {
      std::ofstream(to + ".new") << xenlet::testing::ReadFileOrDie(from);
      std::filesystem::rename(to + ".new", to);
    }
  };
  xenlet::testing::CertFiles old_files = old_ca.IssueServer("xenlet-host");
  install(old_files.cert, old_files.key);
  StartAgent({"--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key,
              "--tls-staging-dir", tls_dir.path()});
  const int port = LoggedNumber("tcp_port=");
  ASSERT_GT(port, 0) << Log();
  auto list_ok = [&](const xenlet::testing::TestCa& ca) {
    return xenlet::testing::ListsOverTls(ca.cert_file(), port);
  };

  // A watch stream on a TLS connection made with the old certificate.
  auto stub = v1::DomainService::NewStub(
      xenlet::testing::NewTlsChannel(old_ca.cert_file(), port));
  grpc::ClientContext watch_context;
  v1::WatchDomainsRequest request;
  request.set_initial_state(true);
  auto reader = stub->WatchDomains(&watch_context, request);
  v1::WatchDomainsResponse event;
  while (reader->Read(&event) && event.type() != v1::EVENT_TYPE_SYNCED) {
  }
  ASSERT_EQ(event.type(), v1::EVENT_TYPE_SYNCED);

  // A bad renewal (a key that is not the certificate's) is refused.
  xenlet::testing::CertFiles new_files = new_ca.IssueServer("xenlet-host");
  install(new_files.cert, old_files.key);
  ASSERT_EQ(kill(pid_, SIGHUP), 0);
  ASSERT_TRUE(WaitForLog("tls_reload_refused")) << Log();
  EXPECT_TRUE(list_ok(old_ca)) << "the refused renewal stopped the old one";

  install(new_files.cert, new_files.key);
  ASSERT_EQ(kill(pid_, SIGHUP), 0);
  ASSERT_TRUE(WaitForLog("tls_reloaded")) << Log();
  // Bounded polling: the staged set is served within a second.
  bool renewed = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!renewed && absl::Now() < deadline) {
    renewed = list_ok(new_ca);
    if (!renewed) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(renewed) << Log();
  EXPECT_FALSE(list_ok(old_ca)) << "the old CA still verifies the agent";

  // Both reloads are counted, and the expiry is the new certificate's.
  const int metrics_port =
      LoggedNumber("metrics_serving address=127.0.0.1:0 port=");
  ASSERT_GT(metrics_port, 0) << Log();
  auto scrape =
      metrics_test::HttpGet(metrics_port, "/metrics", absl::Seconds(10));
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  auto samples = metrics_test::ParseExposition(scrape->body);
  ASSERT_TRUE(samples.ok()) << samples.status();
  std::map<std::string, double> reloads;
  double not_after = 0;
  for (const metrics_test::Sample& sample : *samples) {
    if (sample.name == "xenlet_tls_reloads_total") {
      for (const auto& [label, value] : sample.labels) {
        if (label == "outcome") reloads[value] = std::stod(sample.value);
      }
    }
    if (sample.name == "xenlet_tls_certificate_expiry_timestamp_seconds") {
      not_after = std::stod(sample.value);
    }
  }
  EXPECT_EQ(reloads["refused"], 1) << scrape->body;
  EXPECT_EQ(reloads["applied"], 1) << scrape->body;
  // The test CA issues for 2 days.
  EXPECT_GT(not_after, absl::ToDoubleSeconds(absl::Now() + absl::Hours(47) -
                                             absl::UnixEpoch()));

  // The stream from before both reloads still delivers.
  auto toolstack = host_->NewToolstack();
  ASSERT_TRUE(toolstack.ok()) << toolstack.status();
  sim::DomainSpec spec;
  spec.name = "after-reload";
  auto created = (*toolstack)->CreateDomain(spec);
  ASSERT_TRUE(created.ok()) << created.status();
  bool seen = false;
  while (!seen && reader->Read(&event)) {
    seen = event.type() == v1::EVENT_TYPE_ADDED &&
           event.domain().domid() == created->domid;
  }
  EXPECT_TRUE(seen) << "the stream opened before the reload ended";
  watch_context.TryCancel();
  while (reader->Read(&event)) {
  }
}

}  // namespace
}  // namespace xenlet
