// Where xenlet-publish puts a host's events, domains and health: NATS
// JetStream in production (nats_sink.h), memory in unit tests
// (fleet/testing/memory_sink.h). The publisher sees only this interface, as
// the agent sees Xen only through xen/'s.
#ifndef XENLET_FLEET_PUBLISHER_FLEET_SINK_H_
#define XENLET_FLEET_PUBLISHER_FLEET_SINK_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace xenlet::fleet {

struct StoredEvent {
  // Already stored under this id: a retry, stored once.
  bool duplicate = false;
};

class FleetSink {
 public:
  virtual ~FleetSink() = default;

  // Stores one event on `subject`, de-duplicated by `id` (a retry of a
  // stored id is acknowledged and not stored again).
  virtual absl::StatusOr<StoredEvent> PublishEvent(
      const std::string& subject, const std::string& id,
      const std::string& payload) = 0;
  // The id of the newest event stored on `subject`; nullopt if none.
  virtual absl::StatusOr<std::optional<std::string>> LastEventId(
      const std::string& subject) = 0;

  // A domain's state (idempotent), its removal, and every domain held under
  // a filter such as "h1.>" (key -> value).
  virtual absl::Status PutDomain(const std::string& key,
                                 const std::string& value) = 0;
  virtual absl::Status DeleteDomain(const std::string& key) = 0;
  virtual absl::StatusOr<std::map<std::string, std::string>> Domains(
      const std::string& filter) = 0;

  // A host's health (fleet.v1.HostHealth as JSON); nullopt if none.
  virtual absl::Status PutHealth(const std::string& host,
                                 const std::string& value) = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetHealth(
      const std::string& host) = 0;
};

}  // namespace xenlet::fleet

#endif  // XENLET_FLEET_PUBLISHER_FLEET_SINK_H_
