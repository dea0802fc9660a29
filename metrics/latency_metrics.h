// The two latency histograms observed as things happen: how long sweeps
// take, and how long a change takes from its detection to its send on a
// watch stream.
#ifndef XENLET_METRICS_LATENCY_METRICS_H_
#define XENLET_METRICS_LATENCY_METRICS_H_

#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace xenlet::metrics {

class LatencyMetrics {
 public:
  explicit LatencyMetrics(prometheus::Registry& registry);

  void ObserveSweep(double seconds) { sweep_->Observe(seconds); }
  void ObserveEventSent(double seconds) { event_->Observe(seconds); }

 private:
  prometheus::Histogram* sweep_;
  prometheus::Histogram* event_;
};

}  // namespace xenlet::metrics

#endif  // XENLET_METRICS_LATENCY_METRICS_H_
