// Metrics read at scrape time from the agent's state (domains by state,
// revision, sweep, repair, xenstore and stream statistics). Nothing is
// done on the writer's path: a scrape takes a snapshot and reads
// counters, so it never blocks the model's writer.
#ifndef XENLET_METRICS_STATE_COLLECTOR_H_
#define XENLET_METRICS_STATE_COLLECTOR_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "prometheus/client_metric.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace xenlet::metrics {

// Everything a scrape reports, filled in by the agent at scrape time.
struct AgentState {
  std::map<std::string, double> domains_by_state;  // state name -> count
  double revision = 0;
  double event_log_events = 0;
  double event_log_bytes = 0;  // estimated
  double sweeps_total = 0;
  double sweep_failures_total = 0;
  double sweep_domains = 0;
  double sweep_last_success_seconds = 0;  // Unix time; 0: none yet
  double sweep_consecutive_failures = 0;
  double model_stale = 0;  // 1 while stale (store::SweepFreshness)
  std::map<std::string, double> repairs_by_kind;
  double xenstore_reconnects_total = 0;
  std::string xenstore_state;  // connected, reconnecting, resyncing
  double open_streams = 0;
  double streams_refused_total = 0;
  double stream_queue_max_events = 0;
  double coalesced_events_total = 0;
  double events_sent_total = 0;
  double events_encoded_total = 0;
  std::map<std::string, double> resyncs_by_reason;
  std::string version;
};

class StateCollector : public prometheus::Collectable {
 public:
  explicit StateCollector(std::function<AgentState()> read)
      : read_(std::move(read)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<AgentState()> read_;
};

}  // namespace xenlet::metrics

#endif  // XENLET_METRICS_STATE_COLLECTOR_H_
