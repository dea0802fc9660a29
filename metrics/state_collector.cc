#include "metrics/state_collector.h"

namespace xenlet::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(const char* name, const char* help, MetricType type) {
  MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  return family;
}

void Add(MetricFamily* family, double value,
         std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (family->type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family->metric.push_back(std::move(metric));
}

MetricFamily Single(const char* name, const char* help, MetricType type,
                    double value) {
  MetricFamily family = Family(name, help, type);
  Add(&family, value);
  return family;
}

MetricFamily ByLabel(const char* name, const char* help, MetricType type,
                     const char* label,
                     const std::map<std::string, double>& values) {
  MetricFamily family = Family(name, help, type);
  for (const auto& [key, value] : values) Add(&family, value, {{label, key}});
  return family;
}

}  // namespace

std::vector<MetricFamily> StateCollector::Collect() const {
  const AgentState s = read_();
  std::vector<MetricFamily> out;
  out.push_back(ByLabel("xenlet_domains", "Domains in the model, by state.",
                        MetricType::Gauge, "state", s.domains_by_state));
  out.push_back(Single("xenlet_model_revision",
                       "The model's current revision (events so far).",
                       MetricType::Gauge, s.revision));
  out.push_back(Single("xenlet_event_log_events",
                       "Events held for resuming watches.", MetricType::Gauge,
                       s.event_log_events));
  out.push_back(Single("xenlet_event_log_bytes",
                       "Memory the event log holds, estimated (its bound is "
                       "--event-log-mib).",
                       MetricType::Gauge, s.event_log_bytes));
  out.push_back(Single("xenlet_sweeps_total",
                       "Full-range sweeps of the hypervisor.",
                       MetricType::Counter, s.sweeps_total));
  out.push_back(Single("xenlet_sweep_failures_total",
                       "Failed getdomaininfolist hypercalls of sweeps, each "
                       "retry counted.",
                       MetricType::Counter, s.sweep_failures_total));
  out.push_back(Single("xenlet_sweep_domains",
                       "Domains the last good sweep returned.",
                       MetricType::Gauge, s.sweep_domains));
  out.push_back(Single("xenlet_sweep_last_success_timestamp_seconds",
                       "When the last good sweep started (Unix time): what "
                       "the model says of the hypervisor is that old.",
                       MetricType::Gauge, s.sweep_last_success_seconds));
  out.push_back(Single("xenlet_sweep_consecutive_failures",
                       "Sweeps that failed since the last good one.",
                       MetricType::Gauge, s.sweep_consecutive_failures));
  out.push_back(Single("xenlet_model_stale",
                       "1 while the model may be missing what the hypervisor "
                       "knows: the last sweep failed, or none succeeded for "
                       "3 sweep intervals.",
                       MetricType::Gauge, s.model_stale));
  out.push_back(ByLabel("xenlet_sweep_repairs_total",
                        "Lifecycle changes first found by a timer sweep "
                        "rather than announced by xenstore, by kind.",
                        MetricType::Counter, "kind", s.repairs_by_kind));
  out.push_back(Single("xenlet_xenstore_reconnects_total",
                       "Reconnections to xenstored (each followed by a full "
                       "resync).",
                       MetricType::Counter, s.xenstore_reconnects_total));
  MetricFamily state = Family("xenlet_xenstore_connection_state",
                              "1 for the state the xenstore connection is in.",
                              MetricType::Gauge);
  for (const char* name : {"connected", "reconnecting", "resyncing"}) {
    Add(&state, s.xenstore_state == name ? 1 : 0, {{"state", name}});
  }
  out.push_back(std::move(state));
  out.push_back(Single("xenlet_watch_streams", "Open WatchDomains streams.",
                       MetricType::Gauge, s.open_streams));
  out.push_back(Single("xenlet_watch_streams_refused_total",
                       "WatchDomains streams refused by --max-streams or "
                       "--max-streams-per-peer.",
                       MetricType::Counter, s.streams_refused_total));
  out.push_back(Single("xenlet_watch_queue_max_events",
                       "Events queued in the most backed-up open stream (for a "
                       "stream catching up: the domains it has still to send).",
                       MetricType::Gauge, s.stream_queue_max_events));
  out.push_back(Single("xenlet_watch_coalesced_events_total",
                       "Events merged into a newer event of the same domain "
                       "for a slow stream.",
                       MetricType::Counter, s.coalesced_events_total));
  out.push_back(Single("xenlet_watch_events_sent_total",
                       "Events sent on WatchDomains streams (live and "
                       "replayed).",
                       MetricType::Counter, s.events_sent_total));
  out.push_back(Single("xenlet_watch_events_encoded_total",
                       "Events serialised for the streams: once per event and "
                       "form (field mask, type), whatever the number of "
                       "streams sending it.",
                       MetricType::Counter, s.events_encoded_total));
  out.push_back(ByLabel("xenlet_watch_resyncs_total",
                        "Watches told to resync instead of resuming, by "
                        "reason.",
                        MetricType::Counter, "reason", s.resyncs_by_reason));
  MetricFamily build =
      Family("xenlet_build_info", "Always 1; the labels say what is running.",
             MetricType::Gauge);
  Add(&build, 1, {{"version", s.version}});
  out.push_back(std::move(build));
  return out;
}

}  // namespace xenlet::metrics
