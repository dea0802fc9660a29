// The agent's gRPC server in-process on a unix socket: health, reflection,
// listeners, control authorisation, and that every method of the API
// answers (UNAVAILABLE without its backend) rather than crashing.
#include "agent/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "store/domain_store.h"
#include "tests/testing/reflection_client.h"
#include "tests/testing/temp_dir.h"
#include "xenlet/v1/control_service.grpc.pb.h"
#include "xenlet/v1/domain_service.grpc.pb.h"
#include "xenlet/v1/host_service.grpc.pb.h"

namespace xenlet::agent {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using xenlet::testing::ReflectionClient;
using xenlet::testing::TempDir;

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(bool control_enabled, std::vector<uid_t> uids = {},
                   std::vector<gid_t> gids = {}) {
    ServerOptions options;
    options.listeners.unix_socket = dir_.File("xenlet.sock");
    options.control.enabled = control_enabled;
    options.control.allowed_uids = std::move(uids);
    options.control.allowed_gids = std::move(gids);
    auto server = AgentServer::Start(options, {&store_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel("unix:" + server_->unix_socket(),
                                   grpc::InsecureChannelCredentials());
  }

  TempDir dir_;
  store::DomainStore store_;
  std::unique_ptr<AgentServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ServerTest, HealthReportsServingForServerAndEveryService) {
  StartServer(false);
  auto health = Health::NewStub(channel_);
  std::vector<std::string> names = {""};
  for (const char* name : AgentServer::kServiceNames) names.push_back(name);
  for (const std::string& name : names) {
    grpc::ClientContext context;
    HealthCheckRequest request;
    request.set_service(name);
    HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    ASSERT_TRUE(status.ok()) << name << ": " << status.error_message();
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << name;
  }
  grpc::ClientContext context;
  HealthCheckRequest request;
  request.set_service("no.such.Service");
  HealthCheckResponse response;
  EXPECT_EQ(health->Check(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, ReflectionListsAndResolvesEveryService) {
  StartServer(false);
  ReflectionClient reflection(channel_);
  auto services = reflection.ListServices();
  ASSERT_TRUE(services.ok()) << services.status();
  std::vector<std::string> expected = {
      "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"};
  for (const char* name : AgentServer::kServiceNames) expected.push_back(name);
  for (const std::string& name : expected) {
    EXPECT_NE(std::find(services->begin(), services->end(), name),
              services->end())
        << name << " is not listed";
  }

  // Resolve each service from the server's descriptors alone, as grpcurl
  // does, and check its methods and their message types are complete.
  google::protobuf::DescriptorPool pool;
  const std::map<std::string, std::vector<std::string>> methods = {
      {"xenlet.v1.DomainService",
       {"ListDomains", "GetDomains", "WatchDomains", "ReadXenstore"}},
      {"xenlet.v1.HostService", {"GetHost"}},
      {"xenlet.v1.ControlService",
       {"PauseDomains", "UnpauseDomains", "ShutdownDomains", "DestroyDomains"}},
      {"grpc.health.v1.Health", {"Check", "Watch"}},
  };
  for (const auto& [service_name, method_names] : methods) {
    ASSERT_TRUE(reflection.LoadSymbol(service_name, &pool).ok())
        << service_name;
    const google::protobuf::ServiceDescriptor* service =
        pool.FindServiceByName(service_name);
    ASSERT_NE(service, nullptr) << service_name;
    EXPECT_EQ(service->method_count(), static_cast<int>(method_names.size()));
    for (const std::string& method_name : method_names) {
      const google::protobuf::MethodDescriptor* method =
          service->FindMethodByName(method_name);
      ASSERT_NE(method, nullptr) << service_name << "." << method_name;
      EXPECT_GT(method->input_type()->field_count() +
                    method->output_type()->field_count(),
                0)
          << method->full_name();
    }
  }
  const google::protobuf::MethodDescriptor* watch =
      pool.FindMethodByName("xenlet.v1.DomainService.WatchDomains");
  ASSERT_NE(watch, nullptr);
  EXPECT_TRUE(watch->server_streaming());
  EXPECT_NE(pool.FindMessageTypeByName("xenlet.v1.Domain"), nullptr);
}

// Each method that needs a backend this server lacks, with a valid request:
// a clear UNAVAILABLE, never a crash or a hang.
TEST_F(ServerTest, MethodsWithoutTheirBackendSaySo) {
  StartServer(/*control_enabled=*/true);
  auto domains = v1::DomainService::NewStub(channel_);
  auto control = v1::ControlService::NewStub(channel_);
  // No hypervisor handle for control in this server.
  auto expect_unavailable = [](const grpc::Status& status,
                               const std::string& method) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << method;
    EXPECT_NE(status.error_message().find("no hypervisor"), std::string::npos)
        << status.error_message();
  };
  v1::DomainSelector selector;
  selector.set_domid(7);
  {
    grpc::ClientContext c;
    v1::ReadXenstoreRequest q;
    q.add_paths("/local/domain/7/name");
    v1::ReadXenstoreResponse r;
    // Without a xenstore connection (none in this test) it says so.
    grpc::Status status = domains->ReadXenstore(&c, q, &r);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  v1::ControlResponse r;
  {
    grpc::ClientContext c;
    v1::PauseDomainsRequest q;
    *q.add_selectors() = selector;
    expect_unavailable(control->PauseDomains(&c, q, &r), "PauseDomains");
  }
  {
    grpc::ClientContext c;
    v1::UnpauseDomainsRequest q;
    *q.add_selectors() = selector;
    expect_unavailable(control->UnpauseDomains(&c, q, &r), "UnpauseDomains");
  }
  {
    grpc::ClientContext c;
    v1::ShutdownDomainsRequest q;
    *q.add_selectors() = selector;
    expect_unavailable(control->ShutdownDomains(&c, q, &r), "ShutdownDomains");
  }
  {
    grpc::ClientContext c;
    v1::DestroyDomainsRequest q;
    *q.add_selectors() = selector;
    expect_unavailable(control->DestroyDomains(&c, q, &r), "DestroyDomains");
  }
}

// On the unix socket the caller's uid and gid (SO_PEERCRED) decide, when
// the policy names any: this test's own uid is refused unless named.
TEST_F(ServerTest, UnixCallersAreAllowedControlByUidOrGid) {
  auto pause = [this] {
    auto control = v1::ControlService::NewStub(channel_);
    grpc::ClientContext c;
    v1::PauseDomainsRequest q;
    q.add_selectors()->set_domid(3);
    v1::ControlResponse r;
    return control->PauseDomains(&c, q, &r);
  };
  StartServer(true, {getuid() + 12345});
  grpc::Status refused = pause();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(refused.error_message().find(absl::StrCat("uid ", getuid())),
            std::string::npos)
      << refused.error_message();
  server_->Shutdown(absl::ZeroDuration());
  // Allowed by uid, then by gid: past the check (no hypervisor here).
  StartServer(true, {getuid()});
  EXPECT_EQ(pause().error_code(), grpc::StatusCode::UNAVAILABLE);
  server_->Shutdown(absl::ZeroDuration());
  StartServer(true, {getuid() + 12345}, {getgid()});
  EXPECT_EQ(pause().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServerTest, ControlIsRefusedUnlessEnabled) {
  StartServer(/*control_enabled=*/false);
  auto control = v1::ControlService::NewStub(channel_);
  grpc::ClientContext c;
  v1::DestroyDomainsRequest q;
  q.add_selectors()->set_domid(3);
  v1::ControlResponse r;
  grpc::Status status = control->DestroyDomains(&c, q, &r);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find("--enable-control"), std::string::npos);
}

TEST_F(ServerTest, SocketHasRequestedModeAndIsRemovedOnShutdown) {
  StartServer(false);
  const std::string path = server_->unix_socket();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  server_->Shutdown(absl::Seconds(1));
  EXPECT_FALSE(std::filesystem::exists(path));
  server_->Shutdown(absl::Seconds(1));  // idempotent
}

TEST_F(ServerTest, CreatesTheSocketDirectory) {
  ServerOptions options;
  options.listeners.unix_socket = dir_.File("run/xenlet/xenlet.sock");
  auto server = AgentServer::Start(options, {&store_});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(std::filesystem::exists(options.listeners.unix_socket));
}

TEST_F(ServerTest, ReplacesAStaleSocketButNotALiveOne) {
  const std::string path = dir_.File("xenlet.sock");
  // A socket file that nobody listens on, as a killed agent leaves it.
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);

  ServerOptions options;
  options.listeners.unix_socket = path;
  auto first = AgentServer::Start(options, {&store_});
  ASSERT_TRUE(first.ok()) << first.status();

  auto second = AgentServer::Start(options, {&store_});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("already running"),
            std::string::npos);
}

TEST_F(ServerTest, ServesOnLoopbackTcpToo) {
  ServerOptions options;
  options.listeners.unix_socket = dir_.File("xenlet.sock");
  options.listeners.tcp_address = "127.0.0.1:0";
  auto server = AgentServer::Start(options, {&store_});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->tcp_port(), 0);
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string((*server)->tcp_port()),
                          grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  HealthCheckResponse response;
  ASSERT_TRUE(Health::NewStub(channel)->Check(&context, {}, &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
}

TEST_F(ServerTest, RefusesPlaintextTcpOffLoopback) {
  ServerOptions options;
  options.listeners.unix_socket = dir_.File("xenlet.sock");
  options.listeners.tcp_address = "0.0.0.0:0";
  auto server = AgentServer::Start(options, {&store_});
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(server.status().message().find("--listen"), std::string::npos);
  EXPECT_NE(server.status().message().find("TLS"), std::string::npos);
}

}  // namespace
}  // namespace xenlet::agent
