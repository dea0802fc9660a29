// Where a host's domains, events and health live in NATS JetStream: the
// names both sides of the fleet view agree on (the publisher on each host,
// the orchestrator's reader). One place, so that they cannot drift.
//
//   bucket xenlet-domains   key <host>.<uuid>.<domid>   a domain's state
//   bucket xenlet-hosts     key <host>          the host's publisher health
//   stream XENLET_EVENTS    subject xenlet.events.<host>   CloudEvents
//
// A domain's key holds its UUID and its domid: a domid Xen reuses for a
// new domain is a new key, and so is a domain xl re-creates on reboot under
// its old UUID while the old domid is still dying (and dom0 and other
// domains without a handle share the all-zero UUID).
#ifndef XENLET_FLEET_FLEET_NAMES_H_
#define XENLET_FLEET_FLEET_NAMES_H_

#include <cstdint>
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

std::string DomainKey(absl::string_view host, absl::string_view uuid,
                      uint32_t domid);
std::string EventsSubject(absl::string_view host);
// The JetStream message id of an event: "<host>:<instance>:<revision>"
// (de-duplication is per stream, across every host's subject).
std::string MessageId(absl::string_view host, absl::string_view instance_id,
                      uint64_t revision);
struct MessageIdParts {
  std::string host;
  std::string instance_id;
  uint64_t revision = 0;
};
std::optional<MessageIdParts> ParseMessageId(absl::string_view id);
// The keys of one host's domains, for a watch or a listing.
std::string HostDomainsFilter(absl::string_view host);

struct DomainKeyParts {
  std::string host;
  std::string uuid;
  uint32_t domid = 0;
};
// The parts of a domain key, or nullopt for a key of another shape.
std::optional<DomainKeyParts> ParseDomainKey(absl::string_view key);

}  // namespace xenlet::fleet

#endif  // XENLET_FLEET_FLEET_NAMES_H_
