// Every method that takes input, called over gRPC with a malformed field:
// INVALID_ARGUMENT whose message starts with the field's path.
#include <functional>

#include "agent/server.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "xenlet/v1/control_service.grpc.pb.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::agent {
namespace {

using google::protobuf::TextFormat;

struct Case {
  std::string method;
  std::string request;     // text format
  std::string field_path;  // what the message must start with
};

class InvalidArgumentTest : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new xenlet::testing::TempDir();
    store_ = new store::DomainStore();
    ServerOptions options;
    options.listeners.unix_socket = dir_->File("xenlet.sock");
    options.control.enabled = true;  // so validation, not policy, answers
    auto server = AgentServer::Start(options, {store_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    auto channel = grpc::CreateChannel("unix:" + server_->unix_socket(),
                                       grpc::InsecureChannelCredentials());
    domains_ = v1::DomainService::NewStub(channel).release();
    control_ = v1::ControlService::NewStub(channel).release();
  }
  static void TearDownTestSuite() {
    delete domains_;
    delete control_;
    delete server_;
    delete store_;
    delete dir_;
  }

  template <typename Request>
  static Request Parse(const std::string& text) {
    Request request;
    EXPECT_TRUE(TextFormat::ParseFromString(text, &request)) << text;
    return request;
  }

  grpc::Status Call(const Case& c) {
    grpc::ClientContext context;
    if (c.method == "ListDomains") {
      v1::ListDomainsResponse r;
      return domains_->ListDomains(
          &context, Parse<v1::ListDomainsRequest>(c.request), &r);
    }
    if (c.method == "GetDomains") {
      v1::GetDomainsResponse r;
      return domains_->GetDomains(&context,
                                  Parse<v1::GetDomainsRequest>(c.request), &r);
    }
    if (c.method == "WatchDomains") {
      auto reader = domains_->WatchDomains(
          &context, Parse<v1::WatchDomainsRequest>(c.request));
      v1::WatchDomainsResponse event;
      EXPECT_FALSE(reader->Read(&event)) << "a rejected watch sent an event";
      return reader->Finish();
    }
    if (c.method == "ReadXenstore") {
      v1::ReadXenstoreResponse r;
      return domains_->ReadXenstore(
          &context, Parse<v1::ReadXenstoreRequest>(c.request), &r);
    }
    v1::ControlResponse r;
    if (c.method == "PauseDomains") {
      return control_->PauseDomains(
          &context, Parse<v1::PauseDomainsRequest>(c.request), &r);
    }
    if (c.method == "UnpauseDomains") {
      return control_->UnpauseDomains(
          &context, Parse<v1::UnpauseDomainsRequest>(c.request), &r);
    }
    if (c.method == "ShutdownDomains") {
      return control_->ShutdownDomains(
          &context, Parse<v1::ShutdownDomainsRequest>(c.request), &r);
    }
    if (c.method == "DestroyDomains") {
      return control_->DestroyDomains(
          &context, Parse<v1::DestroyDomainsRequest>(c.request), &r);
    }
    ADD_FAILURE() << "unknown method " << c.method;
    return grpc::Status::OK;
  }

  static xenlet::testing::TempDir* dir_;
  static store::DomainStore* store_;
  static AgentServer* server_;
  static v1::DomainService::Stub* domains_;
  static v1::ControlService::Stub* control_;
};

xenlet::testing::TempDir* InvalidArgumentTest::dir_ = nullptr;
store::DomainStore* InvalidArgumentTest::store_ = nullptr;
AgentServer* InvalidArgumentTest::server_ = nullptr;
v1::DomainService::Stub* InvalidArgumentTest::domains_ = nullptr;
v1::ControlService::Stub* InvalidArgumentTest::control_ = nullptr;

TEST_P(InvalidArgumentTest, NamesTheField) {
  const Case& c = GetParam();
  grpc::Status status = Call(c);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << c.method << " {" << c.request << "}: " << status.error_message();
  EXPECT_EQ(status.error_message().rfind(c.field_path + ":", 0), 0u)
      << "message does not start with \"" << c.field_path
      << ":\": " << status.error_message();
}

const Case kCases[] = {
    // ListDomains
    {"ListDomains", "page_size: -1", "page_size"},
    {"ListDomains", "page_size: 10001", "page_size"},
    {"ListDomains", "page_token: 'not a token!'", "page_token"},
    {"ListDomains", "page_token: 'eDE6Yjox'", "page_token"},
    {"ListDomains", "read_mask { paths: 'domid' paths: 'colour' }",
     "read_mask.paths[1]"},
    {"ListDomains", "read_mask { paths: 'domid' paths: '' }",
     "read_mask.paths[1]"},
    {"ListDomains", "filter { domids: 3 domids: 32752 }", "filter.domids[1]"},
    {"ListDomains", "filter { uuids: 'not-a-uuid' }", "filter.uuids[0]"},
    {"ListDomains", "filter { states: DOMAIN_STATE_UNSPECIFIED }",
     "filter.states[0]"},
    // GetDomains
    {"GetDomains", "", "selectors"},
    {"GetDomains", "selectors { domid: 40000 }", "selectors[0].domid"},
    {"GetDomains", "selectors { domid: 1 } selectors { }", "selectors[1]"},
    {"GetDomains", "selectors { uuid: '1234' }", "selectors[0].uuid"},
    {"GetDomains", "selectors { name: '' }", "selectors[0].name"},
    {"GetDomains", "selectors { domid: 1 } read_mask { paths: 'nope' }",
     "read_mask.paths[0]"},
    // WatchDomains
    {"WatchDomains", "resume { revision: 5 }", "resume.instance_id"},
    {"WatchDomains", "filter { domids: 99999 }", "filter.domids[0]"},
    {"WatchDomains", "event_types: EVENT_TYPE_SYNCED", "event_types[0]"},
    {"WatchDomains", "read_mask { paths: 'memory.nope' }",
     "read_mask.paths[0]"},
    {"WatchDomains", "read_mask { paths: 'memory.' }", "read_mask.paths[0]"},
    {"WatchDomains", "bookmark_interval { seconds: -1 }", "bookmark_interval"},
    {"WatchDomains", "stats_interval { seconds: 7200 }", "stats_interval"},
    // ReadXenstore
    {"ReadXenstore", "", "paths"},
    {"ReadXenstore", "paths: 'local/domain/1'", "paths[0]"},
    {"ReadXenstore", "paths: '/local/domain/1' paths: '/local//domain'",
     "paths[1]"},
    {"ReadXenstore", "paths: '/local/domain/1/name/'", "paths[0]"},
    {"ReadXenstore", "paths: '/local/domain/1/na me'", "paths[0]"},
    // ControlService
    {"PauseDomains", "", "selectors"},
    {"PauseDomains", "selectors { domid: 32752 }", "selectors[0].domid"},
    {"UnpauseDomains",
     "selectors { uuid: 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz' }",
     "selectors[0].uuid"},
    {"DestroyDomains", "selectors { }", "selectors[0]"},
    {"ShutdownDomains", "selectors { domid: 70000 }", "selectors[0].domid"},
    {"ShutdownDomains", "selectors { domid: 7 } timeout { seconds: -5 }",
     "timeout"},
    {"ShutdownDomains", "selectors { domid: 7 } timeout { seconds: 601 }",
     "timeout"},
    {"ShutdownDomains", "selectors { domid: 7 } timeout { seconds: 0 }",
     "timeout"},
    {"ShutdownDomains", "selectors { domid: 7 } mode: SHUTDOWN_MODE_SOFT_RESET",
     "mode"},
    {"PauseDomains", "selectors { domid: 7 } request_id: 'a b'", "request_id"},
    {"DestroyDomains",
     "selectors { uuid: '00112233-4455-6677-8899-aabbccddeeff' "
     "expect_uuid: '00112233-4455-6677-8899-aabbccddeeff' }",
     "selectors[0].expect_uuid"},
    {"UnpauseDomains", "selectors { domid: 7 expect_uuid: 'x' }",
     "selectors[0].expect_uuid"},
};

INSTANTIATE_TEST_SUITE_P(AllMethods, InvalidArgumentTest,
                         ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.method + "_" +
                                  std::to_string(info.index);
                         });

}  // namespace
}  // namespace xenlet::agent
