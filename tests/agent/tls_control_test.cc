// A TLS listener with mutual authentication: only clients whose certificate
// is on the --control-client list may call ControlService over TCP.
#include <filesystem>
#include <fstream>

#include "absl/time/clock.h"
#include "agent/server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"
#include "tests/testing/tls_client.h"
#include "xenlet/v1/control_service.grpc.pb.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::agent {
namespace {

using xenlet::testing::CertFiles;
using xenlet::testing::ReadFileOrDie;

class TlsControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = std::make_unique<xenlet::testing::TestCa>(dir_.path());
    CertFiles server_cert = ca_->IssueServer("xenlet-host");
    ServerOptions options;
    options.listeners.unix_socket = dir_.File("xenlet.sock");
    options.listeners.tcp_address = "127.0.0.1:0";
    options.listeners.tls = {server_cert.cert, server_cert.key,
                             ca_->cert_file()};
    options.control.enabled = true;
    options.control.allowed_clients = {"orchestrator"};
    auto server = AgentServer::Start(options, {&store_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::shared_ptr<grpc::Channel> Connect(const CertFiles* client) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFileOrDie(ca_->cert_file());
    if (client) {
      ssl.pem_cert_chain = ReadFileOrDie(client->cert);
      ssl.pem_private_key = ReadFileOrDie(client->key);
    }
    return grpc::CreateChannel(
        "localhost:" + std::to_string(server_->tcp_port()),
        grpc::SslCredentials(ssl));
  }

  grpc::Status Pause(std::shared_ptr<grpc::Channel> channel) {
    auto control = v1::ControlService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::PauseDomainsRequest request;
    request.add_selectors()->set_domid(5);
    v1::ControlResponse response;
    return control->PauseDomains(&context, request, &response);
  }

  xenlet::testing::TempDir dir_;
  store::DomainStore store_;
  std::unique_ptr<xenlet::testing::TestCa> ca_;
  std::unique_ptr<AgentServer> server_;
};

TEST_F(TlsControlTest, AuthorisedClientPassesTheCheck) {
  CertFiles client = ca_->IssueClient("orchestrator");
  // Past authorisation the request reaches the method, which has no
  // hypervisor in this test.
  EXPECT_EQ(Pause(Connect(&client)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsControlTest, OtherClientIsDenied) {
  CertFiles client = ca_->IssueClient("intruder");
  grpc::Status status = Pause(Connect(&client));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find("not authorised"), std::string::npos);
}

// A TLS client without a certificate may query, but not control.
TEST_F(TlsControlTest, ClientWithoutCertificateQueriesButCannotControl) {
  std::shared_ptr<grpc::Channel> channel = Connect(nullptr);
  grpc::Status status = Pause(channel);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << status.error_message();
  EXPECT_NE(status.error_message().find("client certificate"),
            std::string::npos);
  auto domains = v1::DomainService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::ListDomainsResponse list;
  EXPECT_TRUE(domains->ListDomains(&context, {}, &list).ok());
}

TEST_F(TlsControlTest, ClientFromAnotherCaCannotConnect) {
  xenlet::testing::TempDir other_dir;
  xenlet::testing::TestCa other_ca(other_dir.path(), "rogue-ca");
  CertFiles client = other_ca.IssueClient("orchestrator");
  EXPECT_EQ(Pause(Connect(&client)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// A reload (what SIGHUP does) serves renewed certificates to new
// connections without a restart, refuses a bad renewal and keeps serving
// the old one, and a stream opened before stays open throughout.
TEST(TlsReloadTest, RenewedCertificatesApplyAndStreamsStayOpen) {
  xenlet::testing::TempDir dir, old_dir, new_dir;
  xenlet::testing::TestCa old_ca(old_dir.path(), "old-ca");
  xenlet::testing::TestCa new_ca(new_dir.path(), "new-ca");
  const std::string cert = dir.File("server.pem"), key = dir.File("server.key");
  auto install = [&](const CertFiles& files) {
    // Written aside, then renamed: the watcher never reads half a file.
    for (const auto& [from, to] :
         {std::pair{files.cert, cert}, std::pair{files.key, key}}) {
      std::ofstream(to + ".new") << ReadFileOrDie(from);
      std::filesystem::rename(to + ".new", to);
    }
  };
  install(old_ca.IssueServer("xenlet-host"));
  store::DomainStore store;
  ServerOptions options;
  options.listeners.unix_socket = dir.File("xenlet.sock");
  options.listeners.tcp_address = "127.0.0.1:0";
  options.listeners.tls.cert_file = cert;
  options.listeners.tls.key_file = key;
  auto server = AgentServer::Start(options, {&store});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->tcp_port();
  auto list_ok = [&](const xenlet::testing::TestCa& ca) {
    return xenlet::testing::ListsOverTls(ca.cert_file(), port);
  };
  ASSERT_TRUE(list_ok(old_ca));
  // A watch stream on a connection made with the old certificate.
  auto watcher = v1::DomainService::NewStub(
      xenlet::testing::NewTlsChannel(old_ca.cert_file(), port));
  grpc::ClientContext watch_context;
  v1::WatchDomainsRequest watch_request;
  watch_request.set_initial_state(true);
  auto stream = watcher->WatchDomains(&watch_context, watch_request);
  v1::WatchDomainsResponse message;
  ASSERT_TRUE(stream->Read(&message));  // SYNCED of an empty store
  ASSERT_EQ((*server)->open_streams(), 1u);

  // A renewal whose key is not its certificate's: refused, old one kept.
  CertFiles renewed_files = new_ca.IssueServer("xenlet-host");
  CertFiles unrelated = new_ca.IssueServer("unrelated");
  install({renewed_files.cert, unrelated.key});
  auto refused = (*server)->ReloadTls();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--tls-key"), std::string::npos)
      << refused.status();
  EXPECT_TRUE(list_ok(old_ca)) << "a refused renewal stopped the old one";

  install(renewed_files);
  auto applied = (*server)->ReloadTls();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(applied->changed);
  // Bounded polling for a condition: gRPC's watcher takes the staged set
  // up within TlsReloader::kStagedPollInterval.
  bool renewed = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!renewed && absl::Now() < deadline) {
    renewed = list_ok(new_ca);
    if (!renewed) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(renewed) << "the renewed certificate was never served";
  EXPECT_FALSE(list_ok(old_ca)) << "the old CA still verifies the agent";
  EXPECT_EQ((*server)->open_streams(), 1u) << "the reload dropped the stream";
  watch_context.TryCancel();
  while (stream->Read(&message)) {
  }
  (*server)->Shutdown(absl::Seconds(1));
}

TEST(TlsReloadTest, WithoutTlsThereIsNothingToReload) {
  xenlet::testing::TempDir dir;
  store::DomainStore store;
  ServerOptions options;
  options.listeners.unix_socket = dir.File("xenlet.sock");
  auto server = AgentServer::Start(options, {&store});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->ReloadTls().status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*server)->tls_not_after(), absl::InfiniteFuture());
}

}  // namespace
}  // namespace xenlet::agent
