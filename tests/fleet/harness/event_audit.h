// The fleet harness's check of the event stream (docs/fleet.md 2.7, check
// 2): every message XENLET_EVENTS holds, read back, must be one CloudEvent
// of one change, stored once, and each agent instance's changes must run
// without a gap.
//
// A pure function of the stored messages, so that its rules are tested on
// their own (event_audit_test) and the harness only reads the stream.
#ifndef XENLET_TESTS_FLEET_HARNESS_EVENT_AUDIT_H_
#define XENLET_TESTS_FLEET_HARNESS_EVENT_AUDIT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fleet/nats/jetstream.h"

namespace xenlet::fleet::harness {

// What one agent instance of one host contributed, in stream order.
struct InstanceRun {
  uint64_t first = 0;  // revision of its first stored event
  uint64_t last = 0;
  uint64_t events = 0;
  uint64_t first_sequence = 0;  // the stream sequence of its first event
  // Where a revision did not follow the one before: "R after P".
  std::vector<std::string> gaps;
};

struct EventAudit {
  uint64_t messages = 0;
  // host -> instance -> its run.
  std::map<std::string, std::map<std::string, InstanceRun>> hosts;
  // Every other breach, one line each: a repeated message id, a message
  // that is not a CloudEvent of its subject's host, an id that is not its
  // Nats-Msg-Id.
  std::vector<std::string> problems;
  // Events per CloudEvent type ("io.xenlet.domain.started": n).
  std::map<std::string, uint64_t> types;
};

EventAudit AuditEvents(const std::vector<nats::StoredMessage>& messages);

}  // namespace xenlet::fleet::harness

#endif  // XENLET_TESTS_FLEET_HARNESS_EVENT_AUDIT_H_
