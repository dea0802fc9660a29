// absl::Status inside the agent, grpc::Status at the service edge.
#ifndef XENLET_AGENT_GRPC_STATUS_H_
#define XENLET_AGENT_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "xenlet/v1/domain.pb.h"

namespace xenlet::agent {

// The codes are numerically identical; the message is kept.
grpc::Status ToGrpcStatus(const absl::Status& status);

// For per-item results inside batch answers.
void SetItemStatus(const absl::Status& status, v1::ItemStatus* out);

// The answer of a method that is part of the API but not built yet.
grpc::Status Unimplemented(const char* method);

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_GRPC_STATUS_H_
