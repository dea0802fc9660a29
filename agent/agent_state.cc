#include "agent/agent_state.h"

#include <cctype>

#include "absl/time/clock.h"
#include "agent/version.h"

namespace xenlet::agent {
namespace {

// "DOMAIN_STATE_RUNNING" -> "running".
std::string ShortLowerName(const std::string& name, const std::string& prefix) {
  std::string out = name.substr(prefix.size());
  for (char& c : out) c = static_cast<char>(std::tolower(c));
  return out;
}

}  // namespace

void ReadStoreState(const store::DomainStore& store, metrics::AgentState* s) {
  auto snapshot = store.snapshot();
  // Every state is reported, with 0 where there is none, so that series do
  // not come and go.
  for (int state = v1::DomainState_MIN + 1; state <= v1::DomainState_MAX;
       ++state) {
    s->domains_by_state[ShortLowerName(
        v1::DomainState_Name(static_cast<v1::DomainState>(state)),
        "DOMAIN_STATE_")] = 0;
  }
  for (const auto& [state, count] : store::CountByState(*snapshot)) {
    s->domains_by_state[ShortLowerName(v1::DomainState_Name(state),
                                       "DOMAIN_STATE_")] = count;
  }
  s->revision = snapshot->revision;
  s->event_log_events = store.event_log_size();
  s->event_log_bytes = store.event_log_bytes();
}

metrics::AgentState ReadAgentState(store::DomainModel& model,
                                   const AgentServer& server) {
  metrics::AgentState s;
  ReadStoreState(model.store(), &s);
  store::SweepStats sweeps = model.sweeper().stats();
  s.sweeps_total = sweeps.sweeps;
  s.sweep_failures_total = sweeps.failures;
  s.sweep_domains = sweeps.last_domains;
  if (sweeps.sweeps > 0) {
    s.sweep_last_success_seconds =
        absl::ToDoubleSeconds(sweeps.last_time - absl::UnixEpoch());
  }
  s.sweep_consecutive_failures = sweeps.consecutive_failures;
  s.model_stale =
      store::SweepFreshness(sweeps, model.sweep_interval(), absl::Now()).stale;
  store::RepairStats repairs = model.reconciler().repairs();
  s.repairs_by_kind = {{"added", repairs.added},
                       {"removed", repairs.removed},
                       {"lifecycle", repairs.lifecycle}};
  s.xenstore_reconnects_total = model.watcher().stats().reconnects;
  switch (model.watcher().state()) {
    case store::XenstoreState::kConnected:
      s.xenstore_state = "connected";
      break;
    case store::XenstoreState::kReconnecting:
      s.xenstore_state = "reconnecting";
      break;
    case store::XenstoreState::kResyncing:
      s.xenstore_state = "resyncing";
      break;
  }
  DomainServiceImpl::StreamStats streams = server.stream_stats();
  s.open_streams = streams.open;
  s.streams_refused_total = streams.refused;
  s.stream_queue_max_events = streams.max_queued;
  s.coalesced_events_total = streams.coalesced_total;
  s.events_sent_total = streams.events_sent;
  s.events_encoded_total = streams.events_encoded;
  for (int reason = v1::ResyncReason_MIN + 1; reason <= v1::ResyncReason_MAX;
       ++reason) {
    s.resyncs_by_reason[ShortLowerName(
        v1::ResyncReason_Name(static_cast<v1::ResyncReason>(reason)),
        "RESYNC_REASON_")] = 0;
  }
  for (const auto& [reason, count] : streams.resyncs) {
    s.resyncs_by_reason[ShortLowerName(v1::ResyncReason_Name(reason),
                                       "RESYNC_REASON_")] = count;
  }
  s.version = kVersion;
  return s;
}

}  // namespace xenlet::agent
