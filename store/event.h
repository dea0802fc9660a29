// One change of the model, as the event log keeps it and streams send it.
#ifndef XENLET_STORE_EVENT_H_
#define XENLET_STORE_EVENT_H_

#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "store/domain_table.h"
#include "store/encoded_forms.h"
#include "xenlet/v1/domain_service.pb.h"

namespace xenlet::store {

struct Event {
  uint64_t revision = 0;
  v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED;  // ADDED/MODIFIED/DELETED
  v1::Transition transition = v1::TRANSITION_UNSPECIFIED;
  uint32_t domid = 0;
  DomainPtr domain;       // the new state; for DELETED, the last one
  DomainPtr previous;     // the state before; null for ADDED
  absl::Time detected;    // when the agent noticed the change
  std::string initiator;  // who asked for it through this agent, or ""
  EncodedForms encoded;   // as the streams send it (agent/watch_stream)
};

using EventPtr = std::shared_ptr<const Event>;

}  // namespace xenlet::store

#endif  // XENLET_STORE_EVENT_H_
