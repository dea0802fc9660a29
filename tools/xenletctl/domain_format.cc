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
#include "google/protobuf/util/time_util.h"

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

// Whether the mask keeps `path` (or a parent of it). Empty mask keeps all.
bool Covers(const google::protobuf::FieldMask& mask, const std::string& path) {
  if (mask.paths_size() == 0) return true;
  for (const std::string& p : mask.paths()) {
    if (p == path || absl::StartsWith(path, p + ".")) return true;
  }
  return false;
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

std::vector<std::string> DomainHeader() {
  return {"DOMID", "NAME", "UUID",   "STATE",   "REASON",
          "VCPUS", "MEM",  "MAXMEM", "CPUTIME", "FLAGS"};
}

std::vector<std::string> DomainRow(const Domain& domain,
                                   const google::protobuf::FieldMask& mask) {
  auto cell = [&](const std::string& path, std::string value) {
    return Covers(mask, path) ? value : std::string("-");
  };
  auto or_dash = [](const std::string& s) { return s.empty() ? "-" : s; };

  std::string vcpus = "-";
  if (Covers(mask, "vcpus_online") || Covers(mask, "vcpus_max")) {
    vcpus = absl::StrCat(
        Covers(mask, "vcpus_online") ? std::to_string(domain.vcpus_online())
                                     : "-",
        "/",
        Covers(mask, "vcpus_max") ? std::to_string(domain.vcpus_max()) : "-");
  }
  char cpu[32];
  std::snprintf(cpu, sizeof(cpu), "%.1fs", domain.cpu_time_ns() / 1e9);

  // Static flags only: running/blocked flip on every sweep.
  std::vector<std::string> flags;
  const xenlet::v1::DomainFlags& f = domain.flags();
  if (f.hvm()) flags.push_back("hvm");
  if (f.hap()) flags.push_back("hap");
  if (f.paused()) flags.push_back("paused");
  if (f.shutdown()) flags.push_back("shutdown");
  if (f.dying()) flags.push_back("dying");
  if (f.debugged()) flags.push_back("debugged");
  if (f.xenstore_domain()) flags.push_back("xenstore");

  return {
      cell("domid", std::to_string(domain.domid())),
      cell("name", or_dash(domain.name())),
      cell("uuid", or_dash(domain.uuid())),
      cell("state", StateName(domain.state())),
      cell("shutdown_reason", ShutdownReasonName(domain.shutdown_reason())),
      vcpus,
      cell("memory.current_bytes",
           FormatBytes(domain.memory().current_bytes())),
      cell("memory.max_bytes", FormatBytes(domain.memory().max_bytes())),
      cell("cpu_time_ns", cpu),
      cell("flags", flags.empty() ? "-" : absl::StrJoin(flags, ",")),
  };
}

std::string EventLine(const WatchDomainsResponse& event) {
  std::string time =
      event.has_detected_time()
          ? google::protobuf::util::TimeUtil::ToString(event.detected_time())
          : "-";
  std::string line = absl::StrCat(time, " ", event.revision(), " ",
                                  EventTypeName(event.type()));
  switch (event.type()) {
    case xenlet::v1::EVENT_TYPE_SYNCED:
    case xenlet::v1::EVENT_TYPE_BOOKMARK:
      return line;
    case xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED:
      return absl::StrCat(line,
                          " reason=", ResyncReasonName(event.resync_reason()),
                          " instance=", event.instance_id());
    default:
      break;
  }
  const Domain& d = event.domain();
  absl::StrAppend(&line, " ", TransitionName(event.transition()),
                  " domid=", d.domid(),
                  " name=", d.name().empty() ? "-" : d.name(),
                  " state=", StateName(d.state()),
                  " reason=", ShutdownReasonName(d.shutdown_reason()));
  if (event.type() == xenlet::v1::EVENT_TYPE_STATS) {
    // The volatile fields are what a STATS event is for.
    char cpu[32];
    std::snprintf(cpu, sizeof(cpu), "%.1fs", d.cpu_time_ns() / 1e9);
    absl::StrAppend(&line, " vcpus=", d.vcpus_online(), "/", d.vcpus_max(),
                    " mem=", FormatBytes(d.memory().current_bytes()),
                    " cpu=", cpu);
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
