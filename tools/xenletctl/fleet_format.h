// How `xenletctl fleet list|watch` show the fleet model (fleet/reader):
// the domains table, the hosts table, one line per change, and their JSON.
//
//   HOST     DOMID  NAME      STATE    REASON  VCPUS    MEM
//   h1           0  Domain-0  running  -         4/4   4GiB
//
//   HOST  STATE  LAST-HEARD  RESUME               STALE
//   h1    live   2s ago      6f1c0d2e9a4b7c31:42  no
//
// The narrow domain columns are list's without CPUTIME (as of the domain's
// last event, not live): with 20-character names and 12-character host
// ids they fit 80 columns. --wide has list --wide's, CPUTIME included.
#ifndef XENLET_TOOLS_XENLETCTL_FLEET_FORMAT_H_
#define XENLET_TOOLS_XENLETCTL_FLEET_FORMAT_H_

#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "fleet/reader/fleet_model.h"
#include "xenlet/fleet/v1/fleet.pb.h"

namespace xenlet::ctl {

// STATE_LIVE -> "live", STATE_AGENT_UNREACHABLE -> "agent_unreachable";
// UNSPECIFIED -> "-".
std::string HostStateName(fleet::v1::HostHealth::State state);

// The domains table (by host, then domid), a blank line, the hosts table.
// Times are ages relative to `now`.
void RenderFleetTables(const fleet::FleetModel& model, bool wide,
                       absl::Time now, std::ostream& out);

// The model as one JSON document on one line:
//   {"domains":[{"host":..,"uuid":..,"domid":..,"revision":..,
//                "domain":{<xenlet.v1.Domain>}}],
//    "hosts":[{"host":..,"stale":..,"heard":"<RFC 3339>","revision":..,
//              "health":{<xenlet.fleet.v1.HostHealth>}}]}
std::string FleetJson(const fleet::FleetModel& model);

// One line per domain change, without newline:
//   <HH:MM:SS> <host> ADDED <state> domid=.. name=.. [reason=..]
//   <HH:MM:SS> <host> MODIFIED <new state> domid=.. name=.. [reason=..]
//   <HH:MM:SS> <host> MODIFIED updated domid=.. name=.. state=.. [reason=..]
//   <HH:MM:SS> <host> DELETED removed domid=.. name=.. state=.. [reason=..]
// (MODIFIED says the new state when it changed, "updated" otherwise.)
std::string DomainChangeLine(const fleet::DomainChange& change,
                             absl::TimeZone zone, absl::Time now);

// Whether a host change is worth a line: a host that came or went, or
// whose staleness flipped (not every health update).
bool IsHostLineWorthy(const fleet::HostChange& change);

// <HH:MM:SS> HOST <host> live | stale (no health for 31s) |
//   stale (state stopped) | removed
std::string HostChangeLine(const fleet::HostChange& change, absl::TimeZone zone,
                           absl::Time now);

// A change as one JSON line:
//   {"time":..,"type":"DOMAIN","kind":"MODIFIED","host":..,"uuid":..,
//    "domid":..,"domain":{..}}
//   {"time":..,"type":"HOST","kind":..,"host":..,"stale":..,"health":{..}}
std::string DomainChangeJson(const fleet::DomainChange& change, absl::Time now);
std::string HostChangeJson(const fleet::HostChange& change, absl::Time now);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_FLEET_FORMAT_H_
