#include "agent/grpc_status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace xenlet::agent {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

void SetItemStatus(const absl::Status& status, v1::ItemStatus* out) {
  out->set_code(static_cast<int32_t>(status.code()));
  out->set_message(std::string(status.message()));
}

grpc::Status Unimplemented(const char* method) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      absl::StrCat(method,
                                   " is part of the xenlet.v1 API but is not "
                                   "implemented by this agent version yet"));
}

}  // namespace xenlet::agent
