#include "agent/shared_bytes.h"

#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/slice.h>

#include <memory>

#include "common/happens_before.h"

namespace xenlet::agent {

grpc::ByteBuffer WrapShared(store::Encoded bytes) {
  auto* holder = new store::Encoded(std::move(bytes));
  grpc::Slice slice(
      const_cast<char*>((*holder)->data()), (*holder)->size(),
      [](void* held) {
        XENLET_HAPPENS_AFTER(held);
        delete static_cast<store::Encoded*>(held);
      },
      holder);
  // gRPC drops the slice on whichever thread releases it last.
  XENLET_HAPPENS_BEFORE(holder);
  return grpc::ByteBuffer(&slice, 1);
}

grpc::ByteBuffer WrapString(std::string bytes) {
  return WrapShared(std::make_shared<const std::string>(std::move(bytes)));
}

bool ParseRequest(const grpc::ByteBuffer& raw, google::protobuf::Message* out) {
  grpc::ByteBuffer copy(raw);  // the reader wants it mutable; slices shared
  grpc::ProtoBufferReader reader(&copy);
  return out->ParseFromZeroCopyStream(&reader);
}

}  // namespace xenlet::agent
