// How API values look to an operator: short lowercase names for the API's
// enums, byte counts and durations, one-line watch events, and the protobuf
// JSON printer for --json. Domain tables are in domain_table.h.
#ifndef XENLET_TOOLS_XENLETCTL_DOMAIN_FORMAT_H_
#define XENLET_TOOLS_XENLETCTL_DOMAIN_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
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

// Short enough for a table column (at most 7 characters below 1000 days),
// like ps's TIME: "12.3s", "12m05s", "3h04m", "2d03h".
std::string CompactDuration(absl::Duration duration);

// The domain's CPU time as CompactDuration.
std::string FormatCpuTime(uint64_t nanoseconds);

// One line per watch event, without newline, short enough for 80 columns
// with 20-character names:
//   <HH:MM:SS> <TYPE> <transition> domid=.. name=.. [state=..] [reason=..]
//       [coalesced]
// state= is left out when the transition names it (created, started,
// paused, unpaused, shutdown, dying, destroyed), reason= when there is none.
//   <HH:MM:SS> STATS domid=.. name=.. vcpus=<online> mem=.. cpu=..
//   <HH:MM:SS> SYNCED|BOOKMARK <instance>:<revision>   (the resume point)
//   <HH:MM:SS> RESYNC_REQUIRED reason=.. instance=..
// The time is the agent's detected time, or for events without one (the
// initial state, STATS, markers) `received`, in `zone`.
std::string EventLine(const xenlet::v1::WatchDomainsResponse& event,
                      absl::TimeZone zone, absl::Time received);

// Single-line protobuf JSON (no hand-written JSON). Field names are the
// proto3 JSON (lowerCamelCase) names, as grpcurl prints them.
std::string ToJson(const google::protobuf::Message& message);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_DOMAIN_FORMAT_H_
