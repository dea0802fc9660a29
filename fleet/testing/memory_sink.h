// A FleetSink in memory, for the publisher's unit tests: JetStream's
// de-duplication by message id, a key-value bucket, and faults on demand
// (the next N calls fail as an unreachable NATS would). The real sink runs
// against a real nats-server in tests/fleet; this one exists so that the
// publisher's order of operations can be checked at every step in
// milliseconds.
#ifndef XENLET_FLEET_TESTING_MEMORY_SINK_H_
#define XENLET_FLEET_TESTING_MEMORY_SINK_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fleet/publisher/fleet_sink.h"

namespace xenlet::fleet::testing {

class MemorySink : public FleetSink {
 public:
  struct Event {
    std::string subject, id, payload;
  };

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

  // What the sink holds.
  struct State {
    std::vector<Event> events;
    std::map<std::string, std::string> domains;  // key -> value
    std::map<std::string, std::string> health;   // host -> value
    uint64_t duplicates = 0;
    uint64_t failed_calls = 0;
  };
  // True once pred holds for the state (checked after every change), false
  // after the timeout.
  bool Await(const std::function<bool(const State&)>& pred,
             absl::Duration timeout) const;
  State state() const;

  // The next `calls` calls (of any kind) fail with UNAVAILABLE.
  void FailNext(int calls);
  // After `calls` more calls succeed, one fails.
  void FailOneAfter(int calls);
  // Every call fails until Heal().
  void Break();
  void Heal();
  // From now on health writes fail with ABORTED, as NatsSink's do once
  // another publisher with the same host id has written the key.
  void StealHealth();

 private:
  absl::Status Fault() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  State state_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, std::string> ids_ ABSL_GUARDED_BY(mutex_);
  int fail_next_ ABSL_GUARDED_BY(mutex_) = 0;
  int fail_after_ ABSL_GUARDED_BY(mutex_) = -1;
  bool broken_ ABSL_GUARDED_BY(mutex_) = false;
  bool stolen_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace xenlet::fleet::testing

#endif  // XENLET_FLEET_TESTING_MEMORY_SINK_H_
