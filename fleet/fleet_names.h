// Where a host's domains, events and health live in NATS JetStream: the
// names both sides of the fleet view agree on (the publisher on each host,
// the orchestrator's reader). One place, so that they cannot drift.
//
//   bucket xenlet-domains   key <host>.<uuid>   a domain's current state
//   bucket xenlet-hosts     key <host>          the host's publisher health
//   stream XENLET_EVENTS    subject xenlet.events.<host>   CloudEvents
//
// A domain's key is its UUID, not its domid: a domid Xen reuses for a new
// domain is a new key, and the old one is deleted with its domain.
#ifndef XENLET_FLEET_FLEET_NAMES_H_
#define XENLET_FLEET_FLEET_NAMES_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace xenlet::fleet {

inline constexpr absl::string_view kDomainsBucket = "xenlet-domains";
inline constexpr absl::string_view kHostsBucket = "xenlet-hosts";
inline constexpr absl::string_view kEventsStream = "XENLET_EVENTS";
inline constexpr absl::string_view kEventsSubjectPrefix = "xenlet.events.";

// A host id is one NATS subject token and one key token: letters, digits,
// '-' and '_', 1 to 64 of them. Dots would split it into tokens.
absl::Status ValidateHostId(absl::string_view host);

// A host id from a host name: "dom0-17.rack3.example.com" ->
// "dom0-17_rack3_example_com" (every character a token cannot hold
// becomes '_'; cut to 64).
std::string HostIdFromHostname(absl::string_view hostname);

std::string DomainKey(absl::string_view host, absl::string_view uuid);
std::string EventsSubject(absl::string_view host);
// The keys of one host's domains, for a watch or a listing.
std::string HostDomainsFilter(absl::string_view host);

struct DomainKeyParts {
  std::string host;
  std::string uuid;
};
// The host and UUID of a domain key, or nullopt for a key of another shape.
std::optional<DomainKeyParts> ParseDomainKey(absl::string_view key);

}  // namespace xenlet::fleet

#endif  // XENLET_FLEET_FLEET_NAMES_H_
