// How a Domain and a watch event look to an operator: short lowercase names
// for the API's enums, table rows, one-line events, and the protobuf JSON
// printer for --json.
#ifndef XENLET_TOOLS_XENLETCTL_DOMAIN_FORMAT_H_
#define XENLET_TOOLS_XENLETCTL_DOMAIN_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "xenlet/v1/control_service.pb.h"
#include "xenlet/v1/domain.pb.h"
#include "xenlet/v1/domain_service.pb.h"
#include "xenlet/v1/host_service.pb.h"

namespace xenlet::ctl {

// DOMAIN_STATE_RUNNING -> "running", SHUTDOWN_REASON_SOFT_RESET ->
// "soft_reset"; UNSPECIFIED -> "-". Derived from the enum descriptors so new
// values need no code here.
std::string StateName(xenlet::v1::DomainState state);
std::string XenstoreStateName(xenlet::v1::XenstoreConnectionState state);
std::string ShutdownReasonName(xenlet::v1::ShutdownReason reason);
std::string TransitionName(xenlet::v1::Transition transition);
std::string ControlOutcomeName(xenlet::v1::ControlOutcome outcome);
std::string EventTypeName(xenlet::v1::EventType type);
std::string ResyncReasonName(xenlet::v1::ResyncReason reason);

// "running", "RUNNING", "DOMAIN_STATE_RUNNING" -> DOMAIN_STATE_RUNNING.
// UNSPECIFIED is refused.
absl::StatusOr<xenlet::v1::DomainState> ParseStateName(const std::string& text);

// The short names of every state, for help and errors.
std::vector<std::string> StateNames();

// 0 -> "0B", 536870912 -> "512MiB", 1610612736 -> "1.5GiB".
std::string FormatBytes(uint64_t bytes);

// The table columns of a domain, in DomainRow's order.
std::vector<std::string> DomainHeader();

// One row per DomainHeader. A column whose field the mask leaves out is "-"
// (an absent field would otherwise print as 0 and mislead). Empty mask: all.
std::vector<std::string> DomainRow(const xenlet::v1::Domain& domain,
                                   const google::protobuf::FieldMask& mask);

// One line per watch event, without newline:
// "<time> <revision> <TYPE> <transition> domid=.. name=.. state=.. reason=..
// [coalesced]" (STATS add "vcpus=.. mem=.. cpu=.."), or for markers
// "<time> <revision> SYNCED".
std::string EventLine(const xenlet::v1::WatchDomainsResponse& event);

// Single-line protobuf JSON (no hand-written JSON). Field names are the
// proto3 JSON (lowerCamelCase) names, as grpcurl prints them.
std::string ToJson(const google::protobuf::Message& message);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_DOMAIN_FORMAT_H_
