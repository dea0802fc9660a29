// The FleetSink of production: NATS JetStream through fleet/nats. Creates
// the event stream and the two buckets when they are missing (an existing
// one is used as it is: an operator may have set other limits).
//
// One sink per host id: PutHealth fails with ABORTED when the host's health
// key was written by someone else since this sink last wrote or read it,
// i.e. when two publishers run with one --host-id.
#ifndef XENLET_FLEET_PUBLISHER_NATS_SINK_H_
#define XENLET_FLEET_PUBLISHER_NATS_SINK_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "fleet/nats/connection.h"
#include "fleet/nats/key_value.h"
#include "fleet/publisher/fleet_sink.h"

namespace xenlet::fleet {

struct NatsSinkOptions {
  int replicas = 3;
  // How long an event's acknowledgement is awaited before the publisher
  // counts the publish as failed (and retries it, with the same id).
  absl::Duration publish_timeout = absl::Seconds(2);
  // How long the event stream keeps events.
  absl::Duration events_max_age = absl::Hours(24 * 7);
};

class NatsSink : public FleetSink {
 public:
  // Binds to (or creates) the stream and the buckets; the connection must
  // outlive the sink.
  static absl::StatusOr<std::unique_ptr<NatsSink>> Open(
      nats::Connection& connection, const NatsSinkOptions& options);

  absl::StatusOr<StoredEvent> PublishEvent(const std::string& subject,
                                           const std::string& id,
                                           const std::string& payload) override;
  absl::StatusOr<std::optional<std::string>> LastEventId(
      const std::string& subject) override;
  absl::Status PutDomain(const std::string& key,
                         const std::string& value) override;
  absl::Status DeleteDomain(const std::string& key) override;
  absl::StatusOr<std::map<std::string, std::string>> Domains(
      const std::string& filter) override;
  absl::Status PutHealth(const std::string& host,
                         const std::string& value) override;
  absl::StatusOr<std::optional<std::string>> GetHealth(
      const std::string& host) override;

 private:
  NatsSink(nats::Connection& connection, NatsSinkOptions options,
           std::unique_ptr<nats::KeyValue> domains,
           std::unique_ptr<nats::KeyValue> hosts)
      : connection_(connection),
        options_(options),
        domains_(std::move(domains)),
        hosts_(std::move(hosts)) {}

  nats::Connection& connection_;
  const NatsSinkOptions options_;
  std::unique_ptr<nats::KeyValue> domains_;
  std::unique_ptr<nats::KeyValue> hosts_;
  // The health key is written only at the revision this sink last saw of
  // it, so that another publisher with the same host id is noticed (its
  // write moves the key on). Unknown (nullopt) before the first read, and
  // after a write whose answer was lost: `attempted_` is then its value,
  // to recognise it if it was stored all the same.
  std::optional<uint64_t> health_revision_;
  uint64_t health_known_ = 0;
  std::string attempted_;
};

}  // namespace xenlet::fleet

#endif  // XENLET_FLEET_PUBLISHER_NATS_SINK_H_
