#include "tests/testing/reflection_client.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/impl/codegen/rpc_method.h>
#include <grpcpp/impl/codegen/sync_stream.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "xenlet/testing/reflection_client.pb.h"

namespace xenlet::testing {
namespace {

namespace refl = xenlet::testing::reflection;

constexpr char kMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

absl::StatusOr<refl::ServerReflectionResponse> Ask(
    grpc::Channel* channel, const refl::ServerReflectionRequest& request) {
  grpc::internal::RpcMethod method(kMethod,
                                   grpc::internal::RpcMethod::BIDI_STREAMING);
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<refl::ServerReflectionRequest,
                                           refl::ServerReflectionResponse>>
      stream(grpc::internal::ClientReaderWriterFactory<
             refl::ServerReflectionRequest,
             refl::ServerReflectionResponse>::Create(channel, method,
                                                     &context));
  refl::ServerReflectionResponse response;
  bool ok = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  if (!ok) return absl::InternalError("reflection stream ended early");
  if (response.has_error_response()) {
    return absl::Status(
        static_cast<absl::StatusCode>(response.error_response().error_code()),
        response.error_response().error_message());
  }
  return response;
}

}  // namespace

ReflectionClient::ReflectionClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)) {}

absl::StatusOr<std::vector<std::string>> ReflectionClient::ListServices() {
  refl::ServerReflectionRequest request;
  request.set_list_services("*");
  auto response = Ask(channel_.get(), request);
  if (!response.ok()) return response.status();
  std::vector<std::string> names;
  for (const auto& service : response->list_services_response().service()) {
    names.push_back(service.name());
  }
  return names;
}

absl::Status ReflectionClient::LoadFiles(
    const std::string& request_kind, const std::string& name,
    google::protobuf::DescriptorPool* pool) {
  refl::ServerReflectionRequest request;
  if (request_kind == "symbol") {
    request.set_file_containing_symbol(name);
  } else {
    request.set_file_by_filename(name);
  }
  auto response = Ask(channel_.get(), request);
  if (!response.ok()) return response.status();
  for (const std::string& bytes :
       response->file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    if (!file.ParseFromString(bytes)) {
      return absl::DataLossError("unparseable FileDescriptorProto");
    }
    if (pool->FindFileByName(file.name())) continue;
    // Imports first: a file can only be built once its imports are.
    for (const std::string& dependency : file.dependency()) {
      if (pool->FindFileByName(dependency)) continue;
      if (auto s = LoadFiles("file", dependency, pool); !s.ok()) return s;
    }
    if (!pool->FindFileByName(file.name()) && !pool->BuildFile(file)) {
      return absl::InternalError(
          absl::StrCat("descriptor of ", file.name(), " does not build"));
    }
  }
  return absl::OkStatus();
}

absl::Status ReflectionClient::LoadSymbol(
    const std::string& symbol, google::protobuf::DescriptorPool* pool) {
  return LoadFiles("symbol", symbol, pool);
}

}  // namespace xenlet::testing
