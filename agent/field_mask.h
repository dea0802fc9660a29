// Field masks over xenlet.v1.Domain (read_mask in requests).
#ifndef XENLET_AGENT_FIELD_MASK_H_
#define XENLET_AGENT_FIELD_MASK_H_

#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/field_mask.pb.h"
#include "xenlet/v1/domain.pb.h"

namespace xenlet::agent {

// OK if every path names a field of Domain ("memory.current_bytes" names a
// sub-field); otherwise INVALID_ARGUMENT naming "<field_name>.paths[i]".
absl::Status ValidateDomainMask(const google::protobuf::FieldMask& mask,
                                std::string_view field_name);

// Keeps only the masked fields of domain; an empty mask keeps everything.
void ApplyDomainMask(const google::protobuf::FieldMask& mask,
                     v1::Domain* domain);

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_FIELD_MASK_H_
