// A client for gRPC server reflection (grpc.reflection.v1alpha), which
// Debian ships no client stubs for: the wire-compatible messages from
// //proto:reflection_client_cc over a raw method call.
#ifndef XENLET_TESTS_TESTING_REFLECTION_CLIENT_H_
#define XENLET_TESTS_TESTING_REFLECTION_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace xenlet::testing {

class ReflectionClient {
 public:
  explicit ReflectionClient(std::shared_ptr<grpc::Channel> channel);

  // Fully qualified names of every service the server offers.
  absl::StatusOr<std::vector<std::string>> ListServices();

  // Resolves the file that defines symbol, and every file it imports, into
  // pool (the way grpcurl builds its descriptors).
  absl::Status LoadSymbol(const std::string& symbol,
                          google::protobuf::DescriptorPool* pool);

 private:
  absl::Status LoadFiles(const std::string& request_kind,
                         const std::string& name,
                         google::protobuf::DescriptorPool* pool);
  std::shared_ptr<grpc::Channel> channel_;
  std::vector<google::protobuf::FileDescriptorProto> pending_;
};

}  // namespace xenlet::testing

#endif  // XENLET_TESTS_TESTING_REFLECTION_CLIENT_H_
