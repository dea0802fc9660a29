// Turns command-line strings into API messages: domain selectors, filters,
// field masks, event types. Checked locally so a typo fails before any RPC,
// with a message naming the flag.
#ifndef XENLET_TOOLS_XENLETCTL_SELECTORS_H_
#define XENLET_TOOLS_XENLETCTL_SELECTORS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "xenlet/v1/domain.pb.h"
#include "xenlet/v1/domain_service.pb.h"

namespace xenlet::ctl {

// Xen's largest guest domid (DOMID_FIRST_RESERVED - 1).
inline constexpr uint32_t kMaxDomid = 32751;

// The DomainFilter flags of list and watch, as typed.
struct FilterFlags {
  std::vector<std::string> domids;
  std::vector<std::string> uuids;
  std::string name_prefix;
  std::vector<std::string> states;
};

// "7" -> 7. `flag` names the source in the error ("--domid").
absl::StatusOr<uint32_t> ParseDomid(const std::string& text,
                                    const std::string& flag);

// 32 hex digits, bare or dashed 8-4-4-4-12, any case -> canonical lowercase
// dashed form.
absl::StatusOr<std::string> ParseUuid(const std::string& text,
                                      const std::string& flag);

// A get selector: a domid ("7"), a UUID, or "name:NAME". "domid:7" and
// "uuid:U" are accepted too.
absl::StatusOr<xenlet::v1::DomainSelector> ParseSelector(
    const std::string& text);

// Renders a selector the way ParseSelector reads it.
std::string SelectorToString(const xenlet::v1::DomainSelector& selector);

absl::StatusOr<xenlet::v1::DomainFilter> BuildFilter(const FilterFlags& flags);

// Comma lists of Domain field paths ("domid,memory.current_bytes"); each
// path must exist in xenlet.v1.Domain.
absl::StatusOr<google::protobuf::FieldMask> ParseFieldMask(
    const std::vector<std::string>& fields);

// "INSTANCE:REVISION" -> ResumePoint (the instance id is everything before
// the last colon).
absl::StatusOr<xenlet::v1::ResumePoint> ParseResumePoint(
    const std::string& text);

// Event kinds a watch may ask for: added, modified, deleted, stats.
absl::StatusOr<xenlet::v1::EventType> ParseEventType(const std::string& text);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_SELECTORS_H_
