#include "metrics/latency_metrics.h"

namespace xenlet::metrics {

LatencyMetrics::LatencyMetrics(prometheus::Registry& registry) {
  sweep_ = &prometheus::BuildHistogram()
                .Name("xenlet_sweep_duration_seconds")
                .Help(
                    "Time of one full-range sweep: the getdomaininfolist "
                    "hypercall and its conversion.")
                .Register(registry)
                .Add({}, prometheus::Histogram::BucketBoundaries{
                             1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
                             2.5e-2, 0.1, 0.5});
  event_ = &prometheus::BuildHistogram()
                .Name("xenlet_event_latency_seconds")
                .Help(
                    "Time from the agent detecting a change (watch event "
                    "or sweep) to sending its event on a watch stream.")
                .Register(registry)
                .Add({}, prometheus::Histogram::BucketBoundaries{
                             1e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2,
                             0.1, 0.25, 0.5, 1, 2.5, 5, 10});
}

}  // namespace xenlet::metrics
