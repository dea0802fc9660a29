#include "tools/xenletctl/fleet_format.h"

#include <algorithm>
#include <cctype>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/json_string.h"
#include "fleet/fleet_names.h"
#include "google/protobuf/descriptor.h"
#include "tools/xenletctl/domain_format.h"
#include "tools/xenletctl/domain_table.h"
#include "tools/xenletctl/table.h"

namespace xenlet::ctl {
namespace {

using fleet::ChangeKind;
using fleet::DomainChange;
using fleet::DomainRef;
using fleet::FleetModel;
using fleet::HostChange;
using fleet::HostStatus;
using fleet::v1::HostHealth;
using xenlet::v1::Domain;

// Left out of the narrow table: see fleet_format.h.
constexpr char kDroppedNarrowColumn[] = "CPUTIME";

std::string Quote(const std::string& s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

// UTC with a Z, as protobuf's JSON writes timestamps.
std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// "2.0s ago", or "-" when the time is unset.
std::string Ago(const google::protobuf::Timestamp& t, absl::Time now) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return CompactDuration(now - FromProto(t)) + " ago";
}

std::string Resume(const HostHealth& h) {
  if (h.resume().instance_id().empty()) return "-";
  return absl::StrCat(h.resume().instance_id(), ":", h.resume().revision());
}

// Why a host is stale, for its watch line.
std::string StaleReason(const HostStatus& status, absl::Time now) {
  if (status.health.state() != HostHealth::STATE_LIVE) {
    return absl::StrCat("state ", HostStateName(status.health.state()));
  }
  return absl::StrCat("no health for ", CompactDuration(now - status.heard));
}

void RenderDomains(const FleetModel& model, bool wide, std::ostream& out) {
  const DomainLayout layout =
      wide ? DomainLayout::kWide : DomainLayout::kNarrow;
  std::vector<std::string> header = DomainHeader(layout);
  // The column to leave out, if any (its index in a domain row).
  size_t dropped = header.size();
  if (!wide) {
    dropped = std::find(header.begin(), header.end(), kDroppedNarrowColumn) -
              header.begin();
    if (dropped < header.size()) header.erase(header.begin() + dropped);
  }
  header.insert(header.begin(), "HOST");
  Table table(header);
  AlignDomainColumns(table, 1, layout);

  // By host, then domid as list does; the UUID breaks a tie (a domid
  // reused while the old domain's key is still there).
  std::vector<std::pair<const DomainRef*, const Domain*>> rows;
  for (const auto& [ref, record] : model.Domains()) {
    rows.emplace_back(&ref, &record.domain);
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first->host, a.first->domid, a.first->uuid) <
           std::tie(b.first->host, b.first->domid, b.first->uuid);
  });
  const google::protobuf::FieldMask all;
  for (const auto& [ref, domain] : rows) {
    std::vector<std::string> row = DomainRow(*domain, all, layout);
    if (dropped < row.size()) row.erase(row.begin() + dropped);
    row.insert(row.begin(), ref->host);
    table.AddRow(std::move(row));
  }
  table.Render(out);
}

void RenderHosts(const FleetModel& model, bool wide, absl::Time now,
                 std::ostream& out) {
  std::vector<std::string> header = {"HOST", "STATE", "LAST-HEARD", "RESUME",
                                     "STALE"};
  if (wide) {
    // UPDATED: the age of the health entry, which staleness is about.
    header.insert(header.end(), {"UPDATED", "EVENTS", "RESYNCS", "VERSION"});
  }
  Table table(header);
  if (wide) {
    table.AlignRight(6);
    table.AlignRight(7);
  }
  for (const auto& [host, status] : model.Hosts()) {
    const HostHealth& h = status.health;
    std::vector<std::string> row = {host, HostStateName(h.state()),
                                    Ago(h.last_heard(), now), Resume(h),
                                    status.stale ? "yes" : "no"};
    if (wide) {
      row.push_back(CompactDuration(now - status.heard) + " ago");
      row.push_back(std::to_string(h.events_published_total()));
      row.push_back(std::to_string(h.resyncs_total()));
      row.push_back(h.publisher_version().empty() ? "-"
                                                  : h.publisher_version());
    }
    table.AddRow(std::move(row));
  }
  table.Render(out);
}

std::string DomainEntryJson(const DomainRef& ref, uint64_t revision,
                            const Domain& domain) {
  return absl::StrCat("{\"host\":", Quote(ref.host),
                      ",\"uuid\":", Quote(ref.uuid), ",\"domid\":", ref.domid,
                      ",\"revision\":", revision,
                      ",\"domain\":", ToJson(domain), "}");
}

std::string HostEntryJson(const std::string& host, const HostStatus& status) {
  return absl::StrCat("{\"host\":", Quote(host),
                      ",\"stale\":", status.stale ? "true" : "false",
                      ",\"heard\":", Quote(Rfc3339(status.heard)),
                      ",\"revision\":", status.revision,
                      ",\"health\":", ToJson(status.health), "}");
}

}  // namespace

std::string HostStateName(HostHealth::State state) {
  if (state == HostHealth::STATE_UNSPECIFIED) return "-";
  const google::protobuf::EnumValueDescriptor* v =
      HostHealth::State_descriptor()->FindValueByNumber(state);
  if (v == nullptr) return std::to_string(state);
  std::string name = v->name();
  if (absl::StartsWith(name, "STATE_")) name = name.substr(6);
  for (char& c : name) c = std::tolower(static_cast<unsigned char>(c));
  return name;
}

void RenderFleetTables(const FleetModel& model, bool wide, absl::Time now,
                       std::ostream& out) {
  RenderDomains(model, wide, out);
  out << '\n';
  RenderHosts(model, wide, now, out);
}

std::string FleetJson(const FleetModel& model) {
  std::string json = "{\"domains\":[";
  bool first = true;
  for (const auto& [ref, record] : model.Domains()) {
    absl::StrAppend(&json, first ? "" : ",",
                    DomainEntryJson(ref, record.revision, record.domain));
    first = false;
  }
  absl::StrAppend(&json, "],\"hosts\":[");
  first = true;
  for (const auto& [host, status] : model.Hosts()) {
    absl::StrAppend(&json, first ? "" : ",", HostEntryJson(host, status));
    first = false;
  }
  absl::StrAppend(&json, "]}");
  return json;
}

std::string DomainChangeLine(const DomainChange& change, absl::TimeZone zone,
                             absl::Time now) {
  const Domain& d = change.domain;
  std::string what;
  bool state_said = true;
  switch (change.kind) {
    case ChangeKind::kAdded:
      what = StateName(d.state());
      break;
    case ChangeKind::kModified:
      state_said = d.state() != change.previous.state();
      what = state_said ? StateName(d.state()) : "updated";
      break;
    case ChangeKind::kDeleted:
      what = "removed";
      state_said = false;
      break;
  }
  std::string line = absl::StrCat(
      absl::FormatTime("%H:%M:%S", now, zone), " ", change.ref.host, " ",
      fleet::ChangeKindName(change.kind), " ", what,
      " domid=", change.ref.domid, " name=", d.name().empty() ? "-" : d.name());
  if (!state_said) absl::StrAppend(&line, " state=", StateName(d.state()));
  if (d.shutdown_reason() != xenlet::v1::SHUTDOWN_REASON_UNSPECIFIED) {
    absl::StrAppend(&line, " reason=", ShutdownReasonName(d.shutdown_reason()));
  }
  return line;
}

bool IsHostLineWorthy(const HostChange& change) {
  return change.kind != ChangeKind::kModified ||
         change.status.stale != change.was_stale;
}

std::string HostChangeLine(const HostChange& change, absl::TimeZone zone,
                           absl::Time now) {
  std::string line = absl::StrCat(absl::FormatTime("%H:%M:%S", now, zone),
                                  " HOST ", change.host, " ");
  if (change.kind == ChangeKind::kDeleted) {
    absl::StrAppend(&line, "removed");
  } else if (change.status.stale) {
    absl::StrAppend(&line, "stale (", StaleReason(change.status, now), ")");
  } else {
    absl::StrAppend(&line, "live");
  }
  return line;
}

std::string DomainChangeJson(const DomainChange& change, absl::Time now) {
  return absl::StrCat(
      "{\"time\":", Quote(Rfc3339(now)), ",\"type\":\"DOMAIN\",\"kind\":\"",
      fleet::ChangeKindName(change.kind),
      "\",\"host\":", Quote(change.ref.host),
      ",\"uuid\":", Quote(change.ref.uuid), ",\"domid\":", change.ref.domid,
      ",\"domain\":", ToJson(change.domain), "}");
}

std::string HostChangeJson(const HostChange& change, absl::Time now) {
  return absl::StrCat(
      "{\"time\":", Quote(Rfc3339(now)), ",\"type\":\"HOST\",\"kind\":\"",
      fleet::ChangeKindName(change.kind), "\",\"host\":", Quote(change.host),
      ",\"stale\":", change.status.stale ? "true" : "false",
      ",\"health\":", ToJson(change.status.health), "}");
}

}  // namespace xenlet::ctl
