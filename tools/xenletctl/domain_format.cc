#include "tools/xenletctl/domain_format.h"

#include <cctype>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace xenlet::ctl {
namespace {

using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using xenlet::v1::Domain;
using xenlet::v1::WatchDomainsResponse;

// DOMAIN_STATE_RUNNING -> "running" given the prefix "DOMAIN_STATE_".
std::string ShortName(const EnumDescriptor* descriptor, int value,
                      const std::string& prefix) {
  const EnumValueDescriptor* v = descriptor->FindValueByNumber(value);
  if (v == nullptr) return std::to_string(value);
  if (value == 0) return "-";
  std::string name = v->name();
  if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  for (char& c : name) c = std::tolower(static_cast<unsigned char>(c));
  return name;
}

// The state a transition leaves a domain in, if it says; UNSPECIFIED for
// existing, updated and resumed, which do not.
xenlet::v1::DomainState ImpliedState(xenlet::v1::Transition transition) {
  switch (transition) {
    case xenlet::v1::TRANSITION_CREATED:
      return xenlet::v1::DOMAIN_STATE_CREATED;
    case xenlet::v1::TRANSITION_STARTED:
    case xenlet::v1::TRANSITION_UNPAUSED:
      return xenlet::v1::DOMAIN_STATE_RUNNING;
    case xenlet::v1::TRANSITION_PAUSED:
      return xenlet::v1::DOMAIN_STATE_PAUSED;
    case xenlet::v1::TRANSITION_SHUTDOWN:
      return xenlet::v1::DOMAIN_STATE_SHUTDOWN;
    case xenlet::v1::TRANSITION_DYING:
      return xenlet::v1::DOMAIN_STATE_DYING;
    case xenlet::v1::TRANSITION_DESTROYED:
      return xenlet::v1::DOMAIN_STATE_DESTROYED;
    default:
      return xenlet::v1::DOMAIN_STATE_UNSPECIFIED;
  }
}

}  // namespace

std::string StateName(xenlet::v1::DomainState state) {
  return ShortName(xenlet::v1::DomainState_descriptor(), state,
                   "DOMAIN_STATE_");
}

std::string XenstoreStateName(xenlet::v1::XenstoreConnectionState state) {
  return ShortName(xenlet::v1::XenstoreConnectionState_descriptor(), state,
                   "XENSTORE_CONNECTION_STATE_");
}

std::string ShutdownReasonName(xenlet::v1::ShutdownReason reason) {
  return ShortName(xenlet::v1::ShutdownReason_descriptor(), reason,
                   "SHUTDOWN_REASON_");
}

std::string ControlOutcomeName(xenlet::v1::ControlOutcome outcome) {
  return ShortName(xenlet::v1::ControlOutcome_descriptor(), outcome,
                   "CONTROL_OUTCOME_");
}

std::string TransitionName(xenlet::v1::Transition transition) {
  return ShortName(xenlet::v1::Transition_descriptor(), transition,
                   "TRANSITION_");
}

std::string EventTypeName(xenlet::v1::EventType type) {
  // Upper case: the event kind is the line's keyword.
  std::string name =
      ShortName(xenlet::v1::EventType_descriptor(), type, "EVENT_TYPE_");
  for (char& c : name) c = std::toupper(static_cast<unsigned char>(c));
  return name;
}

std::string ResyncReasonName(xenlet::v1::ResyncReason reason) {
  return ShortName(xenlet::v1::ResyncReason_descriptor(), reason,
                   "RESYNC_REASON_");
}

absl::StatusOr<xenlet::v1::DomainState> ParseStateName(
    const std::string& text) {
  std::string upper;
  for (char c : text) {
    upper.push_back(c == '-' ? '_'
                             : std::toupper(static_cast<unsigned char>(c)));
  }
  if (!absl::StartsWith(upper, "DOMAIN_STATE_")) {
    upper = "DOMAIN_STATE_" + upper;
  }
  xenlet::v1::DomainState state;
  if (!xenlet::v1::DomainState_Parse(upper, &state) ||
      state == xenlet::v1::DOMAIN_STATE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a domain state (",
                     absl::StrJoin(StateNames(), ", "), ")"));
  }
  return state;
}

std::vector<std::string> StateNames() {
  std::vector<std::string> names;
  const EnumDescriptor* d = xenlet::v1::DomainState_descriptor();
  for (int i = 0; i < d->value_count(); ++i) {
    if (d->value(i)->number() == 0) continue;
    names.push_back(
        StateName(static_cast<xenlet::v1::DomainState>(d->value(i)->number())));
  }
  return names;
}

std::string FormatBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  // Whole numbers print without decimals: "512MiB", not "512.0MiB".
  if (unit == 0 || value == static_cast<double>(static_cast<uint64_t>(value))) {
    std::snprintf(buf, sizeof(buf), "%.0f%s", value, kUnits[unit]);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f%s", value, kUnits[unit]);
  }
  return buf;
}

std::string CompactDuration(absl::Duration duration) {
  if (duration < absl::ZeroDuration()) duration = absl::ZeroDuration();
  // Truncated, not rounded: 59.96s is not yet a minute.
  const int64_t tenths = absl::ToInt64Milliseconds(duration) / 100;
  const int64_t seconds = tenths / 10;
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof(buf), "%lld.%llds",
                  static_cast<long long>(seconds),
                  static_cast<long long>(tenths % 10));
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds",
                  static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  } else if (seconds < 86400) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm",
                  static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds / 60 % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lldd%02lldh",
                  static_cast<long long>(seconds / 86400),
                  static_cast<long long>(seconds / 3600 % 24));
  }
  return buf;
}

std::string FormatCpuTime(uint64_t nanoseconds) {
  return CompactDuration(absl::Nanoseconds(nanoseconds));
}

std::string EventLine(const WatchDomainsResponse& event, absl::TimeZone zone,
                      absl::Time received) {
  absl::Time when = received;
  if (event.has_detected_time()) {
    when = absl::FromUnixSeconds(event.detected_time().seconds()) +
           absl::Nanoseconds(event.detected_time().nanos());
  }
  // Time of day only: the date (and nanoseconds) are in --json.
  const std::string time = absl::FormatTime("%H:%M:%S", when, zone);
  std::string line = absl::StrCat(time, " ", EventTypeName(event.type()));
  const Domain& d = event.domain();
  const std::string name = d.name().empty() ? "-" : d.name();
  switch (event.type()) {
    case xenlet::v1::EVENT_TYPE_SYNCED:
    case xenlet::v1::EVENT_TYPE_BOOKMARK:
      // The resume point, as --resume takes it.
      return event.instance_id().empty()
                 ? absl::StrCat(line, " ", event.revision())
                 : absl::StrCat(line, " ", event.instance_id(), ":",
                                event.revision());
    case xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED:
      return absl::StrCat(line,
                          " reason=", ResyncReasonName(event.resync_reason()),
                          " instance=", event.instance_id());
    case xenlet::v1::EVENT_TYPE_STATS:
      // The volatile fields are what a STATS event is for (online vCPUs;
      // the maximum is static); the state is in the events that change it.
      return absl::StrCat(line, " domid=", d.domid(), " name=", name,
                          " vcpus=", d.vcpus_online(),
                          " mem=", FormatBytes(d.memory().current_bytes()),
                          " cpu=", FormatCpuTime(d.cpu_time_ns()));
    default:
      break;
  }
  absl::StrAppend(&line, " ", TransitionName(event.transition()),
                  " domid=", d.domid(), " name=", name);
  // "paused domid=7 name=x" says the state already; 80 columns are few.
  if (d.state() != ImpliedState(event.transition())) {
    absl::StrAppend(&line, " state=", StateName(d.state()));
  }
  // Only set for shut-down domains: "reason=-" on every line is noise.
  if (d.shutdown_reason() != xenlet::v1::SHUTDOWN_REASON_UNSPECIFIED) {
    absl::StrAppend(&line, " reason=", ShutdownReasonName(d.shutdown_reason()));
  }
  if (event.coalesced()) absl::StrAppend(&line, " coalesced");
  return line;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  // Messages built by this process always print; a failure would be a bug.
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    return "{}";
  }
  return json;
}

}  // namespace xenlet::ctl
