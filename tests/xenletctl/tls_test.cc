// xenletctl over TCP with TLS: --tls-ca verifies the agent, --tls-cert and
// --tls-key authenticate the client. The server is a test double of
// HostService (GetHost only), with throwaway certificates from openssl.
#include <memory>
#include <sstream>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"
#include "tools/xenletctl/commands.h"
#include "xenlet/v1/host_service.grpc.pb.h"

namespace xenlet::ctl {
namespace {

using xenlet::testing::ReadFileOrDie;

class FakeHostService final : public xenlet::v1::HostService::Service {
  grpc::Status GetHost(grpc::ServerContext*, const xenlet::v1::GetHostRequest*,
                       xenlet::v1::Host* host) override {
    host->mutable_agent()->set_instance_id("tls-instance");
    return grpc::Status::OK;
  }
};

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() : ca_(dir_.path()) {}

  // Serves on a free loopback port; with require_client_cert, mutual TLS.
  void Start(bool require_client_cert) {
    xenlet::testing::CertFiles server = ca_.IssueServer("server");
    grpc::SslServerCredentialsOptions ssl(
        require_client_cert
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    ssl.pem_root_certs = ReadFileOrDie(ca_.cert_file());
    ssl.pem_key_cert_pairs.push_back(
        {ReadFileOrDie(server.key), ReadFileOrDie(server.cert)});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl),
                             &port_);
    builder.RegisterService(&host_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }

  GlobalOptions Global() {
    GlobalOptions global;
    global.connection.address = "127.0.0.1:" + std::to_string(port_);
    global.connection.tls_ca = ca_.cert_file();
    global.json = true;
    return global;
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  xenlet::testing::TempDir dir_;
  xenlet::testing::TestCa ca_;
  FakeHostService host_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(TlsTest, VerifiesTheAgentWithTheCa) {
  Start(/*require_client_cert=*/false);
  EXPECT_EQ(RunHost(Global(), out_, err_), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("tls-instance"), std::string::npos);
}

TEST_F(TlsTest, RefusesAnAgentSignedByAnotherCa) {
  Start(/*require_client_cert=*/false);
  xenlet::testing::TestCa other(dir_.path(), "other");
  GlobalOptions global = Global();
  global.connection.tls_ca = other.cert_file();
  EXPECT_EQ(RunHost(global, out_, err_), kExitRpcError);
  // Named as the agent that could not be reached, with what to check.
  EXPECT_EQ(err_.str().rfind("xenletctl: cannot reach xenlet at 127.0.0.1:", 0),
            0u)
      << err_.str();
  EXPECT_NE(err_.str().find("--tls-ca must be the CA"), std::string::npos)
      << err_.str();
}

TEST_F(TlsTest, ClientCertificateForMutualTls) {
  Start(/*require_client_cert=*/true);
  xenlet::testing::CertFiles client = ca_.IssueClient("operator");
  GlobalOptions global = Global();
  global.connection.tls_cert = client.cert;
  global.connection.tls_key = client.key;
  EXPECT_EQ(RunHost(global, out_, err_), kExitOk) << err_.str();

  std::ostringstream out, err;
  EXPECT_EQ(RunHost(Global(), out, err), kExitRpcError);  // no certificate
}

}  // namespace
}  // namespace xenlet::ctl
