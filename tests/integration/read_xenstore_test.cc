// ReadXenstore on a simulated host: one transaction per call, a result per
// path, and nothing outside the allow-listed subtrees is ever read.
#include <grpcpp/grpcpp.h>

#include <fstream>

#include "agent/server.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "store/domain_store.h"
#include "xen/libxenstore_client.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet {
namespace {

TEST(ReadXenstoreTest, ReadsAllowedPathsInOneTransaction) {
  sim::SimHostOptions host_options;
  host_options.trace = true;
  auto host = sim::SimHost::Start(host_options);
  ASSERT_TRUE(host.ok()) << host.status();
  auto toolstack = (*host)->NewToolstack();
  ASSERT_TRUE(toolstack.ok());
  sim::DomainSpec spec;
  spec.name = "reader-1";
  auto domain = (*toolstack)->CreateDomain(spec);
  ASSERT_TRUE(domain.ok()) << domain.status();

  store::DomainStore store;
  agent::ServerOptions options;
  options.listeners.unix_socket = (*host)->dir() + "/xenlet.sock";
  const std::string socket = (*host)->socket_path();
  agent::Backends backends;
  backends.store = &store;
  backends.xenstore = [socket] { return xen::OpenLibxenstoreClient({socket}); };
  auto server = agent::AgentServer::Start(options, backends);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::DomainService::NewStub(grpc::CreateChannel(
      "unix:" + (*server)->unix_socket(), grpc::InsecureChannelCredentials()));

  const std::string base = xen::DomainPath(domain->domid);
  v1::ReadXenstoreRequest request;
  request.add_paths(base + "/name");
  request.add_paths(base + "/no-such-key");
  request.add_paths("/libxl/" + std::to_string(domain->domid));  // not allowed
  request.add_paths("/tool/xenstored");                          // not allowed
  request.add_paths(base + "/memory");
  request.set_list_children(true);
  auto transactions = (*host)->CountTracedRequests("TRANSACTION_START");
  ASSERT_TRUE(transactions.ok()) << transactions.status();
  grpc::ClientContext context;
  v1::ReadXenstoreResponse response;
  grpc::Status status = stub->ReadXenstore(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 5);
  EXPECT_EQ(response.results(0).path(), base + "/name");
  EXPECT_EQ(response.results(0).status().code(), 0);
  EXPECT_EQ(response.results(0).value(), "reader-1");
  EXPECT_EQ(response.results(1).status().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(response.results(2).status().code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(response.results(3).status().code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(response.results(4).status().code(), 0);
  EXPECT_GT(response.results(4).children_size(), 0);  // target, static-max
  auto after = (*host)->CountTracedRequests("TRANSACTION_START");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after - *transactions, 1);
  // The refused paths were never sent to xenstored.
  std::ifstream trace((*host)->trace_path());
  std::string line;
  while (std::getline(trace, line)) {
    if (line.rfind("IN ", 0) != 0 ||
        line.find(" READ (") == std::string::npos) {
      continue;
    }
    EXPECT_EQ(line.find("/tool/xenstored"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace xenlet
