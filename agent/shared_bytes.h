// ByteBuffers over bytes the agent already holds, without copying them
// (the slice keeps its bytes alive until gRPC has sent them), and the
// requests of raw methods.
#ifndef XENLET_AGENT_SHARED_BYTES_H_
#define XENLET_AGENT_SHARED_BYTES_H_

#include <grpcpp/support/byte_buffer.h>

#include <string>

#include "google/protobuf/message.h"
#include "store/encoded_forms.h"

namespace xenlet::agent {

// Shared bytes (an event's encoded form): a reference is held.
grpc::ByteBuffer WrapShared(store::Encoded bytes);
// Bytes made for one message: moved into the buffer.
grpc::ByteBuffer WrapString(std::string bytes);
// A raw method's request parsed into out; false if it is not one.
bool ParseRequest(const grpc::ByteBuffer& raw, google::protobuf::Message* out);

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_SHARED_BYTES_H_
