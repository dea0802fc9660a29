// xenlet-publish's own metrics, read from the Publisher's stats at each
// scrape (and the NATS connection's state): what it published, retried and
// resynced, and how far behind the agent it is.
#ifndef XENLET_FLEET_PUBLISHER_PUBLISH_METRICS_H_
#define XENLET_FLEET_PUBLISHER_PUBLISH_METRICS_H_

#include <functional>
#include <vector>

#include "fleet/publisher/publisher.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace xenlet::fleet {

class PublishCollector : public prometheus::Collectable {
 public:
  PublishCollector(const Publisher* publisher,
                   std::function<bool()> nats_connected)
      : publisher_(publisher), nats_connected_(std::move(nats_connected)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Publisher* publisher_;
  std::function<bool()> nats_connected_;
};

// The families of a stats snapshot (for tests: no Publisher needed).
std::vector<prometheus::MetricFamily> PublishFamilies(
    const PublisherStats& stats, bool nats_connected);

}  // namespace xenlet::fleet

#endif  // XENLET_FLEET_PUBLISHER_PUBLISH_METRICS_H_
