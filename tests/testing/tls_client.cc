#include "tests/testing/tls_client.h"

#include <chrono>

#include "tests/testing/test_certs.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::testing {

std::shared_ptr<grpc::Channel> NewTlsChannel(const std::string& ca_file,
                                             int port) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFileOrDie(ca_file);
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("localhost:" + std::to_string(port),
                                   grpc::SslCredentials(ssl), args);
}

bool ListsOverTls(const std::string& ca_file, int port) {
  auto stub = v1::DomainService::NewStub(NewTlsChannel(ca_file, port));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(2));
  v1::ListDomainsResponse response;
  return stub->ListDomains(&context, {}, &response).ok();
}

}  // namespace xenlet::testing
