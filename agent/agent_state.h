// What a Prometheus scrape reports about the model and the streams, read
// from memory at scrape time.
#ifndef XENLET_AGENT_AGENT_STATE_H_
#define XENLET_AGENT_AGENT_STATE_H_

#include <string>

#include "agent/server.h"
#include "metrics/state_collector.h"
#include "store/domain_model.h"

namespace xenlet::agent {

metrics::AgentState ReadAgentState(store::DomainModel& model,
                                   const AgentServer& server);

// The domain-dependent part alone (domains by state, revision, event log).
void ReadStoreState(const store::DomainStore& store, metrics::AgentState* out);

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_AGENT_STATE_H_
