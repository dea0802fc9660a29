#include "fleet/publisher/publish_metrics.h"

#include "absl/time/clock.h"

namespace xenlet::fleet {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily One(const char* name, const char* help, MetricType type,
                 double value) {
  MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  ClientMetric metric;
  if (type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

}  // namespace

std::vector<MetricFamily> PublishFamilies(const PublisherStats& s,
                                          bool nats_connected) {
  const auto counter = MetricType::Counter;
  const auto gauge = MetricType::Gauge;
  std::vector<MetricFamily> out;
  out.push_back(One("xenlet_publish_events_total",
                    "Events stored in the fleet's event stream", counter,
                    s.events_published));
  out.push_back(One("xenlet_publish_duplicates_total",
                    "Publishes the stream already held (a retry of a "
                    "publish whose acknowledgement was lost)",
                    counter, s.events_duplicate));
  out.push_back(One("xenlet_publish_skipped_total",
                    "Replayed events at or below the host's newest stored "
                    "event: not sent again",
                    counter, s.events_skipped));
  out.push_back(One("xenlet_publish_retries_total",
                    "Sessions ended by a failure and begun again (NATS or "
                    "the agent)",
                    counter, s.sink_failures + s.agent_failures));
  out.push_back(One("xenlet_publish_nats_failures_total",
                    "Sessions ended because NATS failed", counter,
                    s.sink_failures));
  out.push_back(One("xenlet_publish_agent_failures_total",
                    "Sessions ended because the agent's stream failed", counter,
                    s.agent_failures));
  out.push_back(One("xenlet_publish_resyncs_total",
                    "Times the agent could not resume the publisher's "
                    "point (it restarted, or the point left its log)",
                    counter, s.resyncs));
  out.push_back(One("xenlet_publish_kv_puts_total", "Domain keys put", counter,
                    s.domains_put));
  out.push_back(One("xenlet_publish_kv_deletes_total", "Domain keys deleted",
                    counter, s.domains_deleted));
  out.push_back(One("xenlet_publish_lag_seconds",
                    "The last stored event: from the agent's detection to "
                    "its storage",
                    gauge, absl::ToDoubleSeconds(s.last_lag)));
  out.push_back(
      One("xenlet_publish_last_heard_timestamp_seconds",
          "When the publisher last heard from the agent (Unix "
          "time; 0: never)",
          gauge,
          s.last_heard == absl::InfinitePast()
              ? 0
              : absl::ToDoubleSeconds(s.last_heard - absl::UnixEpoch())));
  out.push_back(One("xenlet_publish_revision",
                    "The agent revision up to which everything is published",
                    gauge, static_cast<double>(s.revision)));
  out.push_back(One("xenlet_publish_live", "1 while following the agent live",
                    gauge,
                    s.state == fleet::v1::HostHealth::STATE_LIVE ? 1 : 0));
  out.push_back(One("xenlet_publish_nats_connected",
                    "1 while connected to a NATS server", gauge,
                    nats_connected ? 1 : 0));
  return out;
}

std::vector<MetricFamily> PublishCollector::Collect() const {
  return PublishFamilies(publisher_->stats(), nats_connected_());
}

}  // namespace xenlet::fleet
