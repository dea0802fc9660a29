#include "agent/field_mask.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/field_mask_util.h"

namespace xenlet::agent {

using google::protobuf::util::FieldMaskUtil;

absl::Status ValidateDomainMask(const google::protobuf::FieldMask& mask,
                                std::string_view field_name) {
  for (int i = 0; i < mask.paths_size(); ++i) {
    const std::string& path = mask.paths(i);
    // FieldMaskUtil takes "" (and empty segments) for the whole message:
    // a caller who sent one meant a field and mistyped it.
    if (path.empty() || absl::StrContains(path, "..") ||
        absl::StartsWith(path, ".") || absl::EndsWith(path, ".")) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(field_name), ".paths[", i, "]: \"", path,
          "\" is not a field path (fields joined by single dots, e.g. "
          "\"memory.current_bytes\")"));
    }
    if (!FieldMaskUtil::GetFieldDescriptors(v1::Domain::descriptor(), path,
                                            nullptr)) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(field_name), ".paths[", i, "]: \"", path,
          "\" is not a field of xenlet.v1.Domain (e.g. \"domid\", \"name\", "
          "\"memory.current_bytes\")"));
    }
  }
  return absl::OkStatus();
}

void ApplyDomainMask(const google::protobuf::FieldMask& mask,
                     v1::Domain* domain) {
  if (mask.paths_size() == 0) return;
  FieldMaskUtil::TrimMessage(mask, domain);
}

}  // namespace xenlet::agent
