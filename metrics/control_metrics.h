// What ControlService did: each item of each batch by method and outcome,
// and each call refused before acting (not authorised) by method.
#ifndef XENLET_METRICS_CONTROL_METRICS_H_
#define XENLET_METRICS_CONTROL_METRICS_H_

#include <string>

#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace xenlet::metrics {

class ControlMetrics {
 public:
  explicit ControlMetrics(prometheus::Registry& registry);

  // outcome: done, not_found, already, refused, failed.
  void RecordItem(const std::string& method, const std::string& outcome,
                  bool forced);
  void RecordDenied(const std::string& method);

 private:
  prometheus::Family<prometheus::Counter>& items_;
  prometheus::Family<prometheus::Counter>& denied_;
};

}  // namespace xenlet::metrics

#endif  // XENLET_METRICS_CONTROL_METRICS_H_
