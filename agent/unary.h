// Small helpers for callback-API handlers.
#ifndef XENLET_AGENT_UNARY_H_
#define XENLET_AGENT_UNARY_H_

#include <grpcpp/grpcpp.h>

namespace xenlet::agent {

// Finishes a unary call at once with status.
inline grpc::ServerUnaryReactor* FinishUnary(
    grpc::CallbackServerContext* context, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// A server stream that ends with status before sending anything (a
// rejected request).
template <typename Response>
class FinishedWriter : public grpc::ServerWriteReactor<Response> {
 public:
  explicit FinishedWriter(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_UNARY_H_
