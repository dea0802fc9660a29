// A TLS listener with mutual authentication: only clients whose certificate
// is on the --control-client list may call ControlService over TCP.
#include "agent/server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"
#include "xenlet/v1/control_service.grpc.pb.h"

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

TEST_F(TlsControlTest, ClientWithoutCertificateCannotConnect) {
  grpc::Status status = Pause(Connect(nullptr));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

TEST_F(TlsControlTest, ClientFromAnotherCaCannotConnect) {
  xenlet::testing::TempDir other_dir;
  xenlet::testing::TestCa other_ca(other_dir.path(), "rogue-ca");
  CertFiles client = other_ca.IssueClient("orchestrator");
  EXPECT_EQ(Pause(Connect(&client)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace xenlet::agent
